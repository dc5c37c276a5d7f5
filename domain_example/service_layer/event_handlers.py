"""Event handlers: statistics kept by counters, and notifications to owners.

They run after the command committed, each in its own unit of work; a failure is logged by the
bus and never undoes the command.
"""

from __future__ import annotations

from decimal import Decimal

import persistence as p

from ..adapters.notifications import Notifier
from ..domain import events
from ..domain.model import OwnerStats
from .retrying import ConflictRetry


def bump_stats(
    uow: p.UnitOfWork, retry: ConflictRetry, owner: str, **deltas: int | Decimal
) -> None:
    """Add to an owner's counters, creating the stats item on first use.

    Counters are ADDs without a version check, so concurrent handlers never conflict. ADD on a
    missing item is refused (NotFound); then the item is added, and if a concurrent handler
    added it first (AlreadyExists) the increment is simply tried again.
    """

    def increment() -> None:
        with uow:
            for name, delta in deltas.items():
                uow.increment(OwnerStats, {"owner": owner}, name, delta)
            uow.commit()

    def create() -> None:
        with uow:
            uow.repository(OwnerStats).add(OwnerStats(owner, **deltas))  # type: ignore[arg-type]
            uow.commit()

    try:
        retry(increment)
    except p.NotFound:
        try:
            create()
        except p.AlreadyExists:
            retry(increment)


def count_opened(event: events.AccountOpened, uow: p.UnitOfWork, retry: ConflictRetry) -> None:
    bump_stats(uow, retry, event.owner, accounts_opened=1)


def count_deposit(event: events.MoneyDeposited, uow: p.UnitOfWork, retry: ConflictRetry) -> None:
    bump_stats(uow, retry, event.owner, deposits=1, deposited=event.amount)


def count_withdrawal(event: events.MoneyWithdrawn, uow: p.UnitOfWork, retry: ConflictRetry) -> None:
    bump_stats(uow, retry, event.owner, withdrawals=1)


def count_transfer(
    event: events.TransferCompleted, uow: p.UnitOfWork, retry: ConflictRetry
) -> None:
    bump_stats(uow, retry, event.from_owner, transfers_sent=1, amount_sent=event.amount)
    bump_stats(uow, retry, event.to_owner, transfers_received=1)


def count_rejection(
    event: events.TransferRejected, uow: p.UnitOfWork, retry: ConflictRetry
) -> None:
    bump_stats(uow, retry, event.from_owner, transfers_rejected=1)


def count_closed(event: events.AccountClosed, uow: p.UnitOfWork, retry: ConflictRetry) -> None:
    bump_stats(uow, retry, event.owner, accounts_closed=1)


def notify_opened(event: events.AccountOpened, notifier: Notifier) -> None:
    notifier.send(event.owner, f"Your {event.currency} account {event.account_id} is open.")


def notify_transfer(event: events.TransferCompleted, notifier: Notifier) -> None:
    notifier.send(
        event.from_owner,
        f"You sent {event.amount} {event.currency} from {event.from_account} "
        f"to {event.to_account}.",
    )
    notifier.send(
        event.to_owner,
        f"You received {event.amount} {event.currency} on {event.to_account}.",
    )


def notify_rejection(event: events.TransferRejected, notifier: Notifier) -> None:
    notifier.send(
        event.from_owner,
        f"Your transfer of {event.amount} from {event.from_account} was rejected ({event.reason}).",
    )


def notify_frozen(event: events.AccountFrozen, notifier: Notifier) -> None:
    notifier.send(event.owner, f"Account {event.account_id} is frozen.")


def notify_closed(event: events.AccountClosed, notifier: Notifier) -> None:
    notifier.send(event.owner, f"Account {event.account_id} is closed.")
