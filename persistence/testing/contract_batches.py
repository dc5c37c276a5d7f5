"""Batches report exactly what they did not do, on every backend.

`put_many`, `delete_many` and `get_many` retry unprocessed requests and transient failures
(throttling, 5xx, connection errors that outlast botocore's own retries) with the repository's
backoff; what is still not done after the last attempt raises `BatchIncomplete`, whose
`unprocessed` lists exactly the caller's objects not written (or not read): written and listed
are together the whole input and never overlap. The faults are injected with
`persistence.testing.faults` (botocore event hooks on DynamoDB, `FaultyBackend` on the store).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from .. import errors
from ..aio.repository import Repository as AsyncRepository
from ..backends.dynamodb.backend import DynamoDBBackend
from ..runtime.retry import Backoff
from ..session.repository import Repository
from . import faults
from .faults import Fault, FaultPlan, FaultyBackend
from .harness import SECRET, DynamoDBHarness, Harness, MemoryHarness
from .harness_aio import AsyncHarness
from .models import ACCOUNTS, Account

BWI = "BatchWriteItem"
BGI = "BatchGetItem"
ATTEMPTS = 3


class Faulty:
    """A repository of accounts whose requests meet `plan`; `sleeps` records the backoff."""

    def __init__(self, repo: Repository[Account], plan: FaultPlan, sleeps: list[float]) -> None:
        self.repo, self.plan, self.sleeps = repo, plan, sleeps


@contextmanager
def faulty(h: Harness, *planned: Fault, attempts: int = ATTEMPTS) -> Iterator[Faulty]:
    """A `Faulty` repository on the harness's backend for the `with` block."""
    plan = FaultPlan(*planned)
    sleeps: list[float] = []
    backoff = Backoff(attempts=attempts, sleep=sleeps.append)
    if isinstance(h, MemoryHarness):
        backend: Any = FaultyBackend(h.store, plan)
        yield Faulty(
            Repository(backend, ACCOUNTS, cursor_secret=SECRET, backoff=backoff), plan, sleeps
        )
        return
    if isinstance(h, AsyncHarness):
        with h.faulty(plan) as async_backend:
            if async_backend is None:
                pytest.skip(f"no fault injection for the {h.name} harness")
            aio_repo = AsyncRepository(
                async_backend, ACCOUNTS, cursor_secret=SECRET, backoff=backoff
            )
            yield Faulty(h.blocking(aio_repo), plan, sleeps)
        return
    if not isinstance(h, DynamoDBHarness):
        pytest.skip("fault injection needs a MemoryHarness or a DynamoDBHarness")
    injector = faults.inject(h.client, plan)
    try:
        repo = Repository(
            DynamoDBBackend(h.client), ACCOUNTS, cursor_secret=SECRET, backoff=backoff
        )
        yield Faulty(repo, plan, sleeps)
    finally:
        injector.remove()


def _accounts(n: int) -> list[Account]:
    return [Account(f"b{i:03d}", "batch") for i in range(n)]


def _ids(accounts: list[Any]) -> set[str]:
    return {a.account_id if isinstance(a, Account) else a["account_id"] for a in accounts}


def _stored(h: Harness) -> set[str]:
    return {a.account_id for a in h.repository(ACCOUNTS).iterate(None, consistent=True)}


def _same(listed: list[Any], expected: list[Any]) -> bool:
    """The very objects the caller passed, in order."""
    return len(listed) == len(expected) and all(
        a is b for a, b in zip(listed, expected, strict=True)
    )


PERSISTENT = [
    faults.connection_error(BWI, times=1000, after=1),
    faults.server_error(BWI, times=1000, after=1),
    faults.server_error(BWI, times=1000, code="ServiceUnavailable", status=503, after=1),
    faults.throttle(BWI, times=1000, after=1),
    faults.throttle(BWI, times=1000, code="ThrottlingException", after=1),
]


def _fault_id(fault: Fault) -> str:
    return f"{fault.kind}-{fault.code}" if fault.kind != "connection_error" else fault.kind


def _fresh(fault: Fault) -> Fault:
    return Fault(
        fault.operation, fault.kind, fault.times, fault.code, fault.status, after=fault.after
    )


class BatchContract:
    """put_many, delete_many and get_many report exactly what they did not do (BatchIncomplete)."""

    # ------------------------------------------------------------ put_many

    @pytest.mark.parametrize("fault", PERSISTENT, ids=_fault_id)
    def test_put_many_reports_exactly_the_items_a_persistent_failure_kept_out(
        self, harness: Harness, fault: Fault
    ) -> None:
        batch = _accounts(60)
        with faulty(harness, _fresh(fault)) as f, pytest.raises(errors.BatchIncomplete) as raised:
            f.repo.put_many(batch)
        listed = raised.value.unprocessed
        assert _same(listed, batch[25:])  # chunk 2 and chunk 3, as the caller's objects
        written = _stored(harness)
        assert written == _ids(batch[:25])
        assert written.isdisjoint(_ids(listed)) and written | _ids(listed) == _ids(batch)
        # chunk 1 once, then chunk 2 until the backoff gave up; chunk 3 was never sent
        assert f.plan.count(BWI) == 1 + ATTEMPTS and len(f.sleeps) == ATTEMPTS - 1
        cause = raised.value.__cause__
        if fault.kind == "connection_error":
            assert isinstance(cause, EndpointConnectionError)
        else:
            assert isinstance(cause, ClientError)
            assert cause.response["Error"]["Code"] == fault.code
        assert batch[0].version == 1 and batch[25].version == 0  # only the written changed

    @pytest.mark.parametrize("fault", PERSISTENT, ids=_fault_id)
    def test_put_many_rides_out_transient_failures(self, harness: Harness, fault: Fault) -> None:
        passing = _fresh(fault)
        passing.times = ATTEMPTS - 1
        batch = _accounts(60)
        with faulty(harness, passing) as f:
            f.repo.put_many(batch)
        assert _stored(harness) == _ids(batch)
        assert f.plan.count(BWI) == 3 + ATTEMPTS - 1 and f.plan.exhausted()

    def test_unprocessed_then_failing_requests_are_all_listed(self, harness: Harness) -> None:
        batch = _accounts(60)
        with (
            faulty(
                harness,
                faults.unprocessed(BWI, times=1, keep=10, after=1),
                faults.throttle(BWI, times=1000, after=1),
            ) as f,
            pytest.raises(errors.BatchIncomplete) as raised,
        ):
            f.repo.put_many(batch)
        # chunk 2 wrote 10 of its 25, then stayed throttled: its 15 others and chunk 3 are listed
        assert _same(raised.value.unprocessed, batch[35:])
        assert _stored(harness) == _ids(batch[:35])

    def test_a_final_error_is_not_retried(self, harness: Harness) -> None:
        def missing(after: int = 0) -> Fault:
            return faults.server_error(BWI, 1000, "ResourceNotFoundException", 400, after=after)

        batch = _accounts(60)
        # nothing written yet: the AWS error as it is
        with faulty(harness, missing()) as f, pytest.raises(ClientError) as raised:
            f.repo.put_many(batch)
        assert not isinstance(raised.value, errors.PersistenceError)
        assert f.plan.count(BWI) == 1 and _stored(harness) == set()
        # part of the batch written: what is left is listed
        with (
            faulty(harness, missing(after=1)) as f,
            pytest.raises(errors.BatchIncomplete) as incomplete,
        ):
            f.repo.put_many(batch)
        assert _same(incomplete.value.unprocessed, batch[25:])
        assert isinstance(incomplete.value.__cause__, ClientError)
        assert f.plan.count(BWI) == 2 and _stored(harness) == _ids(batch[:25])

    # ------------------------------------------------------------ delete_many

    def test_delete_many_reports_exactly_the_keys_not_deleted(self, harness: Harness) -> None:
        harness.repository(ACCOUNTS).put_many(_accounts(60))
        keys = [{"account_id": a.account_id} for a in _accounts(60)]
        with (
            faulty(harness, faults.connection_error(BWI, times=1000, after=1)) as f,
            pytest.raises(errors.BatchIncomplete) as raised,
        ):
            f.repo.delete_many(keys)
        listed = raised.value.unprocessed
        assert _same(listed, keys[25:])  # the key dicts given
        assert _stored(harness) == _ids(listed)
        assert isinstance(raised.value.__cause__, EndpointConnectionError)
        assert f.plan.count(BWI) == 1 + ATTEMPTS

    # ------------------------------------------------------------ get_many

    def test_get_many_retries_unprocessed_keys_and_keeps_the_order(self, harness: Harness) -> None:
        batch = _accounts(150)
        harness.repository(ACCOUNTS).put_many(batch)
        keys = [{"account_id": a.account_id} for a in reversed(batch)]
        with faulty(harness, faults.unprocessed(BGI, times=2, keep=30), attempts=4) as f:
            got = f.repo.get_many(keys)
        assert [a.account_id for a in got] == [k["account_id"] for k in keys]
        assert f.plan.count(BGI) == 4 and f.plan.exhausted()

    def test_get_many_reports_the_keys_still_unprocessed(self, harness: Harness) -> None:
        batch = _accounts(150)
        harness.repository(ACCOUNTS).put_many(batch)
        keys = [{"account_id": a.account_id} for a in batch]
        with (
            faulty(harness, faults.unprocessed(BGI, times=1000, keep=30)) as f,
            pytest.raises(errors.BatchIncomplete) as raised,
        ):
            f.repo.get_many(keys)
        # 30 keys served per call: 10 of the first 100 were never read, nor the next 50
        assert _same(raised.value.unprocessed, keys[90:])
        assert f.plan.count(BGI) == ATTEMPTS

    def test_get_many_reports_the_keys_a_persistent_failure_kept_out(
        self, harness: Harness
    ) -> None:
        batch = _accounts(150)
        harness.repository(ACCOUNTS).put_many(batch)
        keys = [{"account_id": a.account_id} for a in batch]
        with (
            faulty(harness, faults.throttle(BGI, times=1000, after=1)) as f,
            pytest.raises(errors.BatchIncomplete) as raised,
        ):
            f.repo.get_many(keys)
        assert _same(raised.value.unprocessed, keys[100:])
        assert isinstance(raised.value.__cause__, ClientError)
        assert f.plan.count(BGI) == 1 + ATTEMPTS and len(f.sleeps) == ATTEMPTS - 1
        with faulty(harness, faults.server_error(BGI, times=ATTEMPTS - 1)) as f:
            assert len(f.repo.get_many(keys)) == 150  # a passing failure is ridden out
