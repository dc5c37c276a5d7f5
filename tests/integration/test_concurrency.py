"""No lost update under contention: threads and processes doing versioned read-modify-write.

Each worker has its own unit of work (threads share one boto3 client, which is thread-safe;
processes each build their own client to the same moto endpoint). A stale write raises
ConcurrencyConflict and `retry_on_conflict` reruns the whole unit of work, reloading first, so
every deposit lands exactly once. Counter increments need no version and never conflict.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from persistence.backends.dynamodb.unit_of_work import DynamoDBUnitOfWork
from persistence.backends.memory.store import InMemoryStore
from persistence.backends.memory.unit_of_work import InMemoryUnitOfWork
from persistence.retry import Backoff, retry_on_conflict
from persistence.session.unit_of_work import UnitOfWork
from persistence.tables import create_table
from persistence.testing.harness import SECRET
from persistence.testing.models import ACCOUNTS, BANK, Account
from persistence.testing.moto_server import MotoServer

THREADS = 8
PROCESSES = 4
DEPOSITS = 5
INCREMENTS = 10
BACKOFF = Backoff(base=0.002, cap=0.02)
ATTEMPTS = 200  # contention among 8 writers of one item: many losers per round, none starved


def _deposit_once(uow: UnitOfWork, conflicts: list[int]) -> None:
    def work() -> None:
        with uow:
            account = uow.repository(Account).get(account_id="hot", consistent=True)
            account.deposit(Decimal(1))
            uow.commit()

    retry_on_conflict(
        work, attempts=ATTEMPTS, backoff=BACKOFF, on_retry=lambda *_: conflicts.append(1)
    )


def _worker(make_uow: Callable[[], UnitOfWork], conflicts: list[int]) -> None:
    uow = make_uow()  # one unit of work per thread
    for _ in range(DEPOSITS):
        _deposit_once(uow, conflicts)
    for _ in range(INCREMENTS):
        with uow:
            uow.increment(Account, {"account_id": "counter"}, "deposits", 1)
            uow.commit()


def _run_threads(make_uow: Callable[[], UnitOfWork]) -> tuple[Account, Account, int]:
    with make_uow() as uow:
        uow.repository(Account).add(Account("hot", "alice"))
        uow.repository(Account).add(Account("counter", "bob"))
        uow.commit()
    conflicts: list[int] = []
    start = threading.Barrier(THREADS)

    def run() -> None:
        start.wait()
        _worker(make_uow, conflicts)

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(run) for _ in range(THREADS)]:
            future.result()
    with make_uow() as uow:
        repo = uow.repository(Account)
        hot = repo.get(account_id="hot", consistent=True)
        counter = repo.get(account_id="counter", consistent=True)
    return hot, counter, len(conflicts)


def _check(hot: Account, counter: Account, writers: int) -> None:
    assert hot.balance == Decimal(writers * DEPOSITS)  # no lost update
    assert hot.deposits == writers * DEPOSITS
    assert hot.version == 1 + writers * DEPOSITS  # one bump per committed deposit
    assert counter.deposits == writers * INCREMENTS  # counters exact
    assert counter.version == 1  # counter-only commits need no version


def test_threads_on_dynamodb_lose_no_update(dynamodb_client: Any) -> None:
    create_table(dynamodb_client, BANK)

    def make() -> UnitOfWork:
        return DynamoDBUnitOfWork(dynamodb_client, [ACCOUNTS], cursor_secret=SECRET)

    hot, counter, conflicts = _run_threads(make)
    _check(hot, counter, THREADS)
    assert conflicts > 0  # the writers really raced (moto serialises requests, not commits)


def test_threads_on_memory_give_the_same_result() -> None:
    store = InMemoryStore()

    def make() -> UnitOfWork:
        return InMemoryUnitOfWork([ACCOUNTS], store=store, cursor_secret=SECRET)

    hot, counter, _ = _run_threads(make)
    _check(hot, counter, THREADS)


def _process_main(endpoint: str, start: Any, errors: Any) -> None:
    """A spawned process: its own boto3 session and client to the same moto server."""
    import boto3

    try:
        client = boto3.session.Session().client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        start.wait()
        _worker(lambda: DynamoDBUnitOfWork(client, [ACCOUNTS], cursor_secret=SECRET), [])
    except BaseException as error:  # reported to the parent, which fails the test
        errors.put(repr(error))
        raise


def test_processes_on_dynamodb_lose_no_update(moto: MotoServer) -> None:
    moto.reset()
    client = moto.client()
    create_table(client, BANK)
    uow = DynamoDBUnitOfWork(client, [ACCOUNTS], cursor_secret=SECRET)
    with uow:
        uow.repository(Account).add(Account("hot", "alice"))
        uow.repository(Account).add(Account("counter", "bob"))
        uow.commit()
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    errors = ctx.Queue()
    processes = [
        ctx.Process(target=_process_main, args=(moto.endpoint_url, start, errors))
        for _ in range(PROCESSES)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(90)
    failures = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert [p.exitcode for p in processes] == [0] * PROCESSES, failures
    with uow:
        hot = uow.repository(Account).get(account_id="hot", consistent=True)
        counter = uow.repository(Account).get(account_id="counter", consistent=True)
    _check(hot, counter, PROCESSES)
