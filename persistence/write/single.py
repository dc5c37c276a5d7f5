"""Single-item writes outside a unit of work (put, save, delete and the update builder's request):
each is one action with the same conditions, stamps and typed errors as a commit."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from datetime import UTC, datetime
from typing import Any

from ..backends.actions import (
    Action,
    AddValue,
    Clause,
    Delete,
    Meaning,
    Remove,
    SetIfNotExists,
    SetValue,
    Update,
    check_write_expressions,
)
from ..backends.base import Backend, ConditionalCheckFailed
from ..errors import NotFound, PersistenceError, ValidationError
from ..model.mapping import Mapping
from ..model.marshal import Item
from ..query.projection import typed_value
from ..query.spec_types import validate_against
from ..query.specification import Spec, all_of, attr
from ..runtime.steps import Call, Steps, run_sync
from .cancellation import raise_for_single
from .stamps import checked_item, timestamp

ONE = {"N": "1"}  # the version increment


def write_one(backend: Backend, action: Action, return_values: str = "NONE") -> Item | None:
    """One single-item write with the unit of work's typed errors."""
    return run_sync(backend, write_one_steps(action, return_values))


def write_one_steps(action: Action, return_values: str = "NONE") -> Steps[Item | None]:
    """`write_one` for the sans-I/O core (`runtime.steps`)."""
    try:
        stored: Item | None = yield Call("write", action, return_values=return_values)
    except ConditionalCheckFailed as failure:
        raise single_error(action, failure) from None
    return stored


def single_error(action: Action, failure: ConditionalCheckFailed) -> PersistenceError:
    meaning = action.meaning
    if failure.item is None and meaning.expected_version is None and meaning.kind != "put":
        return NotFound(meaning.aggregate_type or "?", meaning.key)
    return raise_for_single(action, failure)


def own_type(mapping: Mapping[Any]) -> Spec:
    """The stored item is of this mapping's type (or carries no type attribute)."""
    type_attr = [mapping.table.type_attribute]
    return attr(type_attr).not_exists() | (attr(type_attr) == mapping.type_name)


def exists_and_own(mapping: Mapping[Any]) -> Spec:
    return attr([mapping.table.partition_key]).exists() & own_type(mapping)


def absent_or_own(mapping: Mapping[Any]) -> Spec:
    return attr([mapping.table.partition_key]).not_exists() | own_type(mapping)


def user_condition(mapping: Mapping[Any], condition: Spec | None) -> Spec | None:
    if condition is None:
        return None
    if not isinstance(condition, Spec):
        raise ValidationError(f"condition must be a Specification, got {type(condition).__name__}")
    validate_against(condition, mapping)
    return condition


def full_clauses(
    mapping: Mapping[Any], item: Item, now: datetime, *, skip: Iterable[str] = ()
) -> list[Clause]:
    """SET every stored attribute of `item`, REMOVE the mapping's attributes it no longer has.

    created_at is only ever set when missing: neither put nor save may rewrite when an aggregate
    was first stored. Key attributes never change; `skip` names what the caller writes itself.
    """
    keys = set(mapping.table.key_attributes())
    skipped = keys | set(skip)
    clauses: list[Clause] = []
    created = mapping.created_at
    for name, wire in item.items():
        if name not in skipped and name != created:
            clauses.append(SetValue((name,), wire))
    if created is not None:
        first = item.get(created) or mapping.converter.field_to_attr(
            created, timestamp(mapping, created, now)
        )
        assert first is not None
        clauses.append(SetIfNotExists((created,), first))
    for name in sorted(mapping.stored_attributes() - item.keys() - skipped - {created}):
        clauses.append(Remove((name,)))
    return clauses


def put_action(
    mapping: Mapping[Any], aggregate: Any, condition: Spec | None, now: datetime | None = None
) -> tuple[Update, dict[str, Any]]:
    """Create or replace, as an UpdateItem so the stored created_at survives (see ADR 0005).

    The version is ADDed (1 for a new item, stored + 1 otherwise) so anyone holding the old
    version conflicts; the other fields are SET, vanished ones REMOVEd.
    """
    now = now or datetime.now(UTC)
    assign: dict[str, Any] = {}
    if mapping.updated_at:
        assign[mapping.updated_at] = timestamp(mapping, mapping.updated_at, now)
    item = checked_item(mapping, aggregate, assign)
    skip = {mapping.version} if mapping.version else set()
    clauses = full_clauses(mapping, item, now, skip=skip)
    if mapping.version:
        clauses.append(AddValue((mapping.version,), ONE))
    spec = all_of(
        [s for s in (absent_or_own(mapping), user_condition(mapping, condition)) if s is not None]
    )
    key = {a: item[a] for a in mapping.table.key_attributes()}
    meaning = Meaning(mapping.name, mapping.key_fields_of(aggregate), "put")
    action = Update(mapping.table.name, key, clauses, spec, meaning)
    check_write_expressions(action)
    return action, assign


def save_action(
    mapping: Mapping[Any], aggregate: Any, now: datetime | None = None
) -> tuple[Update, dict[str, Any]]:
    """Write every non-key field of a stored aggregate under its version condition."""
    now = now or datetime.now(UTC)
    assign: dict[str, Any] = {}
    if mapping.updated_at:
        assign[mapping.updated_at] = timestamp(mapping, mapping.updated_at, now)
    expected: int | None = None
    conditions = [exists_and_own(mapping)]
    if mapping.version:
        expected = int(getattr(aggregate, mapping.version) or 0)
        assign[mapping.version] = expected + 1
        conditions.append(attr([mapping.version]) == expected)
    item = checked_item(mapping, aggregate, assign)
    clauses = full_clauses(mapping, item, now)
    key = {a: item[a] for a in mapping.table.key_attributes()}
    meaning = Meaning(
        mapping.name, mapping.key_fields_of(aggregate), "update", expected, mapping.version
    )
    action = Update(mapping.table.name, key, clauses, all_of(conditions), meaning)
    check_write_expressions(action)
    return action, assign


def delete_action(
    mapping: Mapping[Any], key_fields: MappingABC[str, Any], condition: Spec | None
) -> Delete:
    """A hard delete by key; it never deletes another aggregate type's item under that key."""
    key = mapping.key_from_fields(key_fields)
    spec = all_of(
        [s for s in (absent_or_own(mapping), user_condition(mapping, condition)) if s is not None]
    )
    meaning = Meaning(mapping.name, dict(key_fields), "delete")
    action = Delete(mapping.table.name, key, spec, meaning)
    check_write_expressions(action)
    return action


def assign_stored(
    mapping: Mapping[Any], aggregate: Any, stored: Item | None, names: Iterable[str]
) -> None:
    """Copy what the store decided (created_at kept, version bumped) onto the object."""
    if stored is None:
        return
    for name in names:
        if name in stored:
            object.__setattr__(aggregate, name, typed_value(mapping, name, stored[name]))
