"""Compile Specifications into DynamoDB expressions (conditions, key conditions, projections).

Update clauses compile with the same builder in `backends.actions.update_expression`.

Every attribute name and every value goes through a placeholder (#n0, :v0), so no name or value
can change the meaning of an expression (no expression injection, no reserved-word clashes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .. import limits
from ..errors import ValidationError
from ..model.marshal import Wire
from .specification import (
    And,
    BeginsWith,
    Between,
    Comparison,
    Contains,
    Exists,
    In,
    Not,
    NotExists,
    Operand,
    Or,
    Path,
    PathOperand,
    Size,
    Spec,
    Value,
)

_OPS = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class ExpressionBuilder:
    """Collects placeholders for one request; one builder per request keeps them consistent."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._values: dict[str, Wire] = {}

    @property
    def names(self) -> dict[str, str]:
        return {placeholder: name for name, placeholder in self._names.items()}

    @property
    def values(self) -> dict[str, Wire]:
        return dict(self._values)

    def name(self, name: str) -> str:
        if not name:
            raise ValidationError("attribute names cannot be empty")
        placeholder = self._names.get(name)
        if placeholder is None:
            placeholder = f"#n{len(self._names)}"
            self._names[name] = placeholder
        return placeholder

    def value(self, wire: Wire) -> str:
        placeholder = f":v{len(self._values)}"
        self._values[placeholder] = wire
        return placeholder

    def path(self, path: Path) -> str:
        out = ""
        for element in path:
            if isinstance(element, int):
                out += f"[{element}]"
            else:
                out += ("." if out else "") + self.name(element)
        return out

    def _left(self, left: Path | Size) -> str:
        if isinstance(left, Size):
            return f"size({self.path(left.path)})"
        if isinstance(left, tuple):
            return self.path(left)
        raise ValidationError(f"cannot compile {left!r} as the left side of a condition")

    def _operand(self, operand: Operand) -> str:
        # Exhaustive on purpose: an operand of another kind must never reach `value()` and be
        # sent as a literal (a size() sent as a map made the query silently wrong).
        if isinstance(operand, PathOperand):
            return self.path(operand.path)
        if isinstance(operand, Size):
            return f"size({self.path(operand.path)})"
        if isinstance(operand, Value):
            return self.value(operand.wire)
        raise ValidationError(f"cannot compile {operand!r} as an operand of a condition")

    def _literal(self, operand: Value) -> str:
        if not isinstance(operand, Value):
            raise ValidationError(f"cannot compile {operand!r} as a value of a condition")
        return self.value(operand.wire)

    def condition(self, spec: Spec) -> str:
        if isinstance(spec, And):
            return "(" + " AND ".join(self.condition(c) for c in spec.children) + ")"
        if isinstance(spec, Or):
            return "(" + " OR ".join(self.condition(c) for c in spec.children) + ")"
        if isinstance(spec, Not):
            return f"(NOT {self.condition(spec.child)})"
        if isinstance(spec, Comparison):
            return f"{self._left(spec.left)} {_OPS[spec.op]} {self._operand(spec.right)}"
        if isinstance(spec, Between):
            return (
                f"{self._left(spec.left)} BETWEEN {self._operand(spec.low)} "
                f"AND {self._operand(spec.high)}"
            )
        if isinstance(spec, BeginsWith):
            return f"begins_with({self.path(spec.path)}, {self._literal(spec.prefix)})"
        if isinstance(spec, Contains):
            return f"contains({self.path(spec.path)}, {self._literal(spec.operand)})"
        if isinstance(spec, In):
            values = ", ".join(self._literal(v) for v in spec.values)
            return f"{self._left(spec.left)} IN ({values})"
        if isinstance(spec, Exists):
            return f"attribute_exists({self.path(spec.path)})"
        if isinstance(spec, NotExists):
            return f"attribute_not_exists({self.path(spec.path)})"
        raise ValidationError(f"cannot compile {type(spec).__name__}")

    def key_condition(self, parts: Sequence[Spec]) -> str:
        # Key conditions are a flat AND of at most two parts, without parentheses.
        return " AND ".join(self.condition(p) for p in parts)

    def projection(self, paths: Iterable[Path]) -> str:
        return ", ".join(self.path(p) for p in paths)

    def attach(self, request: dict[str, Any]) -> dict[str, Any]:
        """Add the placeholder maps (only when used: DynamoDB refuses empty or unused ones)."""
        if self._names:
            request["ExpressionAttributeNames"] = self.names
        if self._values:
            request["ExpressionAttributeValues"] = self.values
        return request


def check_expression_size(expression: str, what: str) -> str:
    size = len(expression.encode("utf-8"))
    if size > limits.MAX_EXPRESSION_BYTES:
        raise ValidationError(
            f"the {what} is {size} bytes; DynamoDB allows {limits.MAX_EXPRESSION_BYTES} "
            "(split the specification or the update)"
        )
    return expression


def canonical(spec: Spec | None) -> str:
    """A stable text for a spec (expression plus placeholder maps), used in cursor shapes."""
    if spec is None:
        return ""
    builder = ExpressionBuilder()
    text = builder.condition(spec)
    from .. import wirejson

    return text + "|" + wirejson.dumps({"n": builder.names, "v": builder.values})
