"""Refusing specification values whose DynamoDB type can never match the field's.

DynamoDB compares values of different types as unequal (and never orders them), so
`attr("balance") == "10"` on a Decimal field quietly matches nothing, and `!=` matches every
item. The type a field is stored as follows from its annotation, as the marshaller stores it:
str, datetime, date and UUID are strings (S); int, float and Decimal are numbers (N); bool is
BOOL, not a number; bytes are B; sets are SS/NS/BS; lists and tuples L; dicts and dataclasses M;
an Enum is stored as its members' values; the mapping's TTL field is epoch seconds (N).

Only a field whose stored types are known is checked: Any, unions holding an unknown type, types
with a registered converter, and nested paths the annotations cannot follow are left alone.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import types
import typing
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..errors import ValidationError
from ..model.mapping import Mapping
from ..model.marshal import find_custom
from .specification import (
    And,
    BeginsWith,
    Between,
    Comparison,
    Contains,
    In,
    Not,
    Or,
    Path,
    PathOperand,
    Size,
    Spec,
    Value,
    path_text,
)

Tags = frozenset[str]

_NAMES = {
    "S": "a string",
    "N": "a number",
    "B": "bytes",
    "BOOL": "a bool",
    "SS": "a set of strings",
    "NS": "a set of numbers",
    "BS": "a set of bytes",
    "L": "a list",
    "M": "a map",
    "NULL": "null",
}
_SET_MEMBER = {"SS": "S", "NS": "N", "BS": "B"}


def check_types(spec: Spec, mapping: Mapping[Any]) -> None:
    """Raise ValidationError for a value (or other attribute) whose type can never match."""
    for node in _leaves(spec):
        _check(node, mapping)


def _leaves(spec: Spec) -> Iterator[Spec]:
    if isinstance(spec, And | Or):
        for child in spec.children:
            yield from _leaves(child)
    elif isinstance(spec, Not):
        yield from _leaves(spec.child)
    else:
        yield spec


# ------------------------------------------------------------------------------- checks


def _check(node: Spec, mapping: Mapping[Any]) -> None:
    if isinstance(node, Comparison):
        where = f"{_left_text(node.left)} {node.op} ..."
        _check_pair(mapping, node.left, node.right, where)
    elif isinstance(node, Between):
        where = f"{_left_text(node.left)}.between(...)"
        for bound in (node.low, node.high):
            _check_pair(mapping, node.left, bound, where)
    elif isinstance(node, In):
        where = f"{_left_text(node.left)}.is_in(...)"
        for value in node.values:
            _check_pair(mapping, node.left, value, where)
    elif isinstance(node, BeginsWith):
        tp, tags = _field(mapping, node.path)
        if tags is not None and _tag(node.prefix) not in tags:
            raise _mismatch(mapping, node.path, tp, tags, node.prefix, "begins_with", "")
    elif isinstance(node, Contains):
        _check_contains(mapping, node)


def _check_pair(mapping: Mapping[Any], left: Path | Size, right: Any, where: str) -> None:
    if isinstance(left, Size):
        left_tags: Tags | None = frozenset({"N"})
    else:
        left_tags = _field(mapping, left)[1]
    if isinstance(right, Size):
        right_tags: Tags | None = frozenset({"N"})
    elif isinstance(right, PathOperand):
        right_tags = _field(mapping, right.path)[1]
    else:
        right_tags = frozenset({_tag(right)})
    if left_tags is None or right_tags is None or left_tags & right_tags:
        return
    if isinstance(left, Size):
        if isinstance(right, Value):
            raise ValidationError(
                f"{mapping.name}: {where} compares size() (a number) with "
                f"{type(right.value).__name__} {right.value!r} ({_tags_text(right_tags)}), "
                "which never matches: compare it with a number"
            )
        raise _paths_mismatch(mapping, where, "size()", left_tags, right, right_tags)
    if isinstance(right, Value):
        tp, _ = _field(mapping, left)
        hint = ""
        if left_tags <= set(_SET_MEMBER) and _tag(right) in _SET_MEMBER.values():
            hint = f'; to test membership use attr("{path_text(left)}").contains(value)'
        raise _mismatch(mapping, left, tp, left_tags, right, where, hint)
    raise _paths_mismatch(mapping, where, path_text(left), left_tags, right, right_tags)


def _check_contains(mapping: Mapping[Any], node: Contains) -> None:
    tp, tags = _field(mapping, node.path)
    if tags is None:
        return
    allowed: set[str] = set()
    for tag in tags:
        if tag == "S":
            allowed.add("S")
        elif tag in _SET_MEMBER:
            allowed.add(_SET_MEMBER[tag])
        elif tag == "L":
            element = _element_tags(tp)
            if element is None:
                return  # a list of anything may contain anything
            allowed |= element
    if _tag(node.operand) not in allowed:
        raise _mismatch(
            mapping,
            node.path,
            tp,
            tags,
            node.operand,
            "contains",
            "" if allowed else ": contains applies to strings, sets and lists",
        )


def _mismatch(
    mapping: Mapping[Any], path: Path, tp: Any, tags: Tags, value: Value, where: str, hint: str
) -> ValidationError:
    what = _type_text(tp)
    if path == (mapping.ttl,):
        what = f"the TTL field ({what}, stored as epoch seconds)"
    return ValidationError(
        f"{mapping.name}.{path_text(path)} is {what} ({_tags_text(tags)}), but "
        f"{where} gives it {type(value.value).__name__} {value.value!r} "
        f"({_tags_text(frozenset({_tag(value)}))}), which never matches: DynamoDB compares values "
        f"of different types as unequal and never orders them{hint}"
    )


def _paths_mismatch(
    mapping: Mapping[Any], where: str, left: str, left_tags: Tags, right: Any, right_tags: Tags
) -> ValidationError:
    right_text = f"{path_text(right.path)}" if isinstance(right, PathOperand) else "size()"
    return ValidationError(
        f"{mapping.name}: {where} compares {left} ({_tags_text(left_tags)}) with {right_text} "
        f"({_tags_text(right_tags)}), which never matches: they are stored as different types"
    )


def _tag(value: Value) -> str:
    return next(iter(value.wire))


def _left_text(left: Path | Size) -> str:
    if isinstance(left, Size):
        return f'attr("{path_text(left.path)}").size()'
    return f'attr("{path_text(left)}")'


def _tags_text(tags: Tags) -> str:
    return " or ".join(f"{_NAMES.get(t, t)} ({t})" for t in sorted(tags))


def _type_text(tp: Any) -> str:
    name = getattr(tp, "__name__", None) if isinstance(tp, type) else None
    return name or re.sub(r"\b\w+\.", "", str(tp))  # without module paths


# ------------------------------------------------------------------------- field types


def _field(mapping: Mapping[Any], path: Path) -> tuple[Any, Tags | None]:
    """The annotation the path leads to and the DynamoDB types it is stored as (None: unknown)."""
    head = path[0]
    if head == mapping.ttl and len(path) == 1:
        return _hints(mapping.aggregate).get(head, Any), frozenset({"N"})
    tp: Any = _hints(mapping.aggregate).get(str(head), Any)
    for element in path[1:]:
        tp = _member(tp, element)
        if tp is None:
            return Any, None
    return tp, _stored(tp)


_HINTS: dict[Any, dict[str, Any]] = {}


def _hints(cls: Any) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # unresolvable forward references: check nothing rather than fail
            hints = {}
        _HINTS[cls] = hints
    return hints


def _member(tp: Any, element: str | int) -> Any:
    """The annotation of `tp[element]` / `tp.element`, or None when it cannot be followed."""
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _member(args[0], element) if len(args) == 1 else None
    if isinstance(element, str):
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return _hints(tp).get(element)
        if origin is dict and len(args) == 2:
            return args[1]
        return None
    if origin is list and len(args) == 1:
        return args[0]
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        return args[element] if element < len(args) else None
    return None


def _element_tags(tp: Any) -> Tags | None:
    member = _member(tp, 0)
    return None if member is None else _stored(member)


def _stored(tp: Any) -> Tags | None:
    """The DynamoDB types values of this annotation are stored as; None when unknown."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        found: set[str] = set()
        for arg in args:
            if arg is type(None):
                continue
            tags = _stored(arg)
            if tags is None:
                return None
            found |= tags
        return frozenset(found) or None
    if isinstance(tp, type) and find_custom(tp) is not None:
        return None
    if tp is bool:
        return frozenset({"BOOL"})
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _values_tags(tuple(member.value for member in tp))
    if tp in (int, float, Decimal):
        return frozenset({"N"})
    if tp in (str, datetime, date, uuid.UUID):
        return frozenset({"S"})
    if tp in (bytes, bytearray):
        return frozenset({"B"})
    if origin in (set, frozenset) or tp in (set, frozenset):
        element = _stored(args[0]) if args else None
        if element is None:
            return frozenset({"SS", "NS", "BS"})
        return frozenset(f"{t}S" for t in element if t in ("S", "N", "B")) or None
    if origin in (list, tuple) or tp in (list, tuple):
        return frozenset({"L"})
    if origin is dict or tp is dict:
        return frozenset({"M"})
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return frozenset({"M"})
    return None


def _values_tags(values: tuple[Any, ...]) -> Tags | None:
    from ..model.marshal import to_wire

    try:
        return frozenset(next(iter(to_wire(v))) for v in values if v is not None) or None
    except (ValidationError, TypeError, ValueError):
        return None


def validate_against(spec: Spec, mapping: Mapping[Any]) -> None:
    """Every path must start at a stored field of the aggregate, and every value must be of a
    type the field can hold (see `check_types`)."""
    for path in spec.paths():
        head = path[0]
        if head not in mapping.field_names:
            raise ValidationError(
                f"{mapping.name} has no field {head!r} (in {path_text(path)!r}); "
                f"fields: {sorted(mapping.field_names)}"
            )
    # A value of a type the field can never hold matches nothing (or, with !=, everything).
    check_types(spec, mapping)
