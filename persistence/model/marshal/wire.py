"""DynamoDB's wire format: the `Wire` and `Item` types and the conversions that need no
declared type (reading any wire value back, writing sets of plain values).

This is the one definition of `Item` in the package: every layer imports it from here.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ...errors import ValidationError
from ...validation import number_text, parse_number

Wire = dict[str, Any]
"""One attribute value in wire format: `{"S": "text"}`, `{"N": "12"}`, `{"M": {...}}`..."""

Item = dict[str, Wire]
"""One item in wire format: attribute name to wire value."""

ToAttr = Callable[[Any], Wire | None]
FromAttr = Callable[[Wire], Any]

NUMBER_TYPES = (int, float, Decimal)


def from_wire(value: Wire) -> Any:
    """Unmarshal by wire type: N becomes int when integral in form, else Decimal."""
    (tag, inner), *_ = value.items()
    if tag == "S":
        return inner
    if tag == "N":
        return plain_number(inner)
    if tag == "BOOL":
        return inner
    if tag == "NULL":
        return None
    if tag == "B":
        return bytes(inner)
    if tag == "M":
        return {k: from_wire(v) for k, v in inner.items()}
    if tag == "L":
        return [from_wire(v) for v in inner]
    if tag == "SS":
        return set(inner)
    if tag == "NS":
        return {plain_number(n) for n in inner}
    if tag == "BS":
        return {bytes(b) for b in inner}
    raise ValidationError(f"unknown attribute value type {tag!r}")


def plain_number(text: str) -> int | Decimal:
    if "." in text or "e" in text or "E" in text:
        return parse_number(text)
    return int(text)


def dynamic_set(value: set[Any] | frozenset[Any]) -> Wire | None:
    """The wire set for a set of one plain type; None for an empty set (DynamoDB has none)."""
    if not value:
        return None
    kinds = {set_kind(v) for v in value}
    if len(kinds) != 1:
        raise ValidationError(
            f"a set must hold one type (strings, numbers or bytes), got {sorted(kinds)}"
        )
    kind = kinds.pop()
    if kind == "SS":
        return {"SS": sorted(value)}
    if kind == "NS":
        return {"NS": number_set(value)}
    return {"BS": sorted(bytes(v) for v in value)}


def number_set(values: Any) -> list[str]:
    texts = [number_text(v, "number set") for v in values]
    if len({parse_number(t) for t in texts}) != len(texts):
        raise ValidationError("a number set holds duplicate members")
    return texts


def set_kind(v: Any) -> str:
    if isinstance(v, str):
        return "SS"
    if isinstance(v, bool):
        return "BOOL"
    if isinstance(v, NUMBER_TYPES):
        return "NS"
    if isinstance(v, bytes | bytearray):
        return "BS"
    return type(v).__name__


def or_null(w: Wire | None) -> Wire:
    # An empty set inside a list or map has no wire form either; NULL keeps the position.
    return {"NULL": True} if w is None else w
