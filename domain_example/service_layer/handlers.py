"""Handlers: one business operation per command, and the reactions to the events they raise.

Each handler names its dependencies as parameters after the message (`uow`, `clock`, `retry`,
`new_id`, `notifier`); the container binds them (`bootstrap.py`), so the message bus calls
`handler(message)` with the message alone. EVENT_HANDLERS and COMMAND_HANDLERS, at the end, say
which handler serves which message.

A command handler returns only what idempotency needs: the answer it remembers with a request id
and replays to a retry (deposits, withdrawals, transfers). The others return nothing; the entry
point reads a view for its answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import persistence as p

from ..adapters.notifications import Notifier
from ..domain import commands, events, model
from ..domain.errors import AccountAlreadyExists, AccountNotFound
from ..domain.model import Account, Transfer, TransferStatus
from . import idempotency, to_json
from .retrying import ConflictRetry

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]

# ---------------------------------------------------------------------------- commands


def load_account(uow: p.UnitOfWork, account_id: str) -> Account:
    """Strongly consistent: a write path should not lose races to its own stale read."""
    try:
        return uow.repository(Account).get(account_id=account_id, consistent=True)
    except p.NotFound:
        raise AccountNotFound(f"no open account {account_id}") from None


def open_account(cmd: commands.OpenAccount, uow: p.UnitOfWork) -> None:
    account = Account.open(cmd.account_id, cmd.owner, cmd.currency, cmd.overdraft_limit)
    with uow:
        uow.repository(Account).add(account)
        try:
            uow.commit()
        except p.AlreadyExists:
            # A closed account keeps its id too: account ids are never reused.
            raise AccountAlreadyExists(f"account {cmd.account_id} already exists") from None


def deposit(
    cmd: commands.Deposit, uow: p.UnitOfWork, clock: Clock, retry: ConflictRetry
) -> dict[str, str]:
    return _change_balance(cmd, uow, clock, retry, lambda account: account.deposit(cmd.amount))


def withdraw(
    cmd: commands.Withdraw, uow: p.UnitOfWork, clock: Clock, retry: ConflictRetry
) -> dict[str, str]:
    # A refusal raises inside the work: nothing is written or remembered.
    return _change_balance(cmd, uow, clock, retry, lambda account: account.withdraw(cmd.amount))


def _change_balance(
    cmd: commands.Deposit | commands.Withdraw,
    uow: p.UnitOfWork,
    clock: Clock,
    retry: ConflictRetry,
    change: Callable[[Account], None],
) -> dict[str, str]:
    """One account changed once per idempotency key, retried as a whole on a conflict."""

    def work() -> dict[str, str]:
        with uow:
            stored = idempotency.replay(uow, cmd)
            if stored is not None:
                return stored
            account = load_account(uow, cmd.account_id)
            change(account)
            answer = to_json.balance(account)
            idempotency.remember(uow, cmd, answer, clock())
            uow.commit()
            return answer

    return idempotency.once(lambda: retry(work))


def transfer_money(
    cmd: commands.TransferMoney,
    uow: p.UnitOfWork,
    clock: Clock,
    retry: ConflictRetry,
    new_id: IdFactory,
) -> dict[str, str]:
    """Both accounts, the transfer and the idempotency record commit together or not at all."""
    transfer_id = new_id()  # outside the retried work: a rerun records the same transfer

    def work() -> dict[str, str]:
        with uow:
            stored = idempotency.replay(uow, cmd)
            if stored is not None:
                return stored
            source = load_account(uow, cmd.from_account)
            target = load_account(uow, cmd.to_account)
            result = model.transfer(source, target, cmd.amount, transfer_id, clock())
            if result.status is TransferStatus.REJECTED:
                # The accounts are not written, so no version check comes for free: check the
                # source explicitly, or a rejection could rest on a balance already changed.
                uow.check(
                    Account,
                    {"account_id": source.account_id},
                    p.attr("version") == source.version,
                )
            uow.repository(Transfer).add(result)
            answer = to_json.transfer(result)
            idempotency.remember(uow, cmd, answer, clock())
            uow.commit()
            return answer

    return idempotency.once(lambda: retry(work))


def freeze_account(cmd: commands.FreezeAccount, uow: p.UnitOfWork, retry: ConflictRetry) -> None:
    def work() -> None:
        with uow:
            account = load_account(uow, cmd.account_id)
            account.freeze()
            uow.commit()

    retry(work)


def close_account(cmd: commands.CloseAccount, uow: p.UnitOfWork, retry: ConflictRetry) -> None:
    def work() -> None:
        with uow:
            account = load_account(uow, cmd.account_id)
            account.close()
            # Soft delete: the item stays for audit with `closed_at`, and leaves every read.
            uow.repository(Account).remove(account)
            uow.commit()

    retry(work)


# ---------------------------------------------------------------------------- events
# They run in-process after the command committed, each in its own unit of work; a failure is
# logged by the bus and never undoes the command. In-process means at most once: a process that
# dies after the commit skips them. That suits a courtesy notification (the demo's notifier logs;
# sending one twice would be worse than missing one), not the statistics: those follow the
# events from the queue, at least once and idempotently (statistics.py, docs/events.md).


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


# ---------------------------------------------------------------------------- which serves what

EVENT_HANDLERS: dict[type, Sequence[Callable[..., Any]]] = {
    events.AccountOpened: [notify_opened],
    events.TransferCompleted: [notify_transfer],
    events.TransferRejected: [notify_rejection],
    events.AccountFrozen: [notify_frozen],
    events.AccountClosed: [notify_closed],
}

COMMAND_HANDLERS: dict[type, Callable[..., Any]] = {
    commands.OpenAccount: open_account,
    commands.Deposit: deposit,
    commands.Withdraw: withdraw,
    commands.TransferMoney: transfer_money,
    commands.FreezeAccount: freeze_account,
    commands.CloseAccount: close_account,
}
