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
from datetime import UTC, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from .. import limits, numbers
from ..backends.actions import Action
from ..backends.base import Backend, Cancelled, Registrar
from ..errors import TransactionTooLarge, UnitOfWorkStateError, ValidationError
from ..model.mapping import Mapping
from ..query.cursor import CursorSigner
from ..query.spec_types import validate_against
from ..query.specification import Spec
from ..runtime.retry import DEFAULT_RETRY_POLICY, RetryPolicy, error_code
from ..runtime.steps import Call, Steps, run_sync
from ..write.cancellation import check_unique_items, error_for
from .commit_planner import (
    PendingCheck,
    PendingIncrement,
    PlannedWrite,
    plan_commit,
    transaction_size,
)
from .identity_map import Identity, IdentityMap, identity_of

T = TypeVar("T")
# The logger keeps the name it had before the modules moved into layers (docs/api.md).
log = logging.getLogger("persistence.unit_of_work")
Lifecycle = Literal["closed", "open", "committed", "failed"]


class UnitOfWorkCore:
    """A unit of work without repositories and without transport (adr/0020): the lifecycle,
    the identity map, the registered changes and the commit written as steps
    (`runtime.steps`). `BaseUnitOfWork` drives it with blocking calls; `persistence.aio`'s unit
    of work awaits the same steps.

    Args:
        backend: what the tables are registered with (a `Backend` or an `AsyncBackend`).
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
        backend: Registrar,
        mappings: Iterable[Mapping[Any]],
        *,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        outbox: Any | None = None,
        clock: Callable[[], datetime] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
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
        # One map for the object's life, cleared by each block: a repository handed out keeps
        # recording into the block in progress.
        self._identity = IdentityMap(guard=self._require_usable)
        self._reset()

    # ------------------------------------------------------------------ context manager

    @property
    def state(self) -> Lifecycle:
        """The lifecycle state: closed (outside a `with` block), open, committed or failed
        (see the module's docstring and adr/0011)."""
        return self._state

    def _enter(self) -> None:
        """Start a block (what `with uow:` / `async with uow:` do on entry)."""
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

    def _exit(self) -> None:
        """End the block (what leaving `with uow:` / `async with uow:` does)."""
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
        self._identity.clear()
        self._increments: dict[Identity, PendingIncrement] = {}
        self._checks: list[PendingCheck] = []
        self._extra: list[Action] = []

    def rollback(self) -> None:
        """Discard every change not committed; events raised in this work are dropped. A failed
        block stays failed: only leaving it starts a new unit of work."""
        self._identity.drain_events()
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

    # ------------------------------------------------------------------ identity map

    @property
    def identity_map(self) -> IdentityMap:
        """The aggregates this block has loaded or registered: its repositories read and record
        through it (`cached`, `track`, `register_new`, `register_removed`)."""
        return self._identity

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
        ident = identity_of(mapping, wire_key)
        pending = self._increments.setdefault(ident, PendingIncrement(mapping, wire_key))
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
        self._checks.append(PendingCheck(mapping, mapping.key_from_fields(key), spec))

    def add_action(self, action: Action) -> None:
        """A prepared write (e.g. an UpdateBuilder's) committed in the same transaction."""
        self._require_usable("add_action()")
        self._extra.append(action)

    # ------------------------------------------------------------------ commit

    def _commit_steps(self) -> Steps[None]:
        """`commit()` as steps: plan, check, then one TransactWriteItems retried with one token."""
        self._require_usable("commit()")
        # Planning reads the identity map and changes nothing in it, so an error raised here
        # leaves every change and every pending event in place for a corrected commit.
        planned = plan_commit(
            self._identity,
            self._increments,
            self._checks,
            self._extra,
            self.outbox.actions if self.outbox is not None else None,
            self._clock(),
        )
        actions = [p.action for p in planned]
        if len(actions) > limits.MAX_TRANSACT_ACTIONS:
            raise TransactionTooLarge(
                f"this commit needs {len(actions)} actions; one TransactWriteItems takes at most "
                f"{limits.MAX_TRANSACT_ACTIONS}: split the work into several units of work"
            )
        check_unique_items(actions)
        total = transaction_size(planned)
        if total > limits.MAX_TRANSACT_BYTES:
            raise TransactionTooLarge(
                f"this commit writes {total} bytes; a transaction takes at most "
                f"{limits.MAX_TRANSACT_BYTES}"
            )
        if actions:
            # One token for every attempt of this commit: DynamoDB applies a retried request
            # once (for 10 minutes; the policy stays well inside). See adr/0006.
            token = uuid.uuid4().hex

            def send() -> Steps[None]:
                yield Call("transact_write", actions, token)

            def on_retry(attempt: int, error: BaseException, wait: float) -> None:
                log.info(
                    "commit_retry",
                    extra={"attempt": attempt, "error": error_code(error), "wait": wait},
                )

            try:
                yield from self.retry_policy.steps(send, on_retry=on_retry)
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
        self._identity.drain_events()

    def _on_success(self, planned: list[PlannedWrite]) -> None:
        for p in planned:
            if p.entry is None:
                continue
            for name, value in p.assign.items():
                object.__setattr__(p.entry.aggregate, name, value)
            if p.entry.state == "removed":
                continue
            if p.new_snapshot is None:
                p.entry.snapshot = None
            else:
                p.entry.committed(p.new_snapshot)
            p.entry.state = "clean"
        self._events.extend(self._identity.settle())
        self._increments.clear()
        self._checks.clear()
        self._extra.clear()

    def collect_new_events(self) -> Iterator[Any]:
        """Events of the aggregates seen in committed work, each handed out once."""
        while self._events:
            yield self._events.pop(0)

    def add_update(self, builder: Any) -> None:
        """Commit an UpdateBuilder (`repo.update(...)`) inside this transaction: its update is
        checked now and stamped with this unit of work's clock; conditions fail the commit."""
        self._require_usable("add_update()")
        self.add_action(builder.build(now=self._clock()))


class BaseUnitOfWork(UnitOfWorkCore):
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
        super().__init__(
            backend,
            mappings,
            cursor_secret=cursor_secret,
            outbox=outbox,
            clock=clock,
            retry_policy=retry_policy,
        )

    def __enter__(self) -> Self:
        self._enter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit()

    def commit(self) -> None:
        """Send every change of the block since its last commit as one TransactWriteItems.

        An error while planning (ValidationError, TransactionTooLarge) sends nothing and drains
        nothing: the block stays as it was. An error once sending began fails the block (see
        the module's docstring); a commit with nothing to write sends nothing.
        """
        run_sync(self.backend, self._commit_steps())
