"""Turn a Specification into the cheapest DynamoDB read.

GetItem when the spec fixes the whole primary key; a Query on the table or an index when it fixes
a partition key (by equality in the top-level AND) and optionally a sort-key condition; a Scan only
when nothing else can serve. The rest of the spec becomes the filter. Both backends execute the
same Plan, so they read the same items in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ValidationError
from ..model.keys import Template, format_part, sorts_as_text
from ..model.mapping import AccessPath, GlobalIndex, Mapping
from ..model.marshal import Wire
from ..records import frozen
from .expressions import canonical
from .spec_types import validate_against
from .specification import (
    BeginsWith,
    Between,
    Comparison,
    Exists,
    NotExists,
    Or,
    Spec,
    Value,
    all_of,
    attr,
    conjuncts,
)

Operation = Literal["GetItem", "Query", "Scan"]


@frozen
class Plan:
    operation: Operation
    table: str
    index: str | None
    key: dict[str, Wire] | None  # GetItem
    key_condition: tuple[Spec, ...]  # Query: partition equality, optional sort condition
    filter: Spec | None  # FilterExpression; for GetItem, checked on the item
    post_filter: Spec | None  # parts on the queried key attributes that a filter may not name
    descending: bool
    consistent: bool
    path: AccessPath | None
    key_attributes: tuple[str, ...]  # attributes of LastEvaluatedKey for this read

    def __init__(
        self,
        operation: Operation,
        table: str,
        index: str | None,
        key: dict[str, Wire] | None,
        key_condition: tuple[Spec, ...],
        filter: Spec | None,
        post_filter: Spec | None,
        descending: bool,
        consistent: bool,
        path: AccessPath | None,
        key_attributes: tuple[str, ...],
    ) -> None:
        object.__setattr__(self, "operation", operation)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "key_condition", key_condition)
        object.__setattr__(self, "filter", filter)
        object.__setattr__(self, "post_filter", post_filter)
        object.__setattr__(self, "descending", descending)
        object.__setattr__(self, "consistent", consistent)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "key_attributes", key_attributes)

    def describe(self) -> str:
        if self.operation == "GetItem":
            return "GetItem"
        where = self.table if self.index is None else f"{self.table}.{self.index}"
        return f"{self.operation} {where}"

    def shape(self) -> str:
        """What a cursor is bound to: the same read, the same conditions, the same direction."""
        parts = [
            self.operation,
            self.table,
            self.index or "",
            "desc" if self.descending else "asc",
            *(canonical(s) for s in self.key_condition),
            canonical(self.filter),
            canonical(self.post_filter),
        ]
        return "\x1f".join(parts)

    def __str__(self) -> str:
        return self.describe()


@dataclass
class _Candidate:
    path: AccessPath
    key_condition: list[Spec]
    consumed: set[int]  # indexes of conjuncts exactly represented by the key condition
    served: int  # user conditions the key serves (beyond the partition key)
    get: bool


def plan(
    mapping: Mapping[Any],
    spec: Spec | None,
    *,
    index: str | None = None,
    descending: bool = False,
    consistent: bool = False,
    allow_scan: bool = True,
    include_deleted: bool = False,
) -> Plan:
    _check_spec(mapping, spec)
    parts = conjuncts(spec)
    equal: dict[str, tuple[Any, int]] = {}
    for i, part in enumerate(parts):
        if (
            isinstance(part, Comparison)
            and part.op == "=="
            and isinstance(part.left, tuple)
            and len(part.left) == 1
            and isinstance(part.right, Value)
        ):
            equal.setdefault(str(part.left[0]), (part.right.value, i))

    paths = _paths(mapping, index)
    candidates = [c for p in paths if (c := _candidate(mapping, p, parts, equal)) is not None]
    table_name = mapping.table.name
    system = _system_filter(mapping, include_deleted)

    if not candidates:
        if not allow_scan:
            raise ValidationError(_missing_key_message(mapping, paths))
        if descending:
            raise ValidationError("descending order needs a Query: fix a partition key")
        return _scan(mapping, parts, paths, index, consistent, system)

    best = max(
        candidates, key=lambda c: (c.get, c.served, c.path.index is None, -paths.index(c.path))
    )
    _check_consistent(mapping, best.path.index, consistent)
    if best.get and index is None:
        key = {
            best.path.pk_attr: _value_of(best.key_condition[0]),
            **(
                {best.path.sk_attr: _value_of(best.key_condition[1])}
                if best.path.sk_attr is not None
                else {}
            ),
        }
        rest = [p for i, p in enumerate(parts) if i not in best.consumed]
        return Plan(
            "GetItem",
            table_name,
            None,
            key,
            (),
            all_of([*rest, *system]),
            None,
            False,
            consistent,
            best.path,
            mapping.table.key_attributes(),
        )
    key_attrs = {best.path.pk_attr, best.path.sk_attr} - {None}
    filter_parts: list[Spec] = []
    post_parts: list[Spec] = []
    for i, part in enumerate(parts):
        if i in best.consumed:
            continue
        if any(str(p[0]) in key_attrs for p in part.paths()):
            post_parts.append(part)  # DynamoDB refuses key attributes in a query filter
        else:
            filter_parts.append(part)
    return Plan(
        "Query",
        table_name,
        best.path.index,
        None,
        tuple(best.key_condition),
        all_of([*filter_parts, *system]),
        all_of(post_parts),
        descending,
        consistent,
        best.path,
        _last_key_attributes(mapping, best.path.index),
    )


def scan_plan(
    mapping: Mapping[Any],
    spec: Spec | None,
    *,
    index: str | None = None,
    consistent: bool = False,
    include_deleted: bool = False,
) -> Plan:
    """A Scan even where a Query could serve: parallel scans and segment workers ask for one."""
    _check_spec(mapping, spec)
    paths = _paths(mapping, index)
    system = _system_filter(mapping, include_deleted)
    return _scan(mapping, conjuncts(spec), paths, index, consistent, system)


def _scan(
    mapping: Mapping[Any],
    parts: list[Spec],
    paths: list[AccessPath],
    index: str | None,
    consistent: bool,
    system: list[Spec],
) -> Plan:
    _check_consistent(mapping, index, consistent)
    return Plan(
        "Scan",
        mapping.table.name,
        index,
        None,
        (),
        all_of([*parts, *system]),
        None,
        False,
        consistent,
        paths[0] if index is not None else None,
        _last_key_attributes(mapping, index),
    )


def _check_spec(mapping: Mapping[Any], spec: Spec | None) -> None:
    if spec is not None:
        if not isinstance(spec, Spec):
            raise ValidationError(f"expected a Specification, got {type(spec).__name__}")
        validate_against(spec, mapping)


def _paths(mapping: Mapping[Any], index: str | None) -> list[AccessPath]:
    if index is None:
        return [p for p in mapping.paths if p.projection == "ALL"]
    matching = [p for p in mapping.paths if p.index == index]
    if not matching:
        if index not in mapping.table.indexes:
            raise ValidationError(
                f"table {mapping.table.name!r} has no index {index!r} "
                f"(it has {sorted(mapping.table.indexes)})"
            )
        raise ValidationError(f"{mapping.name} items are not in index {index!r}")
    if matching[0].projection != "ALL":
        raise ValidationError(
            f"index {index!r} does not project every attribute, so it cannot return whole "
            f"{mapping.name} aggregates; query it with fields=[...] or project ALL"
        )
    return matching


def _check_consistent(mapping: Mapping[Any], index: str | None, consistent: bool) -> None:
    if consistent and index is not None and isinstance(mapping.table.indexes[index], GlobalIndex):
        raise ValidationError(
            f"consistent reads are not supported on global secondary index {index!r}"
        )


def _system_filter(mapping: Mapping[Any], include_deleted: bool) -> list[Spec]:
    out: list[Spec] = [attr([mapping.table.type_attribute]) == mapping.type_name]
    if mapping.soft_delete and not include_deleted:
        out.append(not_deleted(mapping))
    return out


def not_deleted(mapping: Mapping[Any]) -> Spec:
    assert mapping.soft_delete is not None
    field = [mapping.soft_delete]
    return Or((NotExists(tuple(field)), attr(field) == False))  # noqa: E712


def _value_of(spec: Spec) -> Wire:
    assert isinstance(spec, Comparison) and isinstance(spec.right, Value)
    return spec.right.wire


def _key_eq(attribute: str, wire: Wire) -> Comparison:
    return Comparison((attribute,), "==", Value(None, wire))


def _candidate(
    mapping: Mapping[Any], path: AccessPath, parts: list[Spec], equal: dict[str, tuple[Any, int]]
) -> _Candidate | None:
    if not all(f in equal for f in path.pk.fields):
        return None
    fixed = {f: v for f, (v, _) in equal.items()}
    pk_wire = mapping.key_value(path.pk, fixed)
    if pk_wire is None:
        return None
    consumed: set[int] = set()
    if path.pk.direct_field is not None:
        consumed.add(equal[path.pk.direct_field][1])
    key_condition: list[Spec] = [_key_eq(path.pk_attr, pk_wire)]
    if path.sk is None or path.sk_attr is None:
        return _Candidate(path, key_condition, consumed, 0, path.index is None)
    sk, sk_attr = path.sk, path.sk_attr
    prefix, hole = sk.fixed_prefix(fixed)
    if hole == len(sk.fields):
        wire = mapping.key_value(sk, fixed)
        assert wire is not None
        key_condition.append(_key_eq(sk_attr, wire))
        if sk.direct_field is not None:
            consumed.add(equal[sk.direct_field][1])
        return _Candidate(path, key_condition, consumed, len(sk.fields), path.index is None)
    final = hole == len(sk.fields) - 1 and sk.last_hole_ends_template()
    for i, part in enumerate(parts):
        ranged = _range_on(sk_attr, sk, hole, prefix, part, final)
        if ranged is not None:
            key_condition.append(ranged)
            if sk.direct_field is not None:
                consumed.add(i)
            return _Candidate(path, key_condition, consumed, hole + 1, False)
    if prefix:
        key_condition.append(BeginsWith((sk_attr,), Value(prefix, {"S": prefix})))
    return _Candidate(path, key_condition, consumed, hole, False)


def _range_on(
    sk_attr: str, sk: Template, hole_index: int, prefix: str, part: Spec, final: bool
) -> Spec | None:
    """A sort-key condition that every item `part` selects on the hole after the fixed prefix
    also meets, if there is one: a range or begins_with when the hole ends the template, a
    begins_with on any other hole.

    Each condition only narrows the read: the part itself stays in the filter unless the key
    is the field itself. A begins_with needs the hole's text to start with the value, so it is
    used only on holes without a format spec. Its value may hold the hole's stop character
    (ADR 0009): it then selects only items written before the rule, and the key condition is
    still implied by the part, so the filter decides.
    """
    if not final and not isinstance(part, BeginsWith):
        return None  # a range on a hole that text follows would compare that text too
    field = sk.fields[hole_index]
    if isinstance(part, Comparison) and part.op in ("<", "<=", ">", ">="):
        left, values = part.left, [part.right]
    elif isinstance(part, Between):
        left, values = part.left, [part.low, part.high]
    elif isinstance(part, BeginsWith):
        left, values = part.path, [part.prefix]
    else:
        return None
    if not isinstance(left, tuple) or left != (field,):
        return None
    if not all(isinstance(v, Value) for v in values):
        return None
    literal = [v for v in values if isinstance(v, Value)]
    direct = sk.direct_field is not None
    if direct:
        wires = [v.wire for v in literal]
    else:
        hole = sk.hole(hole_index)
        if isinstance(part, BeginsWith):
            if not isinstance(literal[0].value, str) or hole.format_spec:
                return None
            wires = [{"S": prefix + literal[0].value}]
        else:
            if not all(sorts_as_text(hole.format_spec, v.value) for v in literal):
                # "{n}" inside text compares digit by digit: only zero-padded numbers sort right.
                return None
            wires = [{"S": prefix + format_part(v.value, hole.format_spec, field)} for v in literal]
    target = (sk_attr,)
    if isinstance(part, Comparison):
        return Comparison(target, part.op, Value(None, wires[0]))
    if isinstance(part, Between):
        return Between(target, Value(None, wires[0]), Value(None, wires[1]))
    return BeginsWith(target, Value(None, wires[0]))


def _last_key_attributes(mapping: Mapping[Any], index: str | None) -> tuple[str, ...]:
    table = mapping.table
    names = list(table.key_attributes())
    if index is not None:
        for a in table.index_keys(index):
            if a is not None and a not in names:
                names.append(a)
    return tuple(names)


def _missing_key_message(mapping: Mapping[Any], paths: list[AccessPath]) -> str:
    options = []
    for p in paths:
        options.append(f"{list(p.pk.fields)} for the {p.label} partition key {p.pk.text!r}")
    return (
        f"this {mapping.name} specification fixes no partition key, so it would need a Scan "
        f"(allow_scan=False); add an equality on " + " or ".join(options)
    )


__all__ = ["Exists", "Plan", "plan"]
