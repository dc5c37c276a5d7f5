"""The unit of work's engine: one business operation, one atomic TransactWriteItems.

It remembers what its repositories loaded (identity map + the wire item as snapshot), computes the
smallest write per aggregate at commit (Put for new ones with attribute_not_exists, UpdateItem with
only the changed attributes, Delete or a soft delete), adds optimistic version conditions and
counter ADDs, and sends everything in one request. Events are handed out only after success.

Lifecycle (adr/0011): `closed` outside a `with` block; `open` inside it; `committed` after a
commit succeeded (the block stays usable: a later commit writes what changed since, with its
events); `failed` once a commit raised after it started sending. A failed commit has drained
the block's events, so from then on nothing of the block may be written or read: every use
raises UnitOfWorkStateError until the block ends, and the next `with` starts afresh.

`BaseUnitOfWork` is all of that but the repositories, which `UnitOfWork` (unit_of_work.py) adds:
repositories sit between the two, so no import runs in a circle.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from .. import limits, numbers
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
from ..backends.base import Backend, Cancelled
from ..errors import (
    TransactionTooLarge,
    UnitOfWorkStateError,
    ValidationError,
)
from ..model.keyid import key_id
from ..model.mapping import Mapping
from ..model.marshal import Item, Wire
from ..query.cursor import CursorSigner
from ..query.spec_types import validate_against
from ..query.specification import NotExists, Spec, all_of, attr
from ..runtime.retry import DEFAULT_RETRY_POLICY, RetryPolicy, error_code
from ..validation import item_size
from ..write.cancellation import check_unique_items, error_for
from ..write.diff import check_key_unchanged, counter_sum, diff, like, plain_number, wire_int
from ..write.stamps import check_item_of, deleted_marker, item_with, new_item_assign, timestamp

T = TypeVar("T")
# The logger keeps the name it had before the modules moved into layers (docs/api.md).
log = logging.getLogger("persistence.unit_of_work")
State = Literal["clean", "new", "removed"]
Lifecycle = Literal["closed", "open", "committed", "failed"]


@dataclass
class _Entry:
    mapping: Mapping[Any]
    aggregate: Any
    snapshot: Item | None  # the wire item as loaded; None for a new aggregate
    state: State
    key: dict[str, Wire]


@dataclass
class _Increment:
    mapping: Mapping[Any]
    key: dict[str, Wire]
    deltas: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class _Planned:
    """An action together with what to do to the aggregate once the commit succeeded."""

    action: Action
    entry: _Entry | None = None
    new_snapshot: Item | None = None
    assign: dict[str, Any] = field(default_factory=dict)
    size: int = 0  # bytes of the item written, counted once toward the transaction's limit


class BaseUnitOfWork:
    """A unit of work without repositories: the identity map, the registered changes and the
    commit. `UnitOfWork` adds the repositories; a repository outside a unit of work commits each
    of its writes through one of these.

    Args:
        backend: the store (`DynamoDBBackend`, `InMemoryStore`).
        mappings: the mappings of the aggregate types this unit of work handles.
        cursor_secret: the secret (or secrets, newest first) page cursors are encrypted with.
        outbox: an `Outbox`: the events of each commit are written in the same transaction.
        clock: returns the current time (created_at, updated_at, soft delete stamps).
        retry_policy: how commit retries transient failures with the same request token.
    """

    # How commit retries throttling, 5xx, connection errors and TransactionConflict (the same
    # request and ClientRequestToken each time); set on an instance to change it.
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY

    def __init__(
        self,
        backend: Backend,
        mappings: Iterable[Mapping[Any]],
        *,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        outbox: Any | None = None,
        clock: Callable[[], datetime] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.backend = backend
        if retry_policy is not None:
            self.retry_policy = retry_policy
        self._mappings: dict[type, Mapping[Any]] = {}
        for mapping in mappings:
            self._mappings[mapping.aggregate] = mapping
            backend.register(mapping.table)
        self._cursor_secret = cursor_secret
        self._signer: CursorSigner | None = None
        self.outbox = outbox
        if outbox is not None:
            self._mappings.setdefault(outbox.mapping.aggregate, outbox.mapping)
            backend.register(outbox.table)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._events: list[Any] = []
        self._state: Lifecycle = "closed"
        self._failure: BaseException | None = None
        self._reset()

    # ------------------------------------------------------------------ context manager

    @property
    def state(self) -> Lifecycle:
        """The lifecycle state: closed (outside a `with` block), open, committed or failed
        (see the module's docstring and adr/0011)."""
        return self._state

    def __enter__(self) -> Self:
        if self._state == "failed":
            self._require_usable("`with uow:` inside its own block")  # raises: start anew
        if self._state != "closed":
            # Entering again would start a new identity map under the outer block's feet.
            raise UnitOfWorkStateError(
                "`with uow:` entered while this unit of work's block is still open; a nested "
                "block would drop the outer block's identity map: finish the outer block first, "
                "or use a second unit of work",
                state=self._state,
            )
        self._reset()
        self._state = "open"
        self._failure = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        self._state = "closed"
        self._failure = None

    def _require_usable(self, doing: str) -> None:
        """Refuse work outside a block, or in a block whose commit failed."""
        if self._state == "open" or self._state == "committed":
            return
        if self._state == "failed":
            failure = type(self._failure).__name__ if self._failure is not None else "an error"
            raise UnitOfWorkStateError(
                f"{doing}: a commit in this `with uow:` block failed ({failure}); its changes "
                "and events are discarded and nothing more of this block can be read or "
                "written: leave the block and start a new `with uow:` block (reload, change, "
                "commit)",
                state="failed",
            )
        raise UnitOfWorkStateError(
            f"{doing}: this unit of work is not inside a `with uow:` block; open one (each "
            "block is one unit of work with its own identity map)",
            state="closed",
        )

    def _reset(self) -> None:
        self._identity: dict[tuple[type, tuple[Any, ...]], _Entry] = {}
        self._increments: dict[tuple[type, tuple[Any, ...]], _Increment] = {}
        self._checks: list[tuple[Mapping[Any], dict[str, Wire], Spec]] = []
        self._extra: list[Action] = []

    def rollback(self) -> None:
        """Discard every change not committed; events raised in this work are dropped. A failed
        block stays failed: only leaving it starts a new unit of work."""
        for entry in self._identity.values():
            _drain_events(entry)
        self._reset()

    # ------------------------------------------------------------------ mappings

    def mapping(self, aggregate_type: type[T]) -> Mapping[T]:
        """The mapping registered for `aggregate_type` (ValidationError if there is none)."""
        try:
            return self._mappings[aggregate_type]
        except KeyError:
            known = ", ".join(t.__name__ for t in self._mappings)
            raise ValidationError(
                f"this unit of work has no mapping for {aggregate_type.__name__} (it has {known})"
            ) from None

    # ------------------------------------------------------------------ tracking (repositories)

    def _ident(
        self, mapping: Mapping[Any], key: MappingABC[str, Wire]
    ) -> tuple[type, tuple[Any, ...]]:
        return (mapping.aggregate, key_id(key))

    def _cached(self, mapping: Mapping[T], key: MappingABC[str, Wire]) -> T | None:
        self._require_usable(f"reading {mapping.name}")
        entry = self._identity.get(self._ident(mapping, key))
        if entry is None or entry.state == "removed":
            return None
        aggregate: T = entry.aggregate
        return aggregate

    def _track(self, mapping: Mapping[T], item: Item) -> T:
        self._require_usable(f"reading {mapping.name}")
        key = {a: item[a] for a in mapping.table.key_attributes()}
        ident = self._ident(mapping, key)
        entry = self._identity.get(ident)
        if entry is not None:
            existing: T = entry.aggregate
            return existing  # the same key loaded twice is the same object
        aggregate = mapping.from_item(item)
        self._identity[ident] = _Entry(mapping, aggregate, item, "clean", key)
        return aggregate

    def _adopt(self, mapping: Mapping[Any], aggregate: Any) -> None:
        """Track an aggregate loaded elsewhere as if loaded here (standalone repositories)."""
        key = mapping.key_of(aggregate)
        self._identity.setdefault(
            self._ident(mapping, key),
            _Entry(mapping, aggregate, mapping.to_item(aggregate), "clean", key),
        )

    def _register_new(self, mapping: Mapping[Any], aggregate: Any) -> None:
        self._require_usable(f"add() of a {mapping.name}")
        key = mapping.key_of(aggregate)
        ident = self._ident(mapping, key)
        entry = self._identity.get(ident)
        if entry is not None:
            if entry.aggregate is aggregate and entry.state == "new":
                return
            if entry.state == "removed" and entry.aggregate is aggregate:
                entry.state = "clean"
                return
            raise ValidationError(
                f"{mapping.name} {mapping.key_fields_of(aggregate)} is already part of this unit "
                "of work; change the loaded aggregate instead of adding another one"
            )
        self._identity[ident] = _Entry(mapping, aggregate, None, "new", key)

    def _register_removed(self, mapping: Mapping[Any], aggregate: Any) -> None:
        self._require_usable(f"remove() of a {mapping.name}")
        key = mapping.key_of(aggregate)
        ident = self._ident(mapping, key)
        entry = self._identity.get(ident)
        if entry is None or entry.aggregate is not aggregate:
            raise ValidationError(
                f"remove() takes an aggregate loaded or added in this unit of work; load "
                f"{mapping.name} {mapping.key_fields_of(aggregate)} first"
            )
        if entry.state == "new":
            del self._identity[ident]  # added and removed in the same work: nothing to write
            _drain_events(entry)
            return
        entry.state = "removed"

    # ------------------------------------------------------------------ extra actions

    def increment(
        self,
        aggregate_type: type[Any],
        key: MappingABC[str, Any],
        field_name: str,
        by: int | Decimal = 1,
    ) -> None:
        """Add `by` to a counter field without loading the aggregate (ADD, no version check)."""
        self._require_usable("increment()")
        mapping = self.mapping(aggregate_type)
        if field_name not in mapping.counters:
            raise ValidationError(
                f"{mapping.name}.{field_name} is not declared as a counter (counters: "
                f"{list(mapping.counters)})"
            )
        if isinstance(by, bool) or not isinstance(by, int | Decimal):
            raise ValidationError(f"increment needs an int or Decimal, got {by!r}")
        wire_key = mapping.key_from_fields(key)
        ident = self._ident(mapping, wire_key)
        pending = self._increments.setdefault(ident, _Increment(mapping, wire_key))
        pending.deltas[field_name] = numbers.add(
            pending.deltas.get(field_name, Decimal(0)),
            by,
            f"{mapping.name}.{field_name} increments",
        )

    def check(self, aggregate_type: type[Any], key: MappingABC[str, Any], spec: Spec) -> None:
        """Commit only if `spec` holds for the stored aggregate (a ConditionCheck)."""
        self._require_usable("check()")
        mapping = self.mapping(aggregate_type)
        validate_against(spec, mapping)
        self._checks.append((mapping, mapping.key_from_fields(key), spec))

    def add_action(self, action: Action) -> None:
        """A prepared write (e.g. an UpdateBuilder's) committed in the same transaction."""
        self._require_usable("add_action()")
        self._extra.append(action)

    # ------------------------------------------------------------------ commit

    def commit(self) -> None:
        """Send every change of the block since its last commit as one TransactWriteItems.

        An error while planning (ValidationError, TransactionTooLarge) sends nothing and drains
        nothing: the block stays as it was. An error once sending began fails the block (see
        the module's docstring); a commit with nothing to write sends nothing.
        """
        self._require_usable("commit()")
        # Planning reads the identity map and changes nothing in it, so an error raised here
        # leaves every change and every pending event in place for a corrected commit.
        planned = self._plan_commit()
        actions = [p.action for p in planned]
        if len(actions) > limits.MAX_TRANSACT_ACTIONS:
            raise TransactionTooLarge(
                f"this commit needs {len(actions)} actions; one TransactWriteItems takes at most "
                f"{limits.MAX_TRANSACT_ACTIONS}: split the work into several units of work"
            )
        check_unique_items(actions)
        total = sum(
            p.size or (item_size(p.action.item) if isinstance(p.action, Put) else 0)
            for p in planned
        )
        if total > limits.MAX_TRANSACT_BYTES:
            raise TransactionTooLarge(
                f"this commit writes {total} bytes; a transaction takes at most "
                f"{limits.MAX_TRANSACT_BYTES}"
            )
        if actions:
            # One token for every attempt of this commit: DynamoDB applies a retried request
            # once (for 10 minutes; the policy stays well inside). See adr/0006.
            token = uuid.uuid4().hex

            def send() -> None:
                self.backend.transact_write(actions, token)

            def on_retry(attempt: int, error: BaseException, wait: float) -> None:
                log.info(
                    "commit_retry",
                    extra={"attempt": attempt, "error": error_code(error), "wait": wait},
                )

            try:
                self.retry_policy.run(send, on_retry=on_retry)
            except Cancelled as cancelled:
                error = error_for(actions, cancelled.reasons)
                self._on_failure(error)
                raise error from None
            except BaseException as exc:
                self._on_failure(exc)
                raise
            log.debug("commit", extra={"actions": len(actions)})
        self._on_success(planned)
        self._state = "committed"

    def _on_failure(self, error: BaseException) -> None:
        # The events are gone, so the block must never write again: a later commit would store
        # the same changes without them (and without their outbox records).
        self._state = "failed"
        self._failure = error
        for entry in self._identity.values():
            _drain_events(entry)

    def _on_success(self, planned: list[_Planned]) -> None:
        for p in planned:
            if p.entry is None:
                continue
            for name, value in p.assign.items():
                object.__setattr__(p.entry.aggregate, name, value)
            if p.entry.state == "removed":
                continue
            p.entry.snapshot = p.new_snapshot
            p.entry.state = "clean"
        for ident, entry in list(self._identity.items()):
            self._events.extend(_drain_events(entry))
            if entry.state == "removed":
                del self._identity[ident]
        self._increments.clear()
        self._checks.clear()
        self._extra.clear()

    def collect_new_events(self) -> Iterator[Any]:
        """Events of the aggregates seen in committed work, each handed out once."""
        while self._events:
            yield self._events.pop(0)

    # ------------------------------------------------------------------ planning

    def _plan_commit(self) -> list[_Planned]:
        now = self._clock()
        planned: list[_Planned] = []
        by_ident: dict[tuple[type, tuple[Any, ...]], _Planned] = {}
        for ident, entry in self._identity.items():
            p = self._plan_entry(entry, now)
            if p is not None:
                planned.append(p)
                by_ident[ident] = p
        for ident, inc in self._increments.items():
            self._merge_increment(ident, inc, by_ident, planned, now)
        for mapping, key, spec in self._checks:
            ident = self._ident(mapping, key)
            meaning = Meaning(mapping.name, mapping.key_fields_from_item(key), "check")
            existing = by_ident.get(ident)
            if existing is not None:
                # One action per item: fold the check into that item's write.
                existing.action.condition = all_of(
                    [c for c in (existing.action.condition, spec) if c is not None]
                )
                continue
            action = Check(mapping.table.name, key, spec, meaning)
            p = _Planned(action)
            planned.append(p)
            by_ident[ident] = p
        planned.extend(_Planned(a) for a in self._extra)
        if self.outbox is not None:
            events = [e for entry in self._identity.values() for e in _pending_events(entry)]
            planned.extend(_Planned(a) for a in self.outbox.actions(events, now))
        return planned

    def _plan_entry(self, entry: _Entry, now: datetime) -> _Planned | None:
        mapping = entry.mapping
        aggregate = entry.aggregate
        meaning_key = mapping.key_fields_of(aggregate)
        table = mapping.table.name
        if entry.state == "new":
            assign = new_item_assign(mapping, aggregate, now)
            item = item_with(mapping, aggregate, assign)
            meaning = Meaning(mapping.name, meaning_key, "add")
            absent = NotExists((mapping.table.partition_key,))
            size = check_item_of(mapping, item)
            return _Planned(Put(table, item, absent, meaning, entry.key), entry, item, assign, size)

        snapshot = entry.snapshot or {}
        version = mapping.version
        loaded_version = wire_int(snapshot.get(version)) if version else None
        version_condition = (
            attr([version]) == loaded_version if version and loaded_version is not None else None
        )
        if entry.state == "removed" and not mapping.soft_delete:
            meaning = Meaning(mapping.name, meaning_key, "delete", loaded_version, version)
            return _Planned(Delete(table, entry.key, version_condition, meaning), entry)

        assign = {}
        if entry.state == "removed" and mapping.soft_delete:
            assign[mapping.soft_delete] = deleted_marker(mapping, now)
        item = item_with(mapping, aggregate, assign)
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
        return _Planned(action, entry, item, assign, size)

    def _merge_increment(
        self,
        ident: tuple[type, tuple[Any, ...]],
        inc: _Increment,
        by_ident: dict[tuple[type, tuple[Any, ...]], _Planned],
        planned: list[_Planned],
        now: datetime,
    ) -> None:
        mapping = inc.mapping
        existing = by_ident.get(ident)
        deltas = {f: d for f, d in inc.deltas.items() if d != 0}
        if existing is not None:
            action = existing.action
            entry = existing.entry
            if isinstance(action, Put) and entry is not None:
                for f, d in deltas.items():
                    value = getattr(entry.aggregate, f) or 0
                    new = counter_sum(mapping, f, value, d)
                    action.item[f] = {"N": plain_number(new)}
                    existing.assign[f] = like(value, new)
                return
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
                action.clauses = kept
                if entry is not None:
                    for f, d in deltas.items():
                        value = getattr(entry.aggregate, f) or 0
                        existing.assign[f] = like(value, counter_sum(mapping, f, value, d))
                return
            raise ValidationError(
                f"{mapping.name}: increment() and remove() of the same aggregate in one commit"
            )
        if not deltas:
            return
        entry = self._identity.get(ident)
        clauses: list[Clause] = [AddValue((f,), {"N": plain_number(d)}) for f, d in deltas.items()]
        if mapping.updated_at:
            stamp = timestamp(mapping, mapping.updated_at, now)
            wire = mapping.converter.field_to_attr(mapping.updated_at, stamp)
            assert wire is not None
            clauses.append(SetValue((mapping.updated_at,), wire))
        meaning = Meaning(mapping.name, mapping.key_fields_from_item(inc.key), "increment")
        condition = attr([mapping.table.partition_key]).exists()
        p = _Planned(Update(mapping.table.name, inc.key, clauses, condition, meaning), entry)
        if entry is not None:
            # The aggregate is loaded but unchanged: keep the in-memory object and snapshot exact.
            p.new_snapshot = dict(entry.snapshot or {})
            for f, d in deltas.items():
                value = getattr(entry.aggregate, f) or 0
                new = counter_sum(mapping, f, value, d)
                p.assign[f] = like(value, new)
                p.new_snapshot[f] = {"N": plain_number(new)}
        planned.append(p)
        by_ident[ident] = p

    def add_update(self, builder: Any) -> None:
        """Commit an UpdateBuilder (`repo.update(...)`) inside this transaction: its update is
        checked now and stamped with this unit of work's clock; conditions fail the commit."""
        self._require_usable("add_update()")
        self.add_action(builder.build(now=self._clock()))


# ---------------------------------------------------------------------- helpers


def _drain_events(entry: _Entry) -> list[Any]:
    name = entry.mapping.events_field
    if name is None:
        return []
    events = getattr(entry.aggregate, name, None)
    if not isinstance(events, list) or not events:
        return []
    drained = list(events)
    events.clear()  # pop, not copy: a second collect must not hand them out again
    return drained


def _pending_events(entry: _Entry) -> list[Any]:
    name = entry.mapping.events_field
    events = getattr(entry.aggregate, name, None) if name else None
    return list(events) if isinstance(events, list) else []
