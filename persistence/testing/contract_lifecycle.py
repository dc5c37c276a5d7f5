"""The unit of work's lifecycle, on every backend: open -> committed / failed -> closed.

- open: inside `with uow:`; reads, changes, `commit()`.
- committed: a commit succeeded; the block stays usable, a later commit writes what changed
  since (with its events), and a commit with nothing changed sends nothing.
- failed: a commit raised after the unit of work started sending (a cancellation, a stale
  version, a throttle or network error that outlasted the retries). Its events are dropped, so
  nothing of that block may be written any more: every use raises `UnitOfWorkStateError` until
  the block ends. Errors raised while planning, before any request (ValidationError,
  TransactionTooLarge), write nothing and drain nothing: the block stays open.
- closed: outside a block (before the first, after the last); only `collect_new_events()`.

The promise under all of it: no path stores an aggregate's change without the events it raised
(and, with an outbox, their outbox records in the same transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest

from .. import errors
from ..aio.unit_of_work import UnitOfWork as AsyncUnitOfWork
from ..messaging.bus import MessageBus
from ..messaging.outbox import Outbox
from ..query.specification import attr
from ..runtime.retry import RetryPolicy
from ..session.unit_of_work import UnitOfWork
from . import faults
from .faults import FaultPlan, FaultyBackend
from .harness import SECRET, DynamoDBHarness, Harness, MemoryHarness
from .harness_aio import AsyncHarness
from .models import BANK, Account, Deposited

StateError = errors.UnitOfWorkStateError


def _outbox() -> Outbox:
    return Outbox(BANK, event_types=[Deposited])


def _open(h: Harness, *accounts: Account) -> None:
    uow = h.uow()
    with uow:
        for a in accounts:
            uow.repository(Account).add(a)
        uow.commit()


def _stored(h: Harness, account_id: str) -> Account:
    uow = h.uow()
    with uow:
        return uow.repository(Account).get(account_id=account_id, consistent=True)


def _relayed(h: Harness, outbox: Outbox) -> list[Any]:
    """Every event the outbox holds (published and marked done by this call)."""
    published: list[Any] = []
    outbox.relay(h.uow().backend, published.append).run_once(limit=1000)
    return published


@contextmanager
def _faulty(h: Harness, plan: FaultPlan, outbox: Outbox | None = None) -> Iterator[UnitOfWork]:
    """A unit of work over the harness's data whose requests meet `plan`'s faults; one attempt
    per commit, so a retryable failure reaches the caller at once."""
    if isinstance(h, MemoryHarness):
        backend = FaultyBackend(h.store, plan)
        uow = UnitOfWork(backend, h.mappings, cursor_secret=SECRET, outbox=outbox)
        uow.retry_policy = RetryPolicy.never()
        yield uow
    elif isinstance(h, DynamoDBHarness):
        with faults.inject(h.client, plan):
            uow = h.uow(outbox=outbox)
            uow.retry_policy = RetryPolicy.never()
            yield uow
    elif isinstance(h, AsyncHarness):
        with h.faulty(plan) as async_backend:
            if async_backend is None:
                pytest.skip(f"no fault injection for the {h.name} harness")
            aio_uow = AsyncUnitOfWork(
                async_backend, h.mappings, cursor_secret=SECRET, outbox=outbox
            )
            aio_uow.retry_policy = RetryPolicy.never()
            yield h.blocking(aio_uow)
    else:
        pytest.skip(f"no fault injection for the {h.name} harness")


def _state(uow: UnitOfWork) -> str:
    # A plain str: mypy would otherwise narrow the property across the calls that change it.
    return uow.state


def _refused(call: Callable[[], object], state: str) -> StateError:
    with pytest.raises(StateError) as raised:
        call()
    assert raised.value.state == state
    assert "with uow:" in str(raised.value)  # the message names the remedy
    return raised.value


# Failures that happen while sending, each of which leaves the block failed. The network faults
# fire more often than botocore's own retries on the harness client can absorb.
SEND_FAILURES = [
    pytest.param(lambda: faults.cancel(["TransactionConflict"]), id="cancel-retryable"),
    pytest.param(lambda: faults.cancel(["ValidationError"]), id="cancel-final"),
    pytest.param(lambda: faults.throttle("TransactWriteItems", times=10), id="throttle"),
    pytest.param(lambda: faults.server_error("TransactWriteItems", times=10), id="5xx"),
    pytest.param(lambda: faults.connection_error("TransactWriteItems", times=10), id="network"),
]


class LifecycleContract:
    """The unit of work's lifecycle: open, committed, failed (refusing further use), closed."""

    # ------------------------------------------------------------------ the issue

    def test_a_second_commit_after_a_retryable_cancellation_writes_nothing(
        self, harness: Harness
    ) -> None:
        """The reproduction: the first commit is cancelled (TransactionConflict, retryable) and
        drains the events; a second commit in the same block used to write the balance change
        with no outbox record and no event. It is refused now, and nothing is written."""
        outbox = _outbox()
        _open(harness, Account("a1", "alice"))
        plan = FaultPlan(faults.cancel(["TransactionConflict"]))
        with _faulty(harness, plan, outbox) as uow, uow:
            account = uow.repository(Account).get(account_id="a1", consistent=True)
            account.deposit(Decimal("5"))
            with pytest.raises(errors.TransactionCanceled) as raised:
                uow.commit()
            assert raised.value.retryable
            sent = plan.count("TransactWriteItems")
            _refused(uow.commit, "failed")
            assert plan.count("TransactWriteItems") == sent  # the refusal sent nothing
        stored = _stored(harness, "a1")
        assert (stored.balance, stored.deposits, stored.version) == (Decimal(0), 0, 1)
        assert list(uow.collect_new_events()) == []
        assert _relayed(harness, outbox) == []

    @pytest.mark.parametrize("fault", SEND_FAILURES)
    def test_after_a_failed_send_nothing_of_the_block_can_be_written(
        self, harness: Harness, fault: Callable[[], faults.Fault]
    ) -> None:
        outbox = _outbox()
        _open(harness, Account("a1", "alice"), Account("a2", "bob"))
        plan = FaultPlan(fault())
        with _faulty(harness, plan, outbox) as uow, uow:
            repo = uow.repository(Account)
            a1 = repo.get(account_id="a1", consistent=True)
            a2 = repo.get(account_id="a2", consistent=True)
            a1.deposit(Decimal("5"))
            uow.increment(Account, {"account_id": "a2"}, "deposits", 3)
            with pytest.raises(Exception) as raised:
                uow.commit()
            assert not isinstance(raised.value, StateError)
            assert _state(uow) == "failed"
            # Every way of writing (or of reading into the failed identity map) is refused.
            _refused(uow.commit, "failed")
            _refused(lambda: uow.repository(Account), "failed")
            _refused(lambda: repo.add(Account("a3", "carol")), "failed")
            _refused(lambda: repo.remove(a2), "failed")
            _refused(lambda: repo.get(account_id="a1"), "failed")
            _refused(lambda: uow.increment(Account, {"account_id": "a2"}, "deposits"), "failed")
            _refused(
                lambda: uow.check(Account, {"account_id": "a2"}, attr("owner").exists()), "failed"
            )
            builder = repo.update(account_id="a2").add("balance", Decimal(1))
            _refused(lambda: uow.add_update(builder), "failed")
            uow.rollback()  # discarding does not reopen a failed block
            _refused(uow.commit, "failed")
            _refused(lambda: uow.__enter__(), "failed")
        assert _state(uow) == "closed"
        assert list(uow.collect_new_events()) == []
        for account_id in ("a1", "a2"):
            stored = _stored(harness, account_id)
            assert (stored.balance, stored.deposits, stored.version) == (Decimal(0), 0, 1)
        assert _relayed(harness, outbox) == []
        assert [a.account_id for a in _all(harness)] == ["a1", "a2"]
        # A new block is a new unit of work: reload, change, commit.
        plan.faults.clear()
        with uow:
            uow.repository(Account).get(account_id="a1", consistent=True).deposit(Decimal("5"))
            uow.commit()
        assert list(uow.collect_new_events()) == [Deposited("a1", Decimal("5"))]
        assert _relayed(harness, outbox) == [Deposited("a1", Decimal("5"))]
        assert _stored(harness, "a1").balance == Decimal("5")

    def test_an_applied_commit_whose_answer_was_lost_keeps_state_and_events_together(
        self, harness: Harness
    ) -> None:
        """The ambiguous failure: DynamoDB applied the transaction, the answer never came. The
        block fails (the caller cannot know), and what was stored is the change together with
        its outbox record, once; the refused second commit adds nothing."""
        outbox = _outbox()
        _open(harness, Account("a1", "alice"))
        # botocore resends after a lost answer; the resend meets a connection error (never
        # reaches the server), so the transaction is applied exactly once on every backend.
        plan = FaultPlan(
            faults.lost_response("TransactWriteItems"),
            faults.connection_error("TransactWriteItems", times=10),
        )
        with _faulty(harness, plan, outbox) as uow, uow:
            uow.repository(Account).get(account_id="a1", consistent=True).deposit(Decimal("5"))
            with pytest.raises(Exception) as raised:
                uow.commit()
            assert not isinstance(raised.value, StateError)
            _refused(uow.commit, "failed")
        assert list(uow.collect_new_events()) == []  # the caller cannot know it was applied...
        stored = _stored(harness, "a1")
        assert (stored.balance, stored.deposits, stored.version) == (Decimal(5), 1, 2)
        assert _relayed(harness, outbox) == [Deposited("a1", Decimal("5"))]  # ...the outbox does

    def test_a_stale_version_fails_the_block(self, harness: Harness) -> None:
        outbox = _outbox()
        _open(harness, Account("a1", "alice"))
        uow, other = harness.uow(outbox=outbox), harness.uow()
        with uow:
            uow.repository(Account).get(account_id="a1").deposit(Decimal("5"))
            with other:
                other.repository(Account).get(account_id="a1").nickname = "al"
                other.commit()
            with pytest.raises(errors.ConcurrencyConflict):
                uow.commit()
            _refused(uow.commit, "failed")
        stored = _stored(harness, "a1")
        assert (stored.balance, stored.nickname, stored.version) == (Decimal(0), "al", 2)
        assert _relayed(harness, outbox) == []

    # ------------------------------------------------------------------ planning errors

    def test_an_error_before_sending_leaves_the_block_open_and_keeps_its_events(
        self, harness: Harness
    ) -> None:
        outbox = _outbox()
        _open(harness, Account("a1", "alice"))
        uow = harness.uow(outbox=outbox)
        harness.log.clear()
        with uow:
            account = uow.repository(Account).get(account_id="a1")
            account.deposit(Decimal("5"))
            account.account_id = "a2"  # a key field: refused at commit, before any request
            with pytest.raises(errors.ValidationError):
                uow.commit()
            assert "TransactWriteItems" not in harness.operations()
            assert _state(uow) == "open"
            account.account_id = "a1"
            uow.commit()  # the change goes with its event, not without it
        assert list(uow.collect_new_events()) == [Deposited("a1", Decimal("5"))]
        assert _relayed(harness, outbox) == [Deposited("a1", Decimal("5"))]
        assert _stored(harness, "a1").balance == Decimal("5")

    def test_a_transaction_too_large_leaves_the_block_open(self, harness: Harness) -> None:
        outbox = _outbox()
        uow = harness.uow(outbox=outbox)
        harness.log.clear()
        with uow:
            repo = uow.repository(Account)
            accounts = [Account(f"a{i:02d}", "alice") for i in range(60)]
            for account in accounts:
                account.deposit(Decimal(1))
                repo.add(account)
            with pytest.raises(errors.TransactionTooLarge):
                uow.commit()  # 60 Puts + 60 outbox records
            assert harness.operations() == []
            for account in accounts[30:]:
                repo.remove(account)  # added and removed in one block: nothing, no event
            uow.commit()
        assert len(list(uow.collect_new_events())) == 30
        assert len(_relayed(harness, outbox)) == 30
        assert [a.account_id for a in _all(harness)] == [a.account_id for a in accounts[:30]]

    # ------------------------------------------------------------------ committed

    def test_commit_twice_writes_each_change_with_its_own_events(self, harness: Harness) -> None:
        outbox = _outbox()
        _open(harness, Account("a1", "alice"))
        uow = harness.uow(outbox=outbox)
        with uow:
            account = uow.repository(Account).get(account_id="a1")
            account.deposit(Decimal("5"))
            uow.commit()
            assert _state(uow) == "committed"
            assert list(uow.collect_new_events()) == [Deposited("a1", Decimal("5"))]
            account.deposit(Decimal("7"))
            uow.commit()
            harness.log.clear()
            uow.commit()  # nothing changed since: a no-op, no request
            assert harness.operations() == []
            assert _state(uow) == "committed"
        assert list(uow.collect_new_events()) == [Deposited("a1", Decimal("7"))]
        stored = _stored(harness, "a1")
        assert (stored.balance, stored.deposits, stored.version) == (Decimal(12), 2, 3)
        # (two commits may share a timestamp, so the relay's order between them is not asserted)
        relayed = sorted(_relayed(harness, outbox), key=lambda e: e.amount)
        assert relayed == [Deposited("a1", Decimal("5")), Deposited("a1", Decimal("7"))]

    def test_a_failed_second_commit_keeps_what_the_first_committed(self, harness: Harness) -> None:
        outbox = _outbox()
        _open(harness, Account("a1", "alice"))
        uow, other = harness.uow(outbox=outbox), harness.uow()
        with uow:
            account = uow.repository(Account).get(account_id="a1")
            account.deposit(Decimal("5"))
            uow.commit()
            account.deposit(Decimal("7"))
            with other:
                other.repository(Account).get(account_id="a1").nickname = "al"
                other.commit()
            with pytest.raises(errors.ConcurrencyConflict):
                uow.commit()
            _refused(uow.commit, "failed")
        # The first commit's events were stored and are handed out; the second's are dropped.
        assert list(uow.collect_new_events()) == [Deposited("a1", Decimal("5"))]
        assert _relayed(harness, outbox) == [Deposited("a1", Decimal("5"))]
        assert _stored(harness, "a1").balance == Decimal("5")

    def test_the_identity_map_outlives_a_commit_within_the_block(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            account = uow.repository(Account).get(account_id="a1")
            account.nickname = "al"
            uow.commit()
            again = uow.repository(Account).get(account_id="a1")
            assert again is account
            uow.repository(Account).add(Account("a2", "bob"))
            uow.commit()
        assert [a.account_id for a in _all(harness)] == ["a1", "a2"]

    # ------------------------------------------------------------------ closed and nested

    def test_outside_the_block_only_collecting_events_is_allowed(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        uow = harness.uow()
        assert _state(uow) == "closed"
        _refused(lambda: uow.repository(Account), "closed")
        _refused(uow.commit, "closed")
        _refused(lambda: uow.increment(Account, {"account_id": "a1"}, "deposits"), "closed")
        with uow:
            repo = uow.repository(Account)
            repo.get(account_id="a1").deposit(Decimal("5"))
            uow.commit()
        assert _state(uow) == "closed"
        _refused(lambda: uow.repository(Account), "closed")
        _refused(uow.commit, "closed")
        _refused(lambda: repo.get(account_id="a1"), "closed")
        _refused(lambda: repo.add(Account("a2", "bob")), "closed")
        _refused(lambda: uow.check(Account, {"account_id": "a1"}, attr("owner").exists()), "closed")
        _refused(
            lambda: uow.add_update(repo.update(account_id="a1").increment("deposits")), "closed"
        )
        assert list(uow.collect_new_events()) == [Deposited("a1", Decimal("5"))]
        assert _stored(harness, "a1").deposits == 1

    def test_a_nested_block_is_refused_and_the_outer_block_is_kept(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            account = uow.repository(Account).get(account_id="a1")
            account.deposit(Decimal("5"))
            with pytest.raises(StateError) as raised, uow:
                pytest.fail("a nested block must not be entered")
            assert raised.value.state == "open"
            assert uow.repository(Account).get(account_id="a1") is account  # identity map kept
            uow.commit()
            with pytest.raises(StateError) as raised, uow:
                pytest.fail("a nested block must not be entered")
            assert raised.value.state == "committed"
            assert _state(uow) == "committed"
        assert list(uow.collect_new_events()) == [Deposited("a1", Decimal("5"))]
        assert _stored(harness, "a1").balance == Decimal("5")

    def test_an_exception_closes_the_block_and_the_next_one_starts_fresh(
        self, harness: Harness
    ) -> None:
        _open(harness, Account("a1", "alice"))
        uow = harness.uow()
        with pytest.raises(RuntimeError), uow:
            uow.repository(Account).get(account_id="a1").deposit(Decimal("5"))
            raise RuntimeError("boom")
        assert _state(uow) == "closed"
        with uow:
            assert _state(uow) == "open"
            fresh = uow.repository(Account).get(account_id="a1")
            assert (fresh.balance, fresh.events) == (Decimal(0), [])
        assert list(uow.collect_new_events()) == []

    # ------------------------------------------------------------------ the message bus

    def test_a_handler_whose_commit_fails_leaves_a_fresh_block_to_the_next(
        self, harness: Harness
    ) -> None:
        _open(harness, Account("a1", "alice"), Account("a2", "bob"))
        uow = harness.uow()
        seen: list[str] = []

        def deposit(command: Deposited) -> None:
            with uow:
                uow.repository(Account).get(account_id=command.account_id).deposit(command.amount)
                uow.commit()

        def fails(event: Deposited) -> None:
            with uow:
                uow.increment(Account, {"account_id": "missing"}, "deposits")
                uow.commit()  # NotFound: the item does not exist

        def swallows(event: Deposited) -> None:
            with uow:
                uow.increment(Account, {"account_id": "missing"}, "deposits")
                try:
                    uow.commit()
                except errors.NotFound:
                    seen.append(_state(uow))
                try:
                    uow.repository(Account)
                except StateError:
                    seen.append("refused")

        def counts(event: Deposited) -> None:
            with uow:
                seen.append(_state(uow))
                uow.increment(Account, {"account_id": "a2"}, "deposits")
                uow.commit()

        bus = MessageBus(
            uow,
            event_handlers={Deposited: [fails, swallows, counts]},
            command_handlers={Deposited: deposit},
        )
        bus.handle(Deposited("a1", Decimal("5")))
        assert seen == ["failed", "refused", "open"]
        assert (bus.failed_events, bus.handled_events) == (1, 2)
        assert (_stored(harness, "a1").balance, _stored(harness, "a2").deposits) == (Decimal(5), 1)


def _all(h: Harness) -> list[Account]:
    uow = h.uow()
    with uow:
        found = list(uow.repository(Account).iterate(None, consistent=True))
    return sorted(found, key=lambda a: a.account_id)
