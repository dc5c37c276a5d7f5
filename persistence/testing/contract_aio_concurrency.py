"""Concurrency on `persistence.aio`: many asyncio tasks on one event loop, each with its own unit
of work over the same backend, must keep counters and versioned money exact.

Written against `AsyncHarness`, so any `AsyncBackend` runs it: `tests/unit/test_aio_concurrency.py`
on the async in-memory store, the DynamoDB async run by adding `AsyncConcurrencyContract` to its
test class. The in-memory backend yields to the loop at every request, so the tasks interleave
between their reads and their commits as they would on the network.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from .. import errors
from ..aio.retry import retry_on_conflict
from ..runtime.retry import Backoff
from .harness_aio import AsyncHarness
from .models import Account

TASKS = 16
ROUNDS = 10


def _no_wait(seconds: float) -> None:
    """Retries here need no backoff: the loop already interleaves the tasks."""


class AsyncConcurrencyContract:
    """Counters and versioned transfers stay exact under concurrent asyncio tasks."""

    def _open(self, harness: AsyncHarness, *accounts: Account) -> None:
        async def body() -> None:
            uow = harness.async_uow()
            async with uow:
                for account in accounts:
                    uow.repository(Account).add(account)
                await uow.commit()

        harness.run(body)

    def _stored(self, harness: AsyncHarness, *ids: str) -> list[Account]:
        async def body() -> list[Account]:
            uow = harness.async_uow()
            async with uow:
                repo = uow.repository(Account)
                return [await repo.get(account_id=i, consistent=True) for i in ids]

        return harness.run(body)

    def test_counters_are_exact_with_concurrent_tasks(self, harness: AsyncHarness) -> None:
        self._open(harness, Account("a1", "alice"))

        async def loader() -> None:
            uow = harness.async_uow()
            for _ in range(ROUNDS):
                async with uow:
                    account = await uow.repository(Account).get(account_id="a1")
                    account.deposits += 1
                    await uow.commit()

        async def incrementer() -> None:
            uow = harness.async_uow()
            for _ in range(ROUNDS):
                async with uow:
                    uow.increment(Account, {"account_id": "a1"}, "deposits", 2)
                    await uow.commit()

        async def body() -> None:
            half = TASKS // 2
            await asyncio.gather(
                *(loader() for _ in range(half)), *(incrementer() for _ in range(half))
            )

        harness.run(body)
        (stored,) = self._stored(harness, "a1")
        assert stored.deposits == (TASKS // 2) * ROUNDS * (1 + 2)
        assert stored.version == 1  # counter-only changes never bump (nor check) the version

    def test_versioned_transfers_keep_the_total_exact(self, harness: AsyncHarness) -> None:
        ids = [f"t{i}" for i in range(4)]
        self._open(harness, *(Account(i, "bank", balance=Decimal(100)) for i in ids))
        conflicts: list[Exception] = []
        backoff = Backoff(attempts=200, sleep=_no_wait)

        async def transfer(source: str, target: str, amount: Decimal) -> None:
            uow = harness.async_uow()

            async def attempt() -> None:
                async with uow:
                    repo = uow.repository(Account)
                    a = await repo.get(account_id=source)
                    b = await repo.get(account_id=target)
                    a.balance -= amount
                    b.balance += amount
                    await uow.commit()

            await retry_on_conflict(
                attempt,
                attempts=backoff.attempts,
                backoff=backoff,
                on_retry=lambda _, exc: conflicts.append(exc),
            )

        # Every ordered pair of distinct accounts, twice, in an order that crosses them.
        moves = [
            (ids[n % 4], ids[(n + 1 + n // 4) % 4], Decimal(n + 1))
            for n in range(TASKS * 2)
            if n // 4 % 4 != 3
        ]

        async def body() -> None:
            await asyncio.gather(*(transfer(s, t, amount) for s, t, amount in moves))

        harness.run(body)
        stored = self._stored(harness, *ids)
        assert sum(a.balance for a in stored) == Decimal(400)
        # Every transfer committed exactly once: each account's version counts its commits.
        for account in stored:
            expected = Decimal(100)
            touched = 0
            for source, target, amount in moves:
                if account.account_id == source:
                    expected -= amount
                    touched += 1
                if account.account_id == target:
                    expected += amount
                    touched += 1
            assert account.balance == expected
            assert account.version == 1 + touched
        assert conflicts, "the tasks never raced: the test would prove nothing"
        retried = (errors.ConcurrencyConflict, errors.TransactionCanceled)
        assert all(isinstance(c, retried) for c in conflicts)

    def test_tasks_really_interleave_and_conflict(self, harness: AsyncHarness) -> None:
        """Two tasks read the same version before either commits: exactly one wins."""
        self._open(harness, Account("a1", "alice", balance=Decimal(10)))
        readers: list[int] = []

        async def withdraw(both_read: asyncio.Event) -> str:
            uow = harness.async_uow()
            async with uow:
                account = await uow.repository(Account).get(account_id="a1")
                readers.append(account.version)
                if len(readers) == 2:
                    both_read.set()
                await both_read.wait()
                account.balance -= Decimal(10)
                try:
                    await uow.commit()
                except errors.ConcurrencyConflict:
                    return "conflict"
                return "committed"

        async def body() -> list[str]:
            both_read = asyncio.Event()
            return list(await asyncio.gather(withdraw(both_read), withdraw(both_read)))

        outcomes = harness.run(body)
        assert sorted(outcomes) == ["committed", "conflict"]
        assert readers == [1, 1]
        (stored,) = self._stored(harness, "a1")
        assert stored.balance == Decimal(0)
        assert stored.version == 2
