"""The command and event handlers for asyncio: `handlers.py`'s operations on an `aio` unit of
work, awaited.

Only the I/O differs: the domain model decides (`Account.deposit`, `model.transfer`), `to_json`
shapes the answers, `idempotency` keys, fingerprints and remembers requests, and `ConflictRetry`
counts the retries, exactly as for the synchronous handlers. A handler's dependencies are its
parameters after the message, named as in `handlers.py` (`uow`, `clock`, `retry`, `new_id`,
`notifier`); `aio_bootstrap.build_bus` binds them. The notification handlers do no I/O (the
notifier logs) and are shared as they are: the async bus calls a plain function too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import persistence as p
from persistence import aio

from ..domain import commands, model
from ..domain.errors import AccountAlreadyExists, AccountNotFound
from ..domain.model import Account, Transfer, TransferStatus
from . import handlers, idempotency, to_json
from .handlers import Clock, IdFactory
from .retrying import ConflictRetry

# ---------------------------------------------------------------------------- commands


async def load_account(uow: aio.UnitOfWork, account_id: str) -> Account:
    """Strongly consistent: a write path should not lose races to its own stale read."""
    try:
        return await uow.repository(Account).get(account_id=account_id, consistent=True)
    except p.NotFound:
        raise AccountNotFound(f"no open account {account_id}") from None


async def open_account(cmd: commands.OpenAccount, uow: aio.UnitOfWork) -> None:
    account = Account.open(cmd.account_id, cmd.owner, cmd.currency, cmd.overdraft_limit)
    async with uow:
        uow.repository(Account).add(account)
        try:
            await uow.commit()
        except p.AlreadyExists:
            raise AccountAlreadyExists(f"account {cmd.account_id} already exists") from None


async def deposit(
    cmd: commands.Deposit, uow: aio.UnitOfWork, clock: Clock, retry: ConflictRetry
) -> dict[str, str]:
    return await _change_balance(
        cmd, uow, clock, retry, lambda account: account.deposit(cmd.amount)
    )


async def withdraw(
    cmd: commands.Withdraw, uow: aio.UnitOfWork, clock: Clock, retry: ConflictRetry
) -> dict[str, str]:
    return await _change_balance(
        cmd, uow, clock, retry, lambda account: account.withdraw(cmd.amount)
    )


async def _change_balance(
    cmd: commands.Deposit | commands.Withdraw,
    uow: aio.UnitOfWork,
    clock: Clock,
    retry: ConflictRetry,
    change: Callable[[Account], None],
) -> dict[str, str]:
    """One account changed once per idempotency key, retried as a whole on a conflict."""

    async def work() -> dict[str, str]:
        async with uow:
            stored = await idempotency.replay_async(uow, cmd)
            if stored is not None:
                return stored
            account = await load_account(uow, cmd.account_id)
            change(account)
            answer = to_json.balance(account)
            idempotency.remember(uow, cmd, answer, clock())
            await uow.commit()
            return answer

    return await idempotency.once_async(lambda: retry.run_async(work))


async def transfer_money(
    cmd: commands.TransferMoney,
    uow: aio.UnitOfWork,
    clock: Clock,
    retry: ConflictRetry,
    new_id: IdFactory,
) -> dict[str, str]:
    """Both accounts, the transfer and the idempotency record commit together or not at all."""
    transfer_id = new_id()  # outside the retried work: a rerun records the same transfer

    async def work() -> dict[str, str]:
        async with uow:
            stored = await idempotency.replay_async(uow, cmd)
            if stored is not None:
                return stored
            source = await load_account(uow, cmd.from_account)
            target = await load_account(uow, cmd.to_account)
            result = model.transfer(source, target, cmd.amount, transfer_id, clock())
            if result.status is TransferStatus.REJECTED:
                # As in handlers.transfer_money: a rejection must rest on the current balance.
                uow.check(
                    Account,
                    {"account_id": source.account_id},
                    p.attr("version") == source.version,
                )
            uow.repository(Transfer).add(result)
            answer = to_json.transfer(result)
            idempotency.remember(uow, cmd, answer, clock())
            await uow.commit()
            return answer

    return await idempotency.once_async(lambda: retry.run_async(work))


async def freeze_account(
    cmd: commands.FreezeAccount, uow: aio.UnitOfWork, retry: ConflictRetry
) -> None:
    async def work() -> None:
        async with uow:
            account = await load_account(uow, cmd.account_id)
            account.freeze()
            await uow.commit()

    await retry.run_async(work)


async def close_account(
    cmd: commands.CloseAccount, uow: aio.UnitOfWork, retry: ConflictRetry
) -> None:
    async def work() -> None:
        async with uow:
            account = await load_account(uow, cmd.account_id)
            account.close()
            uow.repository(Account).remove(account)  # soft delete, as in handlers.py
            await uow.commit()

    await retry.run_async(work)


# ---------------------------------------------------------------------------- events


# ---------------------------------------------------------------------------- which serves what
# handlers.py's tables, each handler that does I/O replaced by its async twin (by name), the
# others shared: one place says which handler serves which message.

_TWINS: dict[str, Callable[..., Any]] = {
    twin.__name__: twin
    for twin in (
        open_account,
        deposit,
        withdraw,
        transfer_money,
        freeze_account,
        close_account,
    )
}


def _twin(handler: Callable[..., Any]) -> Callable[..., Any]:
    return _TWINS.get(handler.__name__, handler)


EVENT_HANDLERS: dict[type, Sequence[Callable[..., Any]]] = {
    event: [_twin(h) for h in hs] for event, hs in handlers.EVENT_HANDLERS.items()
}

COMMAND_HANDLERS: dict[type, Callable[..., Any]] = {
    command: _TWINS[h.__name__] for command, h in handlers.COMMAND_HANDLERS.items()
}
