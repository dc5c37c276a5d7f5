"""Specifications: a predicate tree over attribute paths, with DynamoDB's semantics.

`attr("balance") > 100` builds a Comparison; specs combine with `&`, `|`, `~`. The same tree is
evaluated in memory (`is_satisfied_by`, the in-memory backend) and compiled into DynamoDB
expressions, so both backends agree on what a spec means:

- comparisons are type-strict: a number never equals a string, `<` only orders S, N and B values
  of the same type;
- a missing attribute fails every comparison and function except `<>` (a missing value is
  unequal to anything) and `not_exists`;
- `size` counts characters of a string, bytes of binary, members of sets, lists and maps.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import field
from decimal import Decimal
from typing import Any, Literal

from .. import limits
from ..errors import ValidationError
from ..model.mapping import Mapping as AggregateMapping
from ..model.marshal import Wire, class_converter, to_wire
from ..records import frozen
from ..validation import attribute_size, check_text

PathElement = str | int
Path = tuple[PathElement, ...]
Op = Literal["==", "!=", "<", "<=", ">", ">="]

_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]|(\.)")


def parse_path(text: str) -> Path:
    """ "address.city" -> ("address", "city"); "history[0].kind" -> ("history", 0, "kind")."""
    if not text:
        raise ValidationError("an attribute path cannot be empty")
    out: list[PathElement] = []
    pos = 0
    expect_name = True
    for match in _SEGMENT.finditer(text):
        if match.start() != pos:
            break
        pos = match.end()
        name, index, dot = match.groups()
        if name is not None:
            if not expect_name:
                raise ValidationError(f"malformed attribute path {text!r}")
            out.append(name)
            expect_name = False
        elif index is not None:
            if not out:
                raise ValidationError(f"attribute path {text!r} cannot start with an index")
            out.append(int(index))
        elif dot is not None:
            if expect_name:
                raise ValidationError(f"malformed attribute path {text!r}")
            expect_name = True
    if pos != len(text) or expect_name:
        raise ValidationError(f"malformed attribute path {text!r}")
    check_text(text, "attribute path")
    return tuple(out)


def path_text(path: Path) -> str:
    out = ""
    for element in path:
        out += f"[{element}]" if isinstance(element, int) else (f".{element}" if out else element)
    return out


# --------------------------------------------------------------------------- the tree


class Spec:
    """Base of every specification node: a predicate over an aggregate's stored attributes.

    Build specs with `attr(...)` and combine them with `&`, `|` and `~`. `bool(spec)` raises
    TypeError, so `and` / `or` / `not` cannot silently drop a condition.
    """

    __slots__ = ()

    def __and__(self, other: Spec) -> Spec:
        _check_spec(other, "&")
        return And(tuple(_flatten(And, (self, other))))

    def __or__(self, other: Spec) -> Spec:
        _check_spec(other, "|")
        return Or(tuple(_flatten(Or, (self, other))))

    def __invert__(self) -> Spec:
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(
            "a Specification has no truth value: combine specs with & | ~ instead of and/or/not"
        )

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        """Whether a wire-format item satisfies this spec, with DynamoDB's semantics."""
        raise NotImplementedError

    def paths(self) -> Iterator[Path]:
        """Every attribute path the spec reads, as tuples of names and list indexes."""
        raise NotImplementedError

    def is_satisfied_by(self, candidate: Any, mapping: AggregateMapping[Any] | None = None) -> bool:
        """Evaluate in memory against an aggregate (or a wire item), as DynamoDB would."""
        if mapping is not None:
            return self.evaluate(mapping.to_item(candidate))
        if dataclasses.is_dataclass(candidate) and not isinstance(candidate, type):
            return self.evaluate(class_converter(type(candidate)).to_item(candidate))
        if isinstance(candidate, Mapping):
            return self.evaluate(candidate)
        raise TypeError(f"cannot evaluate a specification against {type(candidate).__name__}")


def _check_spec(other: Any, op: str) -> None:
    if not isinstance(other, Spec):
        raise TypeError(f"cannot combine a Specification with {type(other).__name__} using {op}")


def _flatten(kind: type[And] | type[Or], specs: Iterable[Spec]) -> Iterator[Spec]:
    for spec in specs:
        if isinstance(spec, kind):
            yield from spec.children
        else:
            yield spec


@frozen(eq=False)
class And(Spec):
    children: tuple[Spec, ...]

    def __init__(self, children: tuple[Spec, ...]) -> None:
        object.__setattr__(self, "children", children)

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        return all(child.evaluate(item) for child in self.children)

    def paths(self) -> Iterator[Path]:
        for child in self.children:
            yield from child.paths()


@frozen(eq=False)
class Or(Spec):
    children: tuple[Spec, ...]

    def __init__(self, children: tuple[Spec, ...]) -> None:
        object.__setattr__(self, "children", children)

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        return any(child.evaluate(item) for child in self.children)

    def paths(self) -> Iterator[Path]:
        for child in self.children:
            yield from child.paths()


@frozen(eq=False)
class Not(Spec):
    child: Spec

    def __init__(self, child: Spec) -> None:
        object.__setattr__(self, "child", child)

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        return not self.child.evaluate(item)

    def paths(self) -> Iterator[Path]:
        return self.child.paths()


class _Comparable:
    """Comparison operators that build specifications (shared by attr() and size())."""

    __slots__ = ()

    def _left(self) -> Left:
        raise NotImplementedError

    def _cmp(self, op: Op, value: Any) -> Comparison:
        return Comparison(self._left(), op, _operand(value, _OPS_TEXT[op]))

    def __eq__(self, value: object) -> Comparison:  # type: ignore[override]
        return self._cmp("==", value)

    def __ne__(self, value: object) -> Comparison:  # type: ignore[override]
        return self._cmp("!=", value)

    def __lt__(self, value: Any) -> Comparison:
        return self._cmp("<", value)

    def __le__(self, value: Any) -> Comparison:
        return self._cmp("<=", value)

    def __gt__(self, value: Any) -> Comparison:
        return self._cmp(">", value)

    def __ge__(self, value: Any) -> Comparison:
        return self._cmp(">=", value)

    def between(self, low: Any, high: Any) -> Between:
        """`path BETWEEN low AND high`, both ends included."""
        return Between(self._left(), _operand(low, "between"), _operand(high, "between"))


@frozen(eq=False)
class Size(_Comparable):
    """`size(path)` as an operand."""

    path: Path

    def __init__(self, path: Path) -> None:
        object.__setattr__(self, "path", path)

    def _left(self) -> Left:
        return self

    __hash__ = None  # type: ignore[assignment]


@frozen
class Value:
    """A literal operand; its wire form is computed once."""

    value: Any
    wire: Wire = field(compare=False)

    def __init__(self, value: Any, wire: Wire) -> None:
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "wire", wire)

    @classmethod
    def of(cls, value: Any, where: str = "a comparison") -> Value:
        if value is None:
            raise ValidationError(
                "comparing with None matches nothing in DynamoDB; use .not_exists() or .exists()"
            )
        _refuse_spec_objects(value, where)
        if _looks_like_wire(value):
            raise ValidationError(
                f"{where} got {value!r}, which looks like a DynamoDB wire value: pass the plain "
                "Python value (e.g. 'x', not {'S': 'x'}); the library marshals it"
            )
        try:
            wire = to_wire(value)
        except ValidationError as error:
            raise ValidationError(f"{where}: {error} ({_ACCEPTED})") from None
        if not isinstance(value, int | float | Decimal):
            # Text that DynamoDB cannot take (not UTF-8) is refused where the spec is built.
            attribute_size(wire, "specification value")
        return cls(value, wire)


@frozen
class PathOperand:
    """Another attribute as an operand: attr("a") < attr("b")."""

    path: Path

    def __init__(self, path: Path) -> None:
        object.__setattr__(self, "path", path)


# What a comparison or between accepts on either side. Anything else is refused when the spec is
# built, so it can never be marshalled as a value and silently change the query.
Operand = Value | PathOperand | Size
Left = Path | Size

_ACCEPTED = (
    "a specification operand is another attribute p.attr(...), its size p.attr(...).size(), "
    "or a value DynamoDB stores: str, int, Decimal, float, bool, bytes, a set, list, dict, "
    "enum, date/datetime, UUID, a dataclass, or a type with a registered converter"
)
_OPS_TEXT = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ORDERED = ("S", "N", "B")
_WIRE_SHAPES: dict[str, type | tuple[type, ...]] = {
    "S": str,
    "N": str,
    "B": (bytes, bytearray),
    "BOOL": bool,
    "NULL": bool,
    "SS": list,
    "NS": list,
    "BS": list,
    "L": list,
    "M": dict,
}


def _refuse_spec_objects(value: Any, where: str) -> None:
    """A spec node, attribute or size inside a value would otherwise be marshalled as a map (they
    are dataclasses) or fail with a converter error that hides the mistake."""
    if isinstance(value, Spec | _Comparable | Value | PathOperand):
        if isinstance(value, Spec):
            what = "a specification"
        elif isinstance(value, Attr):
            what = repr(value)
        elif isinstance(value, Size):
            what = f"attr({path_text(value.path)!r}).size()"
        else:
            what = type(value).__name__
        raise ValidationError(
            f"{where} got {what} where a value belongs: " + _WHERE_ACCEPTED.get(where, _ACCEPTED)
        )
    if isinstance(value, Mapping):
        for member in value.values():
            _refuse_spec_objects(member, where)
    elif isinstance(value, list | tuple | set | frozenset):
        for member in value:
            _refuse_spec_objects(member, where)


_WHERE_ACCEPTED = {
    "begins_with": "begins_with takes a str or bytes value (not another attribute)",
    "contains": "contains takes a value (not another attribute or a size)",
    "is_in": "is_in takes a list of values (not attributes or sizes)",
}


def _looks_like_wire(value: Any) -> bool:
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    ((tag, inner),) = value.items()
    shape = _WIRE_SHAPES.get(tag) if isinstance(tag, str) else None
    return shape is not None and isinstance(inner, shape)


def _operand(value: Any, where: str) -> Operand:
    if isinstance(value, Attr):
        return PathOperand(value.path)
    if isinstance(value, Size):
        return value
    return Value.of(value, f"the {where} operand" if where in _OPS_TEXT.values() else where)


def _check_left(left: Any, where: str) -> None:
    if isinstance(left, Size) or (isinstance(left, tuple) and left and isinstance(left[0], str)):
        return
    raise ValidationError(f"{where} needs an attribute path or a size() on its left, got {left!r}")


def _check_operand(operand: Any, where: str) -> None:
    if not isinstance(operand, Value | PathOperand | Size):
        raise ValidationError(f"{where} cannot take {type(operand).__name__}: {_ACCEPTED}")


def _check_ordered(operand: Operand, where: str) -> None:
    """DynamoDB refuses an ordering comparison or BETWEEN on a literal it cannot order
    ("Incorrect operand type for operator or function"): only S, N and B have an order."""
    if isinstance(operand, Value):
        tag = next(iter(operand.wire))
        if tag not in _ORDERED:
            raise ValidationError(
                f"{where} orders only strings, numbers and bytes; {operand.value!r} is {tag}, "
                "which DynamoDB refuses"
            )


def _check_distinct(left: Left, operands: Iterable[Operand], where: str) -> None:
    """DynamoDB refuses a comparison whose two sides are the same document path: "The first
    operand must be distinct from the remaining operands for this operator or function"."""
    if isinstance(left, Size):
        return
    for operand in operands:
        if isinstance(operand, PathOperand) and operand.path == left:
            raise ValidationError(
                f"{where} compares {path_text(left)!r} with itself, which DynamoDB refuses "
                "(the first operand must be distinct from the others)"
            )


@frozen(eq=False)
class Comparison(Spec):
    left: Left
    op: Op
    right: Operand

    def __init__(self, left: Left, op: Op, right: Operand) -> None:
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "right", right)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.op not in _OPS_TEXT:
            raise ValidationError(f"unknown comparison {self.op!r}")
        where = f"the {_OPS_TEXT[self.op]} comparison"
        _check_left(self.left, where)
        _check_operand(self.right, where)
        _check_distinct(self.left, (self.right,), where)
        if self.op not in ("==", "!="):
            _check_ordered(self.right, where)

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        a = _resolve(item, self.left)
        b = _resolve(item, self.right)
        if a is None or b is None:
            # DynamoDB: a missing operand is unequal to anything and fails every other operator.
            return self.op == "!="
        return compare(a, self.op, b)

    def paths(self) -> Iterator[Path]:
        yield _left_path(self.left)
        yield from _operand_paths((self.right,))


@frozen(eq=False)
class Between(Spec):
    left: Left
    low: Operand
    high: Operand

    def __init__(self, left: Left, low: Operand, high: Operand) -> None:
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        self.__post_init__()

    def __post_init__(self) -> None:
        _check_left(self.left, "between")
        for bound in (self.low, self.high):
            _check_operand(bound, "between")
            _check_ordered(bound, "between")
        # DynamoDB's rule names "the remaining operands": a bound that is the left path itself is
        # refused (and `a BETWEEN a AND b` is only `a <= b` written confusingly).
        _check_distinct(self.left, (self.low, self.high), "between")
        if isinstance(self.low, Value) and isinstance(self.high, Value):
            lo, hi = self.low.wire, self.high.wire
            if next(iter(lo)) != next(iter(hi)):
                raise ValidationError(
                    "between needs two bounds of the same type (str, number, bytes)"
                )
            if compare(lo, ">", hi):
                raise ValidationError(
                    f"between({self.low.value!r}, {self.high.value!r}): the lower bound is greater "
                    "than the upper bound, which DynamoDB refuses"
                )

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        a = _resolve(item, self.left)
        lo = _resolve(item, self.low)
        hi = _resolve(item, self.high)
        if a is None or lo is None or hi is None:
            return False
        return compare(a, ">=", lo) and compare(a, "<=", hi)

    def paths(self) -> Iterator[Path]:
        yield _left_path(self.left)
        yield from _operand_paths((self.low, self.high))


@frozen(eq=False)
class BeginsWith(Spec):
    path: Path
    prefix: Value

    def __init__(self, path: Path, prefix: Value) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "prefix", prefix)
        self.__post_init__()

    def __post_init__(self) -> None:
        _check_left(self.path, "begins_with")
        if not isinstance(self.prefix, Value) or next(iter(self.prefix.wire)) not in ("S", "B"):
            raise ValidationError("begins_with needs a str or bytes prefix")

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        a = resolve(item, self.path)
        if a is None:
            return False
        (tag, prefix), *_ = self.prefix.wire.items()
        inner = a.get(tag)
        return (
            inner is not None and bytes(inner).startswith(prefix)
            if tag == "B"
            else (isinstance(inner, str) and inner.startswith(prefix))
        )

    def paths(self) -> Iterator[Path]:
        yield self.path


@frozen(eq=False)
class Contains(Spec):
    path: Path
    operand: Value

    def __init__(self, path: Path, operand: Value) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "operand", operand)
        self.__post_init__()

    def __post_init__(self) -> None:
        _check_left(self.path, "contains")
        if not isinstance(self.operand, Value):
            raise ValidationError(
                f"contains cannot take {type(self.operand).__name__}: {_ACCEPTED}"
            )

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        a = resolve(item, self.path)
        if a is None:
            return False
        (tag, inner), *_ = a.items()
        (otag, oinner), *_ = self.operand.wire.items()
        if tag == "S":
            return otag == "S" and oinner in inner
        if tag == "SS":
            return otag == "S" and oinner in inner
        if tag == "NS":
            return otag == "N" and Decimal(oinner) in {Decimal(n) for n in inner}
        if tag == "BS":
            return otag == "B" and bytes(oinner) in {bytes(b) for b in inner}
        if tag == "L":
            return any(wire_equal(x, self.operand.wire) for x in inner)
        return False

    def paths(self) -> Iterator[Path]:
        yield self.path


@frozen(eq=False)
class In(Spec):
    left: Left
    values: tuple[Value, ...]

    def __init__(self, left: Left, values: tuple[Value, ...]) -> None:
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "values", values)
        self.__post_init__()

    def __post_init__(self) -> None:
        _check_left(self.left, "is_in")
        for value in self.values:
            if not isinstance(value, Value):
                raise ValidationError(f"is_in cannot take {type(value).__name__}: {_ACCEPTED}")
        if not self.values:
            raise ValidationError("is_in needs at least one value")
        if len(self.values) > limits.MAX_IN_OPERANDS:
            raise ValidationError(
                f"is_in takes at most {limits.MAX_IN_OPERANDS} values, got {len(self.values)}"
            )

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        a = _resolve(item, self.left)
        return a is not None and any(wire_equal(a, v.wire) for v in self.values)

    def paths(self) -> Iterator[Path]:
        yield _left_path(self.left)


@frozen(eq=False)
class Exists(Spec):
    path: Path

    def __init__(self, path: Path) -> None:
        object.__setattr__(self, "path", path)

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        return resolve(item, self.path) is not None

    def paths(self) -> Iterator[Path]:
        yield self.path


@frozen(eq=False)
class NotExists(Spec):
    path: Path

    def __init__(self, path: Path) -> None:
        object.__setattr__(self, "path", path)

    def evaluate(self, item: Mapping[str, Wire]) -> bool:
        return resolve(item, self.path) is None

    def paths(self) -> Iterator[Path]:
        yield self.path


class Attr(_Comparable):
    """`attr("balance")`: the left side of a specification.

    Compare it with `==`, `!=`, `<`, `<=`, `>`, `>=` and `.between(low, high)` against a value or
    another `attr(...)`, or use the methods below. A name that is not a field of the aggregate
    raises ValidationError when the spec is used.
    """

    __slots__ = ("path",)

    def __init__(self, path: Path) -> None:
        self.path = path

    def _left(self) -> Left:
        return self.path

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise TypeError("an attribute is not a condition: compare it, e.g. attr('x') == 1")

    def begins_with(self, prefix: str | bytes) -> BeginsWith:
        """`begins_with(path, prefix)`: a string or binary value starting with `prefix`."""
        return BeginsWith(self.path, Value.of(prefix, "begins_with"))

    def contains(self, value: Any) -> Contains:
        """`contains(path, value)`: a substring of a string, a member of a set or an element
        of a list."""
        return Contains(self.path, Value.of(value, "contains"))

    def is_in(self, values: Iterable[Any]) -> In:
        """`path IN (...)`: equal to one of `values` (a list, not a string)."""
        if isinstance(values, str | bytes | Mapping | Spec | _Comparable) or not isinstance(
            values, Iterable
        ):
            raise ValidationError(f"is_in takes a list of values, got {values!r}")
        return In(self.path, tuple(Value.of(v, "is_in") for v in values))

    def exists(self) -> Exists:
        """`attribute_exists(path)`: the attribute is stored (a None field is not)."""
        return Exists(self.path)

    def not_exists(self) -> NotExists:
        """`attribute_not_exists(path)`."""
        return NotExists(self.path)

    def size(self) -> Size:
        """`size(path)`: the length of a string, binary, set, list or map, to compare with a
        number."""
        return Size(self.path)

    def __repr__(self) -> str:
        return f"attr({path_text(self.path)!r})"


def attr(name: str | Sequence[PathElement]) -> Attr:
    """An attribute path: "balance", "address.city", "history[0].kind"; or a sequence of path
    elements for map keys that contain dots or brackets: attr(["meta", "a.b"])."""
    if isinstance(name, str):
        return Attr(parse_path(name))
    path = tuple(name)
    if not path or not isinstance(path[0], str):
        raise ValidationError("an attribute path must start with a name")
    for element in path:
        if isinstance(element, str):
            if not element:
                raise ValidationError("attribute names cannot be empty")
            check_text(element, "attribute name")
    return Attr(path)


# --------------------------------------------------------------------------- evaluation


def resolve(item: Mapping[str, Wire], path: Path) -> Wire | None:
    current: Any = item.get(path[0]) if isinstance(path[0], str) else None
    for element in path[1:]:
        if current is None:
            return None
        if isinstance(element, int):
            values = current.get("L")
            if values is None or element >= len(values):
                return None
            current = values[element]
        else:
            members = current.get("M")
            if members is None:
                return None
            current = members.get(element)
    found: Wire | None = current
    return found


def _resolve(item: Mapping[str, Wire], operand: Left | Operand) -> Wire | None:
    """The wire value an operand stands for in `item`, None when DynamoDB would find nothing."""
    if isinstance(operand, Value):
        return operand.wire
    if isinstance(operand, PathOperand):
        return resolve(item, operand.path)
    if isinstance(operand, Size):
        value = resolve(item, operand.path)
        if value is None:
            return None
        (tag, inner), *_ = value.items()
        if tag in ("S", "B", "SS", "NS", "BS", "L", "M"):
            return {"N": str(len(inner))}
        return None
    return resolve(item, operand)


def _operand_paths(operands: Iterable[Operand]) -> Iterator[Path]:
    for operand in operands:
        if isinstance(operand, PathOperand | Size):
            yield operand.path


def _left_path(left: Left) -> Path:
    return left.path if isinstance(left, Size) else left


def _scalar(value: Wire) -> tuple[str, Any]:
    (tag, inner), *_ = value.items()
    if tag == "N":
        return tag, Decimal(inner)
    if tag == "B":
        return tag, bytes(inner)
    return tag, inner


def compare(a: Wire, op: str, b: Wire) -> bool:
    if op == "==":
        return wire_equal(a, b)
    if op == "!=":
        return not wire_equal(a, b)
    ta, va = _scalar(a)
    tb, vb = _scalar(b)
    if ta != tb or ta not in ("S", "N", "B"):
        return False
    if ta == "S":
        # DynamoDB orders strings by their UTF-8 bytes.
        va, vb = va.encode("utf-8"), vb.encode("utf-8")
    if op == "<":
        return bool(va < vb)
    if op == "<=":
        return bool(va <= vb)
    if op == ">":
        return bool(va > vb)
    if op == ">=":
        return bool(va >= vb)
    raise ValidationError(f"unknown comparison {op!r}")


def wire_equal(a: Wire, b: Wire) -> bool:
    (ta, va), *_ = a.items()
    (tb, vb), *_ = b.items()
    if ta != tb:
        return False
    if ta == "N":
        return Decimal(va) == Decimal(vb)
    if ta == "B":
        return bytes(va) == bytes(vb)
    if ta == "SS":
        return set(va) == set(vb)
    if ta == "NS":
        return {Decimal(x) for x in va} == {Decimal(x) for x in vb}
    if ta == "BS":
        return {bytes(x) for x in va} == {bytes(x) for x in vb}
    if ta == "L":
        return len(va) == len(vb) and all(wire_equal(x, y) for x, y in zip(va, vb, strict=True))
    if ta == "M":
        return va.keys() == vb.keys() and all(wire_equal(va[k], vb[k]) for k in va)
    return bool(va == vb)


def conjuncts(spec: Spec | None) -> list[Spec]:
    """The top-level AND parts of a spec (what the planner can turn into key conditions)."""
    if spec is None:
        return []
    if isinstance(spec, And):
        return list(spec.children)
    return [spec]


def all_of(specs: Sequence[Spec]) -> Spec | None:
    if not specs:
        return None
    if len(specs) == 1:
        return specs[0]
    return And(tuple(_flatten(And, specs)))
