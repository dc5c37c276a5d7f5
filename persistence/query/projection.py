"""Projected reads and typed field values.

- `projected_plan` plans `find(..., fields=[...])`, which may also read a KEYS_ONLY or INCLUDE
  index when every named field (and every field the filter needs) is projected into it.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping as MappingABC
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from ..errors import ValidationError
from ..model.mapping import AccessPath, Mapping
from ..model.marshal import Item, Wire, from_wire, unwrap_optional
from .planner import Plan, plan
from .specification import (
    Comparison,
    Spec,
    Value,
    all_of,
    conjuncts,
    wire_equal,
)

# ---------------------------------------------------------------------- projected reads


class _IndexView:
    """The mapping as the planner sees it, with one partially projected index made plannable.

    The planner only plans whole-aggregate reads, so it refuses indexes that do not project ALL;
    a projected read checks availability itself (projected_plan) and plans through this view.
    """

    def __init__(self, mapping: Mapping[Any], index: str) -> None:
        self._mapping = mapping
        self.paths = [
            dataclasses.replace(p, projection="ALL") for p in mapping.paths if p.index == index
        ]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mapping, name)


def check_fields(mapping: Mapping[Any], fields: Sequence[str]) -> list[str]:
    if isinstance(fields, str) or not fields:
        raise ValidationError("fields needs a non-empty list of field names, e.g. fields=['owner']")
    names: list[str] = []
    for name in fields:
        if name not in mapping.field_names:
            raise ValidationError(
                f"{mapping.name} has no field {name!r}; fields: {sorted(mapping.field_names)}"
            )
        if name not in names:
            names.append(name)
    return names


def projected_plan(
    mapping: Mapping[Any],
    spec: Spec | None,
    fields: Sequence[str],
    *,
    index: str | None,
    descending: bool,
    consistent: bool,
    allow_scan: bool,
    include_deleted: bool,
) -> tuple[Plan, list[str], list[str]]:
    """(plan, the fields asked for, the attributes to request)."""
    names = check_fields(mapping, fields)
    path = next((p for p in mapping.paths if p.index == index), None) if index else None
    partial = path is not None and path.projection != "ALL"
    planned_on: Any = _IndexView(mapping, index) if partial and index else mapping
    read = plan(
        cast(Mapping[Any], planned_on),
        spec,
        index=index,
        descending=descending,
        consistent=consistent,
        allow_scan=allow_scan,
        include_deleted=include_deleted,
    )
    if partial and path is not None:
        read = _fit_to_projection(mapping, read, path, names)
    extra = [str(p[0]) for p in (read.post_filter.paths() if read.post_filter else ())]
    request = list(dict.fromkeys([*names, *extra]))
    return read, names, request


def _available(mapping: Mapping[Any], path: AccessPath) -> set[str]:
    keys = {
        *mapping.table.key_attributes(),
        path.pk_attr,
        *([path.sk_attr] if path.sk_attr else []),
    }
    if path.projection == "KEYS_ONLY":
        return keys
    return keys | set(path.projection)


def _fit_to_projection(
    mapping: Mapping[Any], read: Plan, path: AccessPath, names: list[str]
) -> Plan:
    """Check that the index holds what the read needs; drop the type filter when the index
    does not hold the type attribute (only safe when no other aggregate type uses the index)."""
    available = _available(mapping, path)
    missing = [n for n in names if n not in available]
    if missing:
        raise ValidationError(
            f"index {path.index!r} does not project {missing}; it holds {sorted(available)}: "
            "ask for those fields only, or read the table"
        )
    type_attr = mapping.table.type_attribute
    parts = [p for p in conjuncts(read.filter) if not _implied_by_key(mapping, p, read)]
    if type_attr not in available:
        _check_index_not_shared(mapping, path)
        parts = [p for p in parts if not _is_type_filter(p, type_attr)]
    needed = sorted(
        {str(p[0]) for part in [*parts, *conjuncts(read.post_filter)] for p in part.paths()}
        - available
    )
    if needed:
        hint = " (or pass include_deleted=True)" if mapping.soft_delete in needed else ""
        raise ValidationError(
            f"the specification needs {needed}, which index {path.index!r} does not project; "
            f"it holds {sorted(available)}{hint}"
        )
    return dataclasses.replace(read, filter=all_of(parts), path=path)


def _implied_by_key(mapping: Mapping[Any], part: Spec, read: Plan) -> bool:
    """An equality on the one field of a single-hole partition key template ("BRANCH#{branch}")
    that renders the queried partition key is exactly what the key condition already requires,
    so the index need not hold the field. (With several holes, "{a}#{b}" can render the same
    text from other values: such parts are kept.)"""
    path = read.path
    if read.operation != "Query" or path is None or len(path.pk.fields) != 1:
        return False
    if not (
        isinstance(part, Comparison)
        and part.op == "=="
        and isinstance(part.left, tuple)
        and part.left == (path.pk.fields[0],)
        and isinstance(part.right, Value)
    ):
        return False
    rendered = mapping.key_value(path.pk, {path.pk.fields[0]: part.right.value})
    queried = read.key_condition[0]
    return (
        rendered is not None
        and isinstance(queried, Comparison)
        and isinstance(queried.right, Value)
        and wire_equal(rendered, queried.right.wire)
    )


def _is_type_filter(part: Spec, type_attr: str) -> bool:
    return (
        isinstance(part, Comparison) and isinstance(part.left, tuple) and part.left == (type_attr,)
    )


def _check_index_not_shared(mapping: Mapping[Any], path: AccessPath) -> None:
    others = [
        m.name
        for m in mapping.table.mappings
        if m is not mapping and any(p.index == path.index for p in m.paths)
    ]
    if others:
        raise ValidationError(
            f"index {path.index!r} is shared with {others} and does not project the type "
            f"attribute {mapping.table.type_attribute!r}, so its entries cannot be told apart; "
            "project the type attribute into the index"
        )


def project(mapping: Mapping[Any], item: Item, names: Sequence[str]) -> dict[str, Any]:
    """The named fields of an item as typed values (absent: None, or an empty set)."""
    return {
        n: typed_value(mapping, n, item[n]) if n in item else missing_value(mapping, n)
        for n in names
    }


__all__ = [
    "check_fields",
    "missing_value",
    "project",
    "projected_plan",
    "typed_fields",
    "typed_value",
]


def typed_value(mapping: Mapping[Any], name: str, wire: Wire) -> Any:
    """A stored attribute of field `name` as the field's Python value."""
    if name == mapping.ttl:
        seconds = int(Decimal(wire["N"]))
        hint, _ = unwrap_optional(typing.get_type_hints(mapping.aggregate).get(name))
        return datetime.fromtimestamp(seconds, UTC) if hint is datetime else seconds
    try:
        return mapping.converter.fields[name].converter.from_attr(wire)
    except (ValidationError, KeyError, TypeError, ValueError):
        # UPDATED_* of a nested path returns only the updated part of a map: not a whole value
        # of the field's type, so it is handed back as plain values.
        return from_wire(wire)


def missing_value(mapping: Mapping[Any], name: str) -> Any:
    """What a field reads as when its attribute is absent (sets read as empty, others None)."""
    info = mapping.converter.fields.get(name)
    if info is not None and info.converter.is_set:
        return frozenset() if info.converter.python is frozenset else set()
    return None


def typed_fields(mapping: Mapping[Any], item: MappingABC[str, Wire]) -> dict[str, Any]:
    """Every field present in `item` as its Python value (derived attributes left out)."""
    return {n: typed_value(mapping, n, w) for n, w in item.items() if n in mapping.field_names}
