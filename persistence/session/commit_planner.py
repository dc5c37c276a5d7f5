"""The commit planner: what a unit of work's commit sends, worked out without changing anything.

`plan_commit` reads the identity map and the pending increments, checks and prepared actions and
returns one `PlannedWrite` per action: at most one action per item (an increment or a check on an
item that is also written joins that item's action), then the prepared actions, then the outbox
records. Actions are immutable: a later step (an increment, a check) makes a new action with
`dataclasses.replace`, never edits one already built. Planning twice gives equal plans, and an
error raised while planning leaves the unit of work exactly as it was.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from .. import limits
from ..backends.actions import (
    Action,
    AddValue,
    Check,
    Clause,
    Delete,
    Meaning,
    Put,
    SetValue,
    Update,
)
from ..errors import ValidationError
from ..model.mapping import Mapping
from ..model.marshal import Item, Wire
from ..query.specification import NotExists, Spec, all_of, attr
from ..records import frozen
from ..validation import check_put_item, item_size
from ..write.diff import check_key_unchanged, counter_sum, diff, like, plain_number, wire_int
from ..write.stamps import check_item_of, deleted_marker, item_with, new_item_assign, timestamp
from .identity_map import Entry, Identity, IdentityMap, identity_of


@dataclass
class PendingIncrement:
    """The counter deltas registered for one item by `uow.increment` (summed per field)."""

    mapping: Mapping[Any]
    key: dict[str, Wire]
    deltas: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingCheck:
    """A condition registered by `uow.check` for the stored item under `key`."""

    mapping: Mapping[Any]
    key: dict[str, Wire]
    spec: Spec


@frozen
class PlannedWrite:
    """An action, and what to do to its aggregate once the commit succeeded.

    Attributes:
        action: what the transaction sends.
        entry: the tracked aggregate the action writes, if any.
        new_snapshot: the aggregate's snapshot after the commit.
        assign: fields to set on the aggregate after the commit (stamps, version, counters).
        size: bytes of the item written, counted once toward the transaction's limit.
        size_exact: whether `size` is the exact size (else an upper bound of it, see
            `validation.check_put_item`).
    """

    action: Action
    entry: Entry | None = None
    new_snapshot: Item | None = None
    assign: MappingABC[str, Any] = field(default_factory=dict)
    size: int = 0
    size_exact: bool = True

    def __init__(
        self,
        action: Action,
        entry: Entry | None = None,
        new_snapshot: Item | None = None,
        assign: MappingABC[str, Any] | None = None,
        size: int = 0,
        size_exact: bool = True,
    ) -> None:
        # @frozen rather than @dataclass(frozen=True): one per action of every commit, and the
        # generated frozen __init__ costs a call per field.
        set_ = object.__setattr__
        set_(self, "action", action)
        set_(self, "entry", entry)
        set_(self, "new_snapshot", new_snapshot)
        set_(self, "assign", {} if assign is None else assign)
        set_(self, "size", size)
        set_(self, "size_exact", size_exact)


def plan_commit(
    identity_map: IdentityMap,
    increments: MappingABC[Identity, PendingIncrement],
    checks: Sequence[PendingCheck],
    extra: Iterable[Action],
    outbox_actions: Callable[..., Iterable[Action]] | None,
    now: datetime,
) -> list[PlannedWrite]:
    """Every write of a commit, in the order sent: the tracked aggregates' writes (in tracking
    order), increments of items not otherwise written, checks of items not otherwise written,
    the prepared actions, then the outbox's records of the aggregates' pending events.

    `outbox_actions` is the outbox's `actions(events, now, sources)` (None without an outbox):
    `sources[i]` is (table name, wire key) of the aggregate that raised `events[i]`, whose
    outbox shard it decides. Nothing given is changed.

    Raises:
        ValidationError: an increment and a hard delete of the same item, a changed key, an
            item DynamoDB would refuse.
    """
    writes: dict[Identity, PlannedWrite] = {}
    for ident, entry in identity_map.items():
        planned = plan_entry(entry, now)
        if planned is not None:
            writes[ident] = planned
    for ident, increment in increments.items():
        planned = with_increment(writes.get(ident), increment, identity_map.get(ident), now)
        if planned is not None:
            writes[ident] = planned
    for check in checks:
        ident = identity_of(check.mapping, check.key)
        writes[ident] = with_check(writes.get(ident), check)
    out = [*writes.values(), *(PlannedWrite(a) for a in extra)]
    if outbox_actions is not None:
        events: list[Any] = []
        sources: list[tuple[str, dict[str, Wire]]] = []
        for entry in identity_map:
            raised = entry.pending_events()
            if raised:
                source = (entry.mapping.table.name, entry.key)
                events.extend(raised)
                sources.extend(source for _ in raised)
        out.extend(PlannedWrite(a) for a in outbox_actions(events, now, sources))
    return out


def plan_entry(entry: Entry, now: datetime) -> PlannedWrite | None:
    """The write of one tracked aggregate: a conditional Put for a new one, the smallest
    UpdateItem for a changed one (with its version condition), a Delete or a soft delete for a
    removed one; None when nothing changed."""
    mapping = entry.mapping
    aggregate = entry.aggregate
    meaning_key = mapping.key_fields_of(aggregate)
    table = mapping.table.name
    if entry.state == "new":
        stamps = new_item_assign(mapping, aggregate, now)
        item = item_with(mapping, aggregate, stamps)
        meaning = Meaning(mapping.name, meaning_key, "add")
        absent = _absent(mapping.table.partition_key)
        size, exact = check_put_item(item, mapping.name, mapping.sound_attributes)
        put = Put(table, item, absent, meaning, entry.key)
        return PlannedWrite(put, entry, item, stamps, size, exact)

    version = mapping.version
    if entry.state == "removed" and not mapping.soft_delete:
        loaded_version, version_condition = loaded_version_of(mapping, entry.snapshot or {})
        meaning = Meaning(mapping.name, meaning_key, "delete", loaded_version, version)
        return PlannedWrite(Delete(table, entry.key, version_condition, meaning), entry)

    assign: dict[str, Any] = {}
    if entry.state == "removed" and mapping.soft_delete:
        assign[mapping.soft_delete] = deleted_marker(mapping, now)
    item = item_with(mapping, aggregate, assign)
    if entry.loaded_as(item):
        # Most loaded aggregates are unchanged: found so without unpacking the snapshot, exactly
        # when the diff below would find nothing.
        return None
    snapshot = entry.snapshot or {}
    loaded_version, version_condition = loaded_version_of(mapping, snapshot)
    check_key_unchanged(mapping, snapshot, item)
    clauses, counter_clauses = diff(mapping, snapshot, item)
    if not clauses and not counter_clauses:
        return None
    fields_changed = bool(clauses)  # before updated_at, which every write sets
    if mapping.updated_at:
        assign[mapping.updated_at] = timestamp(mapping, mapping.updated_at, now)
    if fields_changed and version:
        assign[version] = (loaded_version or 0) + 1
    if assign:
        # Again with the stamps, so index keys built from them are rewritten too.
        item = item_with(mapping, aggregate, assign)
        clauses, counter_clauses = diff(mapping, snapshot, item)
    exists = attr([mapping.table.partition_key]).exists()
    if fields_changed and version:
        condition: Spec = version_condition if version_condition is not None else exists
        kind: Any = "soft_delete" if entry.state == "removed" else "update"
        meaning = Meaning(mapping.name, meaning_key, kind, loaded_version, version)
    else:
        # Only counters changed: ADD commutes, so no version check and no bump; the item must
        # still exist, or ADD would create a partial one.
        condition = exists
        meaning = Meaning(mapping.name, meaning_key, "update", None, None)
    size = check_item_of(mapping, item)
    action = Update(table, entry.key, [*clauses, *counter_clauses], condition, meaning)
    return PlannedWrite(action, entry, item, assign, size)


@functools.cache
def _absent(partition_key: str) -> NotExists:
    """attribute_not_exists(pk): immutable, so one per attribute name serves every new item."""
    return NotExists((partition_key,))


def transaction_size(planned: Sequence[PlannedWrite]) -> int:
    """Bytes the planned writes count toward the transaction's limit: exact whenever it matters
    (an upper bound only while even the bound is within the limit)."""
    total = sum(_size(p, exact=False) for p in planned)
    if total > limits.MAX_TRANSACT_BYTES:
        total = sum(_size(p, exact=True) for p in planned)
    return total


def _size(p: PlannedWrite, *, exact: bool) -> int:
    if isinstance(p.action, Put) and (not p.size or (exact and not p.size_exact)):
        return item_size(p.action.item)
    return p.size


def loaded_version_of(mapping: Mapping[Any], snapshot: Item) -> tuple[int | None, Spec | None]:
    """The version the aggregate was loaded with, and the condition that it is still stored."""
    version = mapping.version
    loaded_version = wire_int(snapshot.get(version)) if version else None
    if version is None or loaded_version is None:
        return loaded_version, None
    return loaded_version, attr([version]) == loaded_version


def with_increment(
    planned: PlannedWrite | None,
    increment: PendingIncrement,
    entry: Entry | None,
    now: datetime,
) -> PlannedWrite | None:
    """`planned` (the item's write so far, if any) with the increment's deltas added: into the
    Put's item, into the Update's ADD clauses, or as an UpdateItem of its own. None when there
    is nothing to write.

    Raises:
        ValidationError: the item is deleted in the same commit.
    """
    mapping = increment.mapping
    deltas = {f: d for f, d in increment.deltas.items() if d != 0}
    if planned is not None:
        action = planned.action
        if isinstance(action, Put) and planned.entry is not None:
            aggregate = planned.entry.aggregate
            item = dict(action.item)
            assign = dict(planned.assign)
            for f, d in deltas.items():
                value = getattr(aggregate, f) or 0
                new = counter_sum(mapping, f, value, d)
                item[f] = {"N": plain_number(new)}
                assign[f] = like(value, new)
            return replace(
                planned, action=replace(action, item=item), new_snapshot=item, assign=assign
            )
        if isinstance(action, Update):
            merged: dict[str, Decimal] = dict(deltas)
            kept: list[Clause] = []
            for clause in action.clauses:
                if isinstance(clause, AddValue) and clause.path[0] in merged:
                    name = str(clause.path[0])
                    merged[name] = counter_sum(mapping, name, merged[name], clause.value["N"])
                else:
                    kept.append(clause)
            kept.extend(AddValue((f,), {"N": plain_number(d)}) for f, d in merged.items() if d)
            assign = dict(planned.assign)
            snapshot = planned.new_snapshot
            if planned.entry is not None:
                # The snapshot gets the incremented counters too: with the value before the
                # increment, the next commit of the block would send the increment again.
                snapshot = dict(snapshot or {})
                for f, d in deltas.items():
                    value = getattr(planned.entry.aggregate, f) or 0
                    new = counter_sum(mapping, f, value, d)
                    assign[f] = like(value, new)
                    snapshot[f] = {"N": plain_number(new)}
            updated = replace(action, clauses=kept)
            return replace(planned, action=updated, new_snapshot=snapshot, assign=assign)
        raise ValidationError(
            f"{mapping.name}: increment() and remove() of the same aggregate in one commit"
        )
    if not deltas:
        return None
    clauses: list[Clause] = [AddValue((f,), {"N": plain_number(d)}) for f, d in deltas.items()]
    if mapping.updated_at:
        stamp = timestamp(mapping, mapping.updated_at, now)
        wire = mapping.converter.field_to_attr(mapping.updated_at, stamp)
        assert wire is not None
        clauses.append(SetValue((mapping.updated_at,), wire))
    meaning = Meaning(mapping.name, mapping.key_fields_from_item(increment.key), "increment")
    condition = attr([mapping.table.partition_key]).exists()
    action = Update(mapping.table.name, increment.key, clauses, condition, meaning)
    if entry is None:
        return PlannedWrite(action)
    # The aggregate is loaded but unchanged: keep the in-memory object and snapshot exact.
    snapshot = dict(entry.snapshot or {})
    assign = {}
    for f, d in deltas.items():
        value = getattr(entry.aggregate, f) or 0
        new = counter_sum(mapping, f, value, d)
        assign[f] = like(value, new)
        snapshot[f] = {"N": plain_number(new)}
    return PlannedWrite(action, entry, snapshot, assign)


def with_check(planned: PlannedWrite | None, check: PendingCheck) -> PlannedWrite:
    """`planned` (the item's write so far, if any) with the check's condition joined to its
    own (one action per item), or a ConditionCheck of its own."""
    if planned is not None:
        action = planned.action
        condition = all_of([c for c in (action.condition, check.spec) if c is not None])
        assert condition is not None  # the check's spec is among them
        return replace(planned, action=replace(action, condition=condition))
    mapping = check.mapping
    meaning = Meaning(mapping.name, mapping.key_fields_from_item(check.key), "check")
    return PlannedWrite(Check(mapping.table.name, check.key, check.spec, meaning))
