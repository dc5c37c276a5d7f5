"""Promises under faults: retries that apply a commit once, nothing partial, nothing lost.

Every scenario runs on both backends: the in-memory store behind `FaultyBackend`, and moto over
real HTTP with faults injected through botocore's event hooks (`persistence.testing.faults`).
botocore's own retries are off on the faulty client (total_max_attempts=1) so that the unit of
work's retry loop is what is under test; `test_botocore_retries_resend_the_same_token` covers the
two layers together.

What moto can and cannot prove: moto ignores ClientRequestToken, so a request that was applied
and then resent would be applied twice there. On DynamoDB the tests therefore prove (1) every
attempt of one commit carried the same token and (2) when the replayed token is answered the way
DynamoDB documents (an empty success, emulated by the injector), the library reports success
instead of turning the lost response into a false AlreadyExists/ConcurrencyConflict. That
DynamoDB does not apply the replay again is AWS's documented behaviour; the in-memory store
implements it, and there the tests prove the counter moved exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from persistence import errors
from persistence.backends.dynamodb.backend import DynamoDBBackend
from persistence.backends.memory.store import InMemoryStore
from persistence.lambda_runtime import Deadline
from persistence.messaging.outbox import Outbox
from persistence.repository import Repository
from persistence.retry import Backoff, RetryPolicy, retry_on_conflict
from persistence.session.unit_of_work import UnitOfWork
from persistence.tables import create_table
from persistence.testing import faults
from persistence.testing.faults import FaultPlan, FaultyBackend
from persistence.testing.harness import SECRET
from persistence.testing.models import ACCOUNTS, ALL_MAPPINGS, ALL_TABLES, BANK, Account, Deposited
from persistence.testing.moto_server import MotoServer

TWI = "TransactWriteItems"
FAST = RetryPolicy(attempts=4, base=0.001, cap=0.004)


class Env:
    """One backend with a fault plan: `uow()` meets the faults, `clean()` does not."""

    name: str
    plan: FaultPlan
    faulty_backend: Any
    clean_backend: Any

    def uow(self, outbox: Outbox | None = None, policy: RetryPolicy = FAST) -> UnitOfWork:
        uow = UnitOfWork(self.faulty_backend, ALL_MAPPINGS, cursor_secret=SECRET, outbox=outbox)
        uow.retry_policy = policy
        return uow

    def clean(self, outbox: Outbox | None = None) -> UnitOfWork:
        return UnitOfWork(self.clean_backend, ALL_MAPPINGS, cursor_secret=SECRET, outbox=outbox)

    def repo(self, attempts: int = 4) -> Repository[Account]:
        backoff = Backoff(attempts=attempts, base=0.001, cap=0.004)
        return Repository(self.faulty_backend, ACCOUNTS, cursor_secret=SECRET, backoff=backoff)

    def stored(self, account_id: str) -> Account | None:
        with self.clean() as uow:
            found: Account | None = uow.repository(Account).find_one(
                _id_is(account_id), consistent=True
            )
            return found

    def open(self, *accounts: Account) -> None:
        with self.clean() as uow:
            for account in accounts:
                uow.repository(Account).add(account)
            uow.commit()

    def all_ids(self) -> set[str]:
        with self.clean() as uow:
            return {a.account_id for a in uow.repository(Account).iterate(None, consistent=True)}


def _id_is(account_id: str) -> Any:
    from persistence import attr

    return attr("account_id") == account_id


@pytest.fixture(params=["memory", "dynamodb"])
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    e = Env()
    e.name = request.param
    e.plan = FaultPlan()
    if request.param == "memory":
        store = InMemoryStore()
        e.faulty_backend = FaultyBackend(store, e.plan)
        e.clean_backend = store
        yield e
        return
    moto: MotoServer = request.getfixturevalue("moto")
    moto.reset()
    clean = moto.client()
    for table in ALL_TABLES:
        create_table(clean, table)
    faulty = moto.client(retries={"total_max_attempts": 1, "mode": "standard"})
    injector = faults.inject(faulty, e.plan, emulate_idempotency=True)
    e.faulty_backend = DynamoDBBackend(faulty)
    e.clean_backend = DynamoDBBackend(clean)
    yield e
    injector.remove()


def _deposit(uow: UnitOfWork, account_id: str, amount: str = "10") -> Account:
    with uow:
        account = uow.repository(Account).get(account_id=account_id, consistent=True)
        account.deposit(Decimal(amount))
        uow.commit()
        return account


# ---------------------------------------------------------------------------------- retries


@pytest.mark.parametrize(
    "fault",
    [
        faults.throttle(TWI, 2, "ProvisionedThroughputExceededException"),
        faults.throttle(TWI, 2, "ThrottlingException"),
        faults.throttle(TWI, 2, "RequestLimitExceeded"),
        faults.server_error(TWI, 2),
        faults.server_error(TWI, 2, "ServiceUnavailable", 503),
        faults.connection_error(TWI, 2),
        faults.cancel(["TransactionConflict"], 2),
        faults.cancel(["None", "ThrottlingError"], 2),
    ],
    ids=lambda f: f"{f.kind}-{f.code}-{'-'.join(f.reasons)}",
)
def test_transient_failures_are_retried_with_one_token_and_applied_once(
    env: Env, fault: faults.Fault
) -> None:
    env.open(Account("a1", "alice"))
    env.plan.add(faults.Fault(**{**fault.__dict__, "fired": 0}))
    uow = env.uow()
    account = _deposit(uow, "a1")
    assert env.plan.exhausted()
    assert len(env.plan.tokens) == 3 and len(set(env.plan.tokens)) == 1
    stored = env.stored("a1")
    assert stored is not None
    assert (stored.balance, stored.deposits, stored.version) == (Decimal(10), 1, 2)
    assert account.version == 2
    assert list(uow.collect_new_events()) == [Deposited("a1", Decimal(10))]


def test_lost_response_of_an_increment_is_applied_once(env: Env) -> None:
    env.open(Account("a1", "alice"))
    env.plan.add(faults.lost_response(TWI))
    uow = env.uow()
    with uow:
        uow.increment(Account, {"account_id": "a1"}, "deposits", 1)
        uow.commit()  # no false error: the replayed token is answered with success
    stored = env.stored("a1")
    assert stored is not None and stored.deposits == 1
    assert len(env.plan.tokens) == 2 and len(set(env.plan.tokens)) == 1
    if env.name == "memory":
        # The store implements ClientRequestToken: it saw both sends and applied one.
        assert env.clean_backend.requests.count(TWI) >= 3  # open + two attempts


def test_lost_response_of_an_add_and_of_a_versioned_update_is_not_a_false_error(env: Env) -> None:
    env.plan.add(faults.lost_response(TWI, times=2))
    uow = env.uow()
    with uow:
        uow.repository(Account).add(Account("a1", "alice"))
        uow.commit()  # the replay would be AlreadyExists without the token
    _deposit(uow, "a1")  # ... and ConcurrencyConflict here
    stored = env.stored("a1")
    assert stored is not None and (stored.balance, stored.version) == (Decimal(10), 2)
    assert len(env.plan.tokens) == 4 and len(set(env.plan.tokens)) == 2


def test_retries_stop_at_the_policy_limit_and_nothing_is_written(env: Env) -> None:
    env.open(Account("a1", "alice"), Account("a2", "bob"))
    env.plan.add(faults.throttle(TWI, times=100))
    uow = env.uow()
    with uow:
        repo = uow.repository(Account)
        a1, a2 = repo.get(account_id="a1"), repo.get(account_id="a2")
        a1.deposit(Decimal(5))
        a2.deposit(Decimal(7))
        repo.add(Account("a3", "carol"))
        with pytest.raises(ClientError) as raised:
            uow.commit()
        assert raised.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        assert a1.version == 1  # the objects did not take the failed commit's values
    assert list(uow.collect_new_events()) == []
    assert len(env.plan.tokens) == FAST.attempts and len(set(env.plan.tokens)) == 1
    assert env.all_ids() == {"a1", "a2"}
    for account_id in ("a1", "a2"):
        stored = env.stored(account_id)
        assert stored is not None and (stored.balance, stored.version) == (Decimal(0), 1)


def test_a_genuine_conflict_is_not_retried_and_surfaces(env: Env) -> None:
    env.open(Account("a1", "alice"))
    uow, other = env.uow(), env.clean()
    with uow:
        mine = uow.repository(Account).get(account_id="a1", consistent=True)
        _deposit(other, "a1", "1")
        mine.deposit(Decimal(100))
        with pytest.raises(errors.ConcurrencyConflict):
            uow.commit()
    assert env.plan.count(TWI) == 1  # a stale version is never re-sent
    assert list(uow.collect_new_events()) == []
    stored = env.stored("a1")
    assert stored is not None and stored.balance == Decimal(1)


def test_a_cancellation_with_a_failed_condition_is_not_retried(env: Env) -> None:
    env.open(Account("a1", "alice"))
    env.plan.add(faults.cancel(["TransactionConflict", "ConditionalCheckFailed"], times=5))
    uow = env.uow()
    with uow:
        uow.repository(Account).get(account_id="a1").deposit(Decimal(1))
        uow.repository(Account).add(Account("a2", "bob"))
        with pytest.raises(errors.PersistenceError):
            uow.commit()
    assert env.plan.count(TWI) == 1
    assert env.all_ids() == {"a1"}


def test_conflicts_that_outlast_the_policy_raise_a_retryable_error_then_retry_on_conflict(
    env: Env,
) -> None:
    env.open(Account("a1", "alice"))
    env.plan.add(faults.cancel(["TransactionConflict"], times=FAST.attempts))
    uow = env.uow()
    with pytest.raises(errors.TransactionCanceled) as raised:
        _deposit(uow, "a1")
    assert raised.value.retryable
    stored = env.stored("a1")
    assert stored is not None and stored.balance == 0  # nothing partial
    # retry_on_conflict reruns the whole unit of work (reload, change, commit).
    env.plan.add(faults.cancel(["TransactionConflict"], times=FAST.attempts))
    retries: list[int] = []
    retry_on_conflict(
        lambda: _deposit(uow, "a1"),
        attempts=3,
        backoff=Backoff(base=0.001, cap=0.002),
        on_retry=lambda n, _: retries.append(n),
    )
    assert retries == [1]
    stored = env.stored("a1")
    assert stored is not None and (stored.balance, stored.deposits) == (Decimal(10), 1)


def test_no_retry_past_the_deadline(env: Env) -> None:
    env.open(Account("a1", "alice"))
    env.plan.add(faults.throttle(TWI, times=10))
    slept: list[float] = []
    policy = RetryPolicy(attempts=10, base=0.001, deadline=lambda: 0.0, sleep=slept.append)
    with pytest.raises(ClientError):
        _deposit(env.uow(policy=policy), "a1")
    assert env.plan.count(TWI) == 1 and slept == []
    # A Lambda deadline with time left lets the retries run.
    env.plan.add(faults.throttle(TWI, times=2))
    env.plan.faults[0].fired = env.plan.faults[0].times  # the first plan is used up
    roomy = RetryPolicy(attempts=4, base=0.001, deadline=Deadline.after(60.0))
    _deposit(env.uow(policy=roomy), "a1")
    stored = env.stored("a1")
    assert stored is not None and stored.deposits == 1


def test_counters_stay_exact_through_faults(env: Env) -> None:
    env.open(Account("a1", "alice"))
    env.plan.add(
        faults.lost_response(TWI, times=3),
        faults.throttle(TWI, times=3),
        faults.cancel(["TransactionConflict"], times=3),
    )
    uow = env.uow(policy=RetryPolicy(attempts=10, base=0.001, cap=0.002))
    for _ in range(12):
        with uow:
            uow.increment(Account, {"account_id": "a1"}, "deposits", 1)
            uow.commit()
    assert env.plan.exhausted()
    stored = env.stored("a1")
    assert stored is not None and stored.deposits == 12


# ---------------------------------------------------------------------------------- batches


def _accounts(n: int) -> list[Account]:
    return [Account(f"b{i:03d}", "batch") for i in range(n)]


def test_every_batch_item_is_eventually_written(env: Env) -> None:
    env.plan.add(faults.unprocessed(times=3, keep=10))
    env.repo().put_many(_accounts(60))
    assert env.plan.exhausted()
    assert env.all_ids() == {a.account_id for a in _accounts(60)}


def test_a_batch_item_never_written_is_reported(env: Env) -> None:
    env.plan.add(faults.unprocessed(times=1000, keep=7))
    accounts = _accounts(60)
    with pytest.raises(errors.BatchIncomplete) as raised:
        env.repo(attempts=3).put_many(accounts)
    reported = {a.account_id for a in raised.value.unprocessed}
    written = env.all_ids()
    assert written.isdisjoint(reported)
    assert written | reported == {a.account_id for a in accounts}
    assert len(written) == 21  # the first chunk of 25: 7 per attempt, 3 attempts


# ---------------------------------------------------------------------------------- events


def test_events_of_a_failed_commit_are_not_published_and_no_outbox_record_is_left(
    env: Env,
) -> None:
    outbox = Outbox(BANK, event_types=[Deposited])
    env.open(Account("a1", "alice"))
    env.plan.add(faults.throttle(TWI, times=100))
    uow = env.uow(outbox=outbox)
    with pytest.raises(ClientError):
        _deposit(uow, "a1")
    assert list(uow.collect_new_events()) == []
    published: list[Any] = []
    assert outbox.relay(env.clean_backend, published.append).run_once() == 0


def test_outbox_events_of_a_commit_whose_answer_was_lost_are_relayed_exactly_once(
    env: Env,
) -> None:
    outbox = Outbox(BANK, event_types=[Deposited])
    env.open(Account("a1", "alice"))
    env.plan.add(faults.lost_response(TWI))
    uow = env.uow(outbox=outbox)
    _deposit(uow, "a1", "3")
    assert list(uow.collect_new_events()) == [Deposited("a1", Decimal(3))]
    published: list[Any] = []
    relay = outbox.relay(env.clean_backend, published.append)
    assert relay.run_once() == 1
    assert relay.run_once() == 0
    assert published == [Deposited("a1", Decimal(3))]


# ---------------------------------------------------------------------------------- botocore


def test_botocore_retries_resend_the_same_token(moto: MotoServer) -> None:
    """With botocore's own retries on, a lost response is resent by botocore with the same
    body, token included (and by moto applied again: it ignores tokens, so the add is made
    idempotent here by the injector's replay answer, as DynamoDB would)."""
    moto.reset()
    client = moto.client(retries={"total_max_attempts": 3, "mode": "standard"})
    for table in ALL_TABLES:
        create_table(client, table)
    plan = FaultPlan(faults.lost_response(TWI))
    with faults.inject(client, plan, emulate_idempotency=True):
        uow = UnitOfWork(DynamoDBBackend(client), ALL_MAPPINGS, cursor_secret=SECRET)
        uow.retry_policy = RetryPolicy.never()
        with uow:
            uow.repository(Account).add(Account("a1", "alice"))
            uow.commit()
    assert len(plan.tokens) == 2 and len(set(plan.tokens)) == 1


def test_memory_faults_raise_what_botocore_raises() -> None:
    store = InMemoryStore()
    plan = FaultPlan(faults.connection_error("GetItem"), faults.lost_response("GetItem"))
    backend = FaultyBackend(store, plan)
    key = {"pk": {"S": "x"}, "sk": {"S": "y"}}
    backend.register(BANK)
    with pytest.raises(EndpointConnectionError):
        backend.get_item(BANK.name, key, True)
    with pytest.raises(ConnectionClosedError):
        backend.get_item(BANK.name, key, True)
    assert backend.get_item(BANK.name, key, True) is None
