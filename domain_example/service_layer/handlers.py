"""Command handlers: one business operation, one unit of work, one commit.

Each handler names its dependencies as parameters (`uow`, `clock`, `retry`, `new_id`); the
bootstrap binds them, so the message bus calls `handler(command)` with the command alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import persistence as p

from ..domain import model
from ..domain.commands import (
    CloseAccount,
    Deposit,
    FreezeAccount,
    OpenAccount,
    TransferMoney,
    Withdraw,
)
from ..domain.errors import AccountAlreadyExists, AccountNotFound
from ..domain.model import Account, Transfer, TransferStatus
from . import idempotency
from .retrying import ConflictRetry
from .views import account_view, balance_view, transfer_view

Clock = Callable[[], datetime]
IdFactory = Callable[[], str]


def load_account(uow: p.UnitOfWork, account_id: str) -> Account:
    """Strongly consistent: a write path should not lose races to its own stale read."""
    try:
        return uow.repository(Account).get(account_id=account_id, consistent=True)
    except p.NotFound:
        raise AccountNotFound(f"no open account {account_id}") from None


def open_account(cmd: OpenAccount, uow: p.UnitOfWork) -> dict[str, Any]:
    account = Account.open(cmd.account_id, cmd.owner, cmd.currency, cmd.overdraft_limit)
    with uow:
        uow.repository(Account).add(account)
        try:
            uow.commit()
        except p.AlreadyExists:
            # A closed account keeps its id too: account ids are never reused.
            raise AccountAlreadyExists(f"account {cmd.account_id} already exists") from None
    return account_view(account)


def deposit(cmd: Deposit, uow: p.UnitOfWork, clock: Clock, retry: ConflictRetry) -> dict[str, str]:
    return _change_balance(cmd, uow, clock, retry, lambda account: account.deposit(cmd.amount))


def withdraw(
    cmd: Withdraw, uow: p.UnitOfWork, clock: Clock, retry: ConflictRetry
) -> dict[str, str]:
    # A refusal raises inside the work: nothing is written or remembered.
    return _change_balance(cmd, uow, clock, retry, lambda account: account.withdraw(cmd.amount))


def _change_balance(
    cmd: Deposit | Withdraw,
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
            response = balance_view(account)
            idempotency.remember(uow, cmd, response, clock())
            uow.commit()
            return response

    return idempotency.once(lambda: retry(work))


def transfer_money(
    cmd: TransferMoney,
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
            response = transfer_view(result)
            idempotency.remember(uow, cmd, response, clock())
            uow.commit()
            return response

    return idempotency.once(lambda: retry(work))


def freeze_account(cmd: FreezeAccount, uow: p.UnitOfWork, retry: ConflictRetry) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        with uow:
            account = load_account(uow, cmd.account_id)
            account.freeze()
            uow.commit()
            return account_view(account)

    return retry(work)


def close_account(cmd: CloseAccount, uow: p.UnitOfWork, retry: ConflictRetry) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        with uow:
            account = load_account(uow, cmd.account_id)
            account.close()
            # Soft delete: the item stays for audit with `closed_at`, and leaves every read.
            uow.repository(Account).remove(account)
            uow.commit()
            return account_view(account)

    return retry(work)
