"""persistence.aio beyond the contract suite: the message bus, commit retries with one token,
parallel scans on tasks, the same requests as the sync library, and the import guard."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

import persistence as p
from persistence import aio, errors
from persistence.backends.actions import Action
from persistence.backends.base import AsyncBackend
from persistence.backends.memory.aio_store import AsyncInMemoryBackend
from persistence.testing.models import ACCOUNTS, ALL_MAPPINGS, Account, Deposited


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def _open(store: p.InMemoryStore, *accounts: Account) -> None:
    uow = aio.InMemoryUnitOfWork(ALL_MAPPINGS, store=store)
    async with uow:
        for account in accounts:
            uow.repository(Account).add(account)
        await uow.commit()


@dataclass
class Deposit:
    account_id: str
    amount: Decimal


def test_the_bus_awaits_async_handlers_and_calls_sync_ones() -> None:
    store = p.InMemoryStore()
    uow = aio.InMemoryUnitOfWork(ALL_MAPPINGS, store=store)
    seen: list[str] = []

    async def deposit(command: Deposit) -> str:
        async with uow:
            account = await uow.repository(Account).get(account_id=command.account_id)
            account.deposit(command.amount)
            await uow.commit()
        return "done"

    async def notify(event: Deposited) -> None:
        await asyncio.sleep(0)
        seen.append(f"async {event.amount}")

    def audit(event: Deposited) -> None:
        seen.append(f"sync {event.amount}")

    def broken(event: Deposited) -> None:
        raise RuntimeError("handler bug")

    bus = aio.MessageBus(
        uow,
        event_handlers={Deposited: [notify, broken, audit]},
        command_handlers={Deposit: deposit},
    )

    async def body() -> Any:
        await _open(store, Account("a1", "alice"))
        return await bus.handle(Deposit("a1", Decimal("5")))

    assert _run(body()) == "done"
    assert seen == ["async 5", "sync 5"]
    assert (bus.handled_events, bus.failed_events) == (2, 1)


def test_the_bus_refuses_an_unknown_command() -> None:
    bus = aio.MessageBus(aio.InMemoryUnitOfWork(ALL_MAPPINGS))
    with pytest.raises(errors.ValidationError, match="no handler registered"):
        _run(bus.handle(Deposit("a1", Decimal(1))))


class FlakyCommits(AsyncInMemoryBackend):
    """Fails the first `failures` TransactWriteItems with a connection error, recording tokens."""

    def __init__(self, store: p.InMemoryStore, failures: int) -> None:
        super().__init__(store)
        self.failures = failures
        self.tokens: list[str] = []

    async def transact_write(self, actions: Sequence[Action], token: str) -> None:
        self.tokens.append(token)
        if len(self.tokens) <= self.failures:
            raise EndpointConnectionError(endpoint_url="https://dynamodb.test")
        await super().transact_write(actions, token)


def test_a_commit_is_retried_with_one_token_and_async_sleeps() -> None:
    store = p.InMemoryStore()
    backend = FlakyCommits(store, failures=2)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # an async sleep is awaited by the driver
        slept.append(seconds)

    policy = p.RetryPolicy(attempts=3, sleep=sleep)  # type: ignore[arg-type]
    uow = aio.UnitOfWork(backend, ALL_MAPPINGS, retry_policy=policy)

    async def body() -> None:
        async with uow:
            uow.repository(Account).add(Account("a1", "alice"))
            await uow.commit()

    _run(body())
    assert len(backend.tokens) == 3 and len(set(backend.tokens)) == 1
    assert len(slept) == 2
    assert p.InMemoryRepository(ACCOUNTS, store=store).get(account_id="a1").version == 1


def test_a_commit_that_fails_for_good_fails_the_block() -> None:
    backend = FlakyCommits(p.InMemoryStore(), failures=5)
    uow = aio.UnitOfWork(backend, ALL_MAPPINGS, retry_policy=p.RetryPolicy.never())

    async def body() -> None:
        async with uow:
            uow.repository(Account).add(Account("a1", "alice"))
            with pytest.raises(EndpointConnectionError):
                await uow.commit()
            assert uow.state == "failed"
            with pytest.raises(errors.UnitOfWorkStateError):
                uow.repository(Account)
        assert uow.state == "closed"

    _run(body())


def test_a_cancelled_commit_task_fails_the_block() -> None:
    class Slow(AsyncInMemoryBackend):
        async def transact_write(self, actions: Sequence[Action], token: str) -> None:
            await asyncio.sleep(3600)

    uow = aio.UnitOfWork(Slow(p.InMemoryStore()), ALL_MAPPINGS)

    async def body() -> None:
        async with uow:
            uow.repository(Account).add(Account("a1", "alice"))
            task = asyncio.create_task(uow.commit())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # It may or may not have been applied: the block must not write again.
            assert uow.state == "failed"

    _run(body())


def test_sync_with_on_an_async_unit_of_work_says_what_to_do() -> None:
    uow = aio.InMemoryUnitOfWork(ALL_MAPPINGS)
    with pytest.raises(TypeError, match="async with uow"), uow:
        pass  # pragma: no cover


def test_the_same_requests_as_the_sync_library() -> None:
    def scenario_sync(store: p.InMemoryStore) -> None:
        uow = p.InMemoryUnitOfWork(ALL_MAPPINGS, store=store, cursor_secret="s")
        with uow:
            uow.repository(Account).add(Account("a1", "alice"))
            uow.repository(Account).add(Account("a2", "alice"))
            uow.commit()
        with uow:
            repo = uow.repository(Account)
            repo.get(account_id="a1").balance += 1
            list(repo.iterate(p.attr("owner") == "alice", page_size=1))
            repo.count(p.attr("owner") == "alice")
            repo.get_many([{"account_id": "a1"}, {"account_id": "a2"}])
            uow.commit()
        standalone = p.InMemoryRepository(ACCOUNTS, store=store, cursor_secret="s")
        standalone.update(account_id="a2").add("balance", Decimal(2)).execute()
        standalone.put_many([Account("b1", "bob")])
        standalone.delete(account_id="b1")

    async def scenario_async(store: p.InMemoryStore) -> None:
        uow = aio.InMemoryUnitOfWork(ALL_MAPPINGS, store=store, cursor_secret="s")
        async with uow:
            uow.repository(Account).add(Account("a1", "alice"))
            uow.repository(Account).add(Account("a2", "alice"))
            await uow.commit()
        async with uow:
            repo = uow.repository(Account)
            (await repo.get(account_id="a1")).balance += 1
            [a async for a in repo.iterate(p.attr("owner") == "alice", page_size=1)]
            await repo.count(p.attr("owner") == "alice")
            await repo.get_many([{"account_id": "a1"}, {"account_id": "a2"}])
            await uow.commit()
        standalone = aio.InMemoryRepository(ACCOUNTS, store=store, cursor_secret="s")
        await standalone.update(account_id="a2").add("balance", Decimal(2)).execute()
        await standalone.put_many([Account("b1", "bob")])
        await standalone.delete(account_id="b1")

    sync_store, async_store = p.InMemoryStore(), p.InMemoryStore()
    scenario_sync(sync_store)
    _run(scenario_async(async_store))
    assert async_store.requests == sync_store.requests
    assert "TransactWriteItems" in sync_store.requests
    strip = {"created_at", "updated_at"}

    def stored(store: p.InMemoryStore) -> list[dict[str, Any]]:
        items = store.items(ACCOUNTS.table.name)
        return sorted(({k: v for k, v in i.items() if k not in strip} for i in items), key=repr)

    assert stored(async_store) == stored(sync_store)


def test_scan_all_reads_every_segment_on_tasks_and_stops_early() -> None:
    store = p.InMemoryStore()
    accounts = [Account(f"s{i:03d}", "scan") for i in range(60)]
    repo = aio.InMemoryRepository(ACCOUNTS, store=store)

    async def body() -> tuple[list[str], list[str]]:
        await repo.put_many(accounts)
        every = [a.account_id async for a in repo.scan_all(segments=4, workers=2, page_size=7)]
        first: list[str] = []
        async with aclosing(repo.scan_all(segments=4, page_size=5)) as scan:
            async for account in scan:
                first.append(account.account_id)
                if len(first) == 3:
                    break
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
        return every, first

    every, first = _run(body())
    assert sorted(every) == sorted(a.account_id for a in accounts)
    assert len(first) == 3


def test_scan_all_raises_the_first_error() -> None:
    class Broken(AsyncInMemoryBackend):
        async def read(self, plan: Any, **options: Any) -> Any:
            if options.get("segment") == 2:
                raise EndpointConnectionError(endpoint_url="https://dynamodb.test")
            return await super().read(plan, **options)

    repo = aio.Repository(Broken(p.InMemoryStore()), ACCOUNTS)

    async def body() -> None:
        with pytest.raises(EndpointConnectionError):
            [a async for a in repo.scan_all(segments=4)]

    _run(body())
    with pytest.raises(errors.ValidationError, match="workers"):
        repo.scan_all(segments=2, workers=0)


def test_a_unit_of_work_repository_refuses_immediate_writes() -> None:
    uow = aio.InMemoryUnitOfWork(ALL_MAPPINGS)

    async def body() -> None:
        async with uow:
            repo = uow.repository(Account)
            with pytest.raises(errors.ValidationError, match="outside this unit of work"):
                await repo.put(Account("a1", "alice"))
            with pytest.raises(errors.ValidationError, match=r"uow\.add_update"):
                await repo.update(account_id="a1").add("balance", Decimal(1)).execute()

    _run(body())


def test_dynamodb_without_the_async_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.import_module

    def missing(name: str, package: str | None = None) -> Any:
        if name.endswith("aio_backend"):
            raise ModuleNotFoundError("No module named 'aiobotocore'")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", missing)
    with pytest.raises(ImportError, match=r"persistence\[async\]"):
        aio.DynamoDBUnitOfWork(object(), ALL_MAPPINGS)
    with pytest.raises(ImportError, match=r"persistence\[async\]"):
        aio.DynamoDBRepository(object(), ACCOUNTS)


def test_the_async_memory_backend_is_an_async_backend() -> None:
    backend: AsyncBackend = AsyncInMemoryBackend(p.InMemoryStore())
    assert asyncio.iscoroutinefunction(backend.transact_write)
