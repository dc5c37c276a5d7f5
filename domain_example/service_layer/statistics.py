"""The statistics read model, kept by a consumer of the events queue.

The owner statistics are a read model: counters that follow the events, a little behind them.
They are updated from the queue (SNS topic -> SQS queue, or the in-memory twin) rather than by
an in-process handler, because the queue delivers every committed event at least once, even
when the process that committed it died before anything ran after the commit; an in-process
handler runs at most once.

At least once means twice sometimes, and a counter applied twice is wrong. So each event is
applied in one transaction with a `ProcessedEvent` record keyed by the event's id, added only if
absent: the second delivery of an event cannot commit, and changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

import persistence as p

from ..adapters.messaging import Queue, decode_event
from ..domain import events
from ..domain.model import PROCESSED_EVENT_WINDOW, OwnerStats, ProcessedEvent

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
Changes = dict[str, dict[str, int | Decimal]]  # owner -> counter -> delta


def changes_of(event: Any) -> Changes:
    """What an event adds to whose counters; empty for an event the statistics ignore."""
    changes: Changes = {}

    def add(owner: str, **deltas: int | Decimal) -> None:
        # A transfer between two accounts of one owner touches distinct counters of one item.
        changes.setdefault(owner, {}).update(deltas)

    match event:
        case events.AccountOpened():
            add(event.owner, accounts_opened=1)
        case events.MoneyDeposited():
            add(event.owner, deposits=1, deposited=event.amount)
        case events.MoneyWithdrawn():
            add(event.owner, withdrawals=1)
        case events.TransferCompleted():
            add(event.from_owner, transfers_sent=1, amount_sent=event.amount)
            add(event.to_owner, transfers_received=1)
        case events.TransferRejected():
            add(event.from_owner, transfers_rejected=1)
        case events.AccountClosed():
            add(event.owner, accounts_closed=1)
    return changes


class StatisticsConsumer:
    """Applies events to the owner statistics, each event once however often it is delivered.

    `new_uow` makes a unit of work per event, so one consumer serves any number of threads.
    Counts, for the demo's summary: `applied` (events applied), `duplicates` (deliveries of an
    event already applied, absorbed), `failed` (deliveries left on the queue to come back).
    """

    name = "statistics"

    def __init__(self, new_uow: Callable[[], p.UnitOfWork], clock: Clock, attempts: int = 8):
        self.new_uow = new_uow
        self.clock = clock
        self.attempts = attempts
        self._lock = threading.Lock()
        self.applied = 0
        self.duplicates = 0
        self.failed = 0

    def apply(self, event: Any) -> bool:
        """Apply one event; False if it was applied before (a duplicate delivery)."""
        changes = changes_of(event)
        for _ in range(self.attempts):
            try:
                applied = self._apply_once(event, changes)
            except (p.AlreadyExists, p.ConcurrencyConflict, p.TransactionCanceled):
                # A concurrent delivery of this event committed first (the next look finds its
                # record), or another event created an owner's statistics first (the next look
                # adds to them).
                continue
            with self._lock:
                if applied:
                    self.applied += 1
                else:
                    self.duplicates += 1
            return applied
        # Left on the queue: it comes back after its visibility timeout.
        raise RuntimeError(f"event {event.event_id} still conflicted after {self.attempts} tries")

    def _apply_once(self, event: Any, changes: Changes) -> bool:
        now = self.clock()
        uow = self.new_uow()
        with uow:
            processed = uow.repository(ProcessedEvent)
            try:
                processed.get(consumer=self.name, event_id=event.event_id, consistent=True)
                return False
            except p.NotFound:
                pass
            record = ProcessedEvent(
                self.name, event.event_id, type(event).__name__, now, now + PROCESSED_EVENT_WINDOW
            )
            # Added with attribute_not_exists: of two deliveries, one commits.
            processed.add(record)
            stats = uow.repository(OwnerStats)
            for owner, deltas in changes.items():
                try:
                    stats.get(owner=owner, consistent=True)
                except p.NotFound:
                    stats.add(OwnerStats(owner, **deltas))  # type: ignore[arg-type]
                    continue
                for counter, delta in deltas.items():
                    uow.increment(OwnerStats, {"owner": owner}, counter, delta)
            uow.commit()
            return True

    def drain(self, queue: Queue, batch: int = 10) -> int:
        """Handle every message the queue has now; returns how many were deleted.

        A message is deleted only after its event is applied (or recognised as a duplicate).
        One that fails stays on the queue, invisible until its visibility timeout ends, then
        comes back; after the queue's maxReceiveCount it moves to the dead-letter queue.
        """
        deleted = 0
        while messages := queue.receive(batch):
            for message in messages:
                try:
                    self.apply(decode_event(message.body))
                except Exception:
                    with self._lock:
                        self.failed += 1
                    log.exception("statistics_event_failed", receive_count=message.receive_count)
                    continue
                queue.delete(message)
                deleted += 1
        return deleted
