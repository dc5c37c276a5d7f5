"""The managed fields a write stamps on an aggregate (created_at, updated_at, version, the
soft-delete marker) and the item as it will be stored, checked against DynamoDB's rules."""

from __future__ import annotations

import copy
from collections.abc import Mapping as MappingABC
from datetime import date, datetime
from typing import Any

from ..errors import ValidationError
from ..model.mapping import Mapping
from ..model.marshal import Item
from ..validation import check_item


def new_item_assign(mapping: Mapping[Any], aggregate: Any, now: datetime) -> dict[str, Any]:
    """The managed fields of a newly written aggregate: created_at (when missing), updated_at,
    and the version bumped by one."""
    assign: dict[str, Any] = {}
    if mapping.created_at and getattr(aggregate, mapping.created_at) is None:
        assign[mapping.created_at] = timestamp(mapping, mapping.created_at, now)
    if mapping.updated_at:
        assign[mapping.updated_at] = timestamp(mapping, mapping.updated_at, now)
    if mapping.version:
        assign[mapping.version] = (getattr(aggregate, mapping.version) or 0) + 1
    return assign


def checked_item(mapping: Mapping[Any], aggregate: Any, assign: MappingABC[str, Any]) -> Item:
    """`item_with`, refused with ValidationError when DynamoDB would refuse the item."""
    item = item_with(mapping, aggregate, assign)
    check_item_of(mapping, item)
    return item


def item_with(mapping: Mapping[Any], aggregate: Any, assign: MappingABC[str, Any]) -> Item:
    """The item as it will be once the commit succeeds: the aggregate with `assign` applied
    (on a copy, so a failed commit leaves it untouched), derived keys included."""
    if assign:
        aggregate = copy.copy(aggregate)
        for name, value in assign.items():
            object.__setattr__(aggregate, name, value)
    return mapping.to_item(aggregate)


def check_item_of(mapping: Mapping[Any], item: Item) -> int:
    """DynamoDB's item rules (size, nesting); returns the item's size."""
    return check_item(item, mapping.name)


def timestamp(mapping: Mapping[Any], name: str, now: datetime) -> Any:
    kind = mapping.converter.fields[name].type
    if kind is datetime:
        return now
    if kind is date:
        return now.date()
    if kind is int:
        return int(now.timestamp())
    if kind is str:
        return now.isoformat()
    raise ValidationError(
        f"{mapping.name}.{name}: a timestamp field must be datetime, date, int or str"
    )


def deleted_marker(mapping: Mapping[Any], now: datetime) -> Any:
    assert mapping.soft_delete is not None
    kind = mapping.converter.fields[mapping.soft_delete].type
    if kind is bool:
        return True
    return timestamp(mapping, mapping.soft_delete, now)
