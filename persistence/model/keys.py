"""Key templates: literal text with `{field}` holes, e.g. "ORDER#{day}#{order_id}".

A hole may carry a format spec, "{seq:010d}", which is what makes a range over a number inside a
composite key correct (strings compare byte by byte, so only zero-padded numbers sort right).

Templates are injective (ADR 0009): the text of a hole that literal text follows may not contain
the first character of that literal (its *stop* character), so a rendered key parses back one way
only, each such hole ending at the first stop character. The hole that ends a template may hold
anything. Two holes with nothing between them can never be parsed apart and are refused when the
template is defined. Values that break the rule are refused (never escaped: escaping would change
the stored keys of existing data and the text order range and begins_with conditions rely on).
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from ..errors import ValidationError
from ..records import frozen

_HOLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*))?\}")


@frozen
class Hole:
    field: str
    format_spec: str
    stop: str | None = None  # first character of the literal that follows; None: ends the text

    def __init__(self, field: str, format_spec: str, stop: str | None = None) -> None:
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "format_spec", format_spec)
        object.__setattr__(self, "stop", stop)


@frozen
class Template:
    text: str
    parts: tuple[str | Hole, ...]

    def __init__(self, text: str, parts: tuple[str | Hole, ...]) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "parts", parts)

    @classmethod
    def parse(cls, text: str) -> Template:
        parts: list[str | Hole] = []
        pos = 0
        for match in _HOLE.finditer(text):
            if match.start() > pos:
                parts.append(text[pos : match.start()])
            parts.append(Hole(match.group(1), match.group(2) or ""))
            pos = match.end()
        if pos < len(text):
            parts.append(text[pos:])
        rest = _HOLE.sub("", text)
        if "{" in rest or "}" in rest:
            raise ValidationError(f"key template {text!r} has an unbalanced brace")
        for i, part in enumerate(parts):
            if not isinstance(part, Hole) or i + 1 == len(parts):
                continue
            following = parts[i + 1]
            if isinstance(following, Hole):
                raise ValidationError(
                    f"key template {text!r}: holes {{{part.field}}} and {{{following.field}}} "
                    "have nothing between them, so two different values can render the same "
                    f"key; put a separator between them (e.g. '{{{part.field}}}#"
                    f"{{{following.field}}}')"
                )
            parts[i] = Hole(part.field, part.format_spec, following[0])
        return cls(text, tuple(parts))

    @cached_property
    def fields(self) -> tuple[str, ...]:
        return tuple(p.field for p in self.parts if isinstance(p, Hole))

    @cached_property
    def direct_field(self) -> str | None:
        """The field when the template is exactly one hole with no format: the key keeps the
        field's own type (a number stays N)."""
        if (
            len(self.parts) == 1
            and isinstance(self.parts[0], Hole)
            and not self.parts[0].format_spec
        ):
            return self.parts[0].field
        return None

    def render(self, values: Mapping[str, Any]) -> str | None:
        """The key text, or None when a field it needs is None (a sparse index is left)."""
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = values.get(part.field)
            if value is None:
                return None
            out.append(self.hole_text(part, value))
        return "".join(out)

    def hole_text(self, hole: Hole, value: Any) -> str:
        """The text of one hole, refused when it would make the rendering ambiguous."""
        text = format_part(value, hole.format_spec, hole.field)
        if hole.stop is not None and hole.stop in text:
            raise ambiguous(hole, value, self.text)
        return text

    def compile(self) -> Callable[[Any], str | None]:
        """render() specialised to read the fields straight off an aggregate: generated once,
        because every write derives every key attribute."""
        env: dict[str, Any] = {
            "format_part": format_part,
            "ambiguous": ambiguous,
            "parts": self.parts,
        }
        lines = ["def render(obj):"]
        pieces = []
        for i, part in enumerate(self.parts):
            if isinstance(part, str):
                pieces.append(repr(part))
                continue
            lines.append(f"    v{i} = obj.{part.field}")
            lines.append(f"    if v{i} is None: return None")
            if part.format_spec:
                lines.append(f"    t{i} = format_part(v{i}, {part.format_spec!r}, {part.field!r})")
            else:
                lines.append(
                    f"    t{i} = v{i} if type(v{i}) is str else "
                    f"format_part(v{i}, '', {part.field!r})"
                )
            if part.stop is not None:
                lines.append(
                    f"    if {part.stop!r} in t{i}: raise ambiguous(parts[{i}], v{i}, "
                    f"{self.text!r})"
                )
            pieces.append(f"t{i}")
        lines.append("    return " + (" + ".join(pieces) if pieces else "''"))
        exec("\n".join(lines), env)
        render: Callable[[Any], str | None] = env["render"]
        return render

    def fixed_prefix(self, fixed: Mapping[str, Any]) -> tuple[str, int]:
        """Text up to the first hole whose field is not fixed, and that hole's index among the
        holes (len(fields) when every hole is fixed)."""
        out = []
        hole_index = 0
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            if part.field not in fixed:
                return "".join(out), hole_index
            out.append(self.hole_text(part, fixed[part.field]))
            hole_index += 1
        return "".join(out), hole_index

    def last_hole_ends_template(self) -> bool:
        return bool(self.parts) and isinstance(self.parts[-1], Hole)

    def hole(self, index: int) -> Hole:
        holes = [p for p in self.parts if isinstance(p, Hole)]
        return holes[index]


def ambiguous(hole: Hole, value: Any, template: str) -> ValidationError:
    return ValidationError(
        f"key field {hole.field!r}: {value!r} contains {hole.stop!r}, which separates "
        f"{{{hole.field}}} from what follows it in key template {template!r}; with it, two "
        f"different aggregates could render the same key. Only the last hole of a template may "
        f"contain {hole.stop!r}: use a value without it (or change the template's separator)"
    )


def format_part(value: Any, format_spec: str, field: str) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        raise ValidationError(f"key field {field!r}: a bool cannot be part of a key template")
    if format_spec:
        try:
            return format(value, format_spec)
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                f"key field {field!r}: {value!r} does not fit {{:{format_spec}}}: {exc}"
            ) from None
    if isinstance(value, str):
        return value
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    raise ValidationError(
        f"key field {field!r}: {type(value).__name__} cannot be part of a key template"
    )


def sorts_as_text(format_spec: str, value: Any) -> bool:
    """Whether values formatted by this hole compare like the values themselves."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str | datetime | date):
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        return bool(re.fullmatch(r"0\d+d?", format_spec)) and value >= 0
    return False


class Key:
    """Partition and optional sort key templates of a table or an index.

    `Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT")`: `pk`/`sk` are roles, not attribute names; the
    table or index says which attributes they fill.
    """

    def __init__(self, pk: str | None = None, sk: str | None = None) -> None:
        self.pk = Template.parse(pk) if pk is not None else None
        self.sk = Template.parse(sk) if sk is not None else None

    @property
    def fields(self) -> tuple[str, ...]:
        """The field names the pk and sk templates use, in order."""
        out: tuple[str, ...] = ()
        for template in (self.pk, self.sk):
            if template is not None:
                out += template.fields
        return out

    def __repr__(self) -> str:
        pk = self.pk.text if self.pk else None
        sk = self.sk.text if self.sk else None
        return f"Key(pk={pk!r}, sk={sk!r})"


Renderer = Callable[[Mapping[str, Any]], "dict[str, Any] | None"]
