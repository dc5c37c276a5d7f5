"""An idempotent command whose task is cancelled in the middle of its commit (the async
handlers, in memory): whether the transaction was applied or not, running the command again
with the same request id moves the money exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

import persistence as p
from domain_example.adapters.mappings import build_mappings
from domain_example.bootstrap import utc_now as clock
from domain_example.domain import commands
from domain_example.domain.model import Account
from domain_example.service_layer import aio_handlers
from domain_example.service_layer.retrying import ConflictRetry
from persistence import aio

MAPPINGS = build_mappings().all


class Stalls:
    """An AsyncBackend whose TransactWriteItems never answers, after applying the transaction
    (`applied=True`: the answer was lost on its way back) or before (`applied=False`: the
    request never arrived); every other call goes to `inner`."""

    def __init__(self, inner: Any, *, applied: bool) -> None:
        self.inner = inner
        self.applied = applied
        self.sent = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def transact_write(self, actions: Sequence[Any], token: str) -> None:
        if self.applied:
            await self.inner.transact_write(actions, token)
        self.sent.set()
        await asyncio.Event().wait()  # forever: only a cancellation ends it


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "not-applied"])
def test_a_cancelled_idempotent_deposit_run_again_moves_the_money_once(applied: bool) -> None:
    store = p.InMemoryStore()
    deposit = commands.Deposit("a1", Decimal("5"), request_id="req-1")
    retry = ConflictRetry(attempts=2)

    async def scenario() -> tuple[dict[str, str], Decimal]:
        await aio_handlers.open_account(
            commands.OpenAccount("a1", "ann", "EUR", Decimal(0)),
            aio.InMemoryUnitOfWork(MAPPINGS, store=store),
        )
        stalls = Stalls(aio.AsyncInMemoryBackend(store), applied=applied)
        task = asyncio.create_task(
            aio_handlers.deposit(deposit, aio.UnitOfWork(stalls, MAPPINGS), clock, retry)
        )
        await stalls.sent.wait()  # the commit is in flight
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The caller cannot know whether it was applied: it runs the command again.
        uow = aio.InMemoryUnitOfWork(MAPPINGS, store=store)
        answer = await aio_handlers.deposit(deposit, uow, clock, retry)
        again = await aio_handlers.deposit(deposit, uow, clock, retry)
        assert again == answer
        async with uow:
            account = await uow.repository(Account).get(account_id="a1")
        return answer, account.balance

    answer, balance = asyncio.run(scenario())
    assert balance == Decimal("5")
    assert answer["balance"] == "5"
    assert retry.conflicts == 0  # a cancellation is not a conflict: nothing retried it


def test_a_cancelled_commit_is_not_retried_by_the_library() -> None:
    """The commit's retries (one ClientRequestToken) are for throttling and server errors; a
    cancellation goes straight out of `await uow.commit()`: one TransactWriteItems sent."""
    store = p.InMemoryStore()
    sent: list[str] = []

    class Counting(Stalls):
        async def transact_write(self, actions: Sequence[Any], token: str) -> None:
            sent.append(token)
            await super().transact_write(actions, token)

    async def scenario() -> None:
        backend = Counting(aio.AsyncInMemoryBackend(store), applied=True)
        uow = aio.UnitOfWork(backend, MAPPINGS)

        async def work() -> None:
            async with uow:
                uow.repository(Account).add(Account.open("a2", "ann", "EUR", Decimal(0)))
                await uow.commit()

        task = asyncio.create_task(work())
        await backend.sent.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert len(sent) == 1
