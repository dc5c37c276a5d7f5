"""The unit of work: identity map, smallest writes, versions, counters, atomic commits.

Part of the behaviour contract (`persistence.testing.contract`): subclass `UnitOfWorkContract`
in a test module that provides a `harness` fixture.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from .. import errors
from ..query.specification import attr
from . import seeding
from .harness import Harness
from .models import (
    Account,
    Deposited,
)


class UnitOfWorkContract:
    """The unit of work: atomic commits, identity map, dirty checking, versions, counters."""

    def test_transfer_commits_both_accounts_atomically(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice", Decimal("100")), Account("a2", "bob"))
        uow = harness.uow()
        harness.log.clear()
        with uow:
            repo = uow.repository(Account)
            a1, a2 = repo.get(account_id="a1"), repo.get(account_id="a2")
            a1.balance -= Decimal("30")
            a2.balance += Decimal("30")
            uow.commit()
        assert harness.operations().count("TransactWriteItems") == 1
        assert seeding.stored_account(harness, "a1").balance == Decimal("70")
        assert seeding.stored_account(harness, "a2").balance == Decimal("30")
        assert (
            seeding.stored_account(harness, "a1").version,
            seeding.stored_account(harness, "a2").version,
        ) == (2, 2)

    def test_stale_version_fails_the_whole_commit_and_writes_nothing(
        self, harness: Harness
    ) -> None:
        seeding.open_accounts(harness, Account("a1", "alice", Decimal("100")), Account("a2", "bob"))
        slow, fast = harness.uow(), harness.uow()
        with slow:
            repo = slow.repository(Account)
            a1, a2 = repo.get(account_id="a1"), repo.get(account_id="a2")
            a1.balance -= Decimal("30")
            a2.balance += Decimal("30")
            repo.add(Account("a3", "carol"))
            with fast:
                fast.repository(Account).get(account_id="a2").nickname = "b"
                fast.commit()
            with pytest.raises(errors.ConcurrencyConflict) as caught:
                slow.commit()
        assert caught.value.aggregate_type == "Account"
        assert caught.value.key == {"account_id": "a2"}
        assert (caught.value.expected_version, caught.value.stored_version) == (1, 2)
        assert (
            seeding.stored_account(harness, "a1").balance == 100
            and seeding.stored_account(harness, "a2").balance == 0
        )
        uow = harness.uow()
        with uow, pytest.raises(errors.NotFound):
            uow.repository(Account).get(account_id="a3")

    def test_version_bumps_by_exactly_one_per_commit(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"))
        uow = harness.uow()
        for expected in (2, 3, 4):
            with uow:
                a = uow.repository(Account).get(account_id="a1")
                a.balance += 1
                uow.commit()
                assert a.version == expected
            assert seeding.stored_account(harness, "a1").version == expected
        with uow:  # a commit with no change writes nothing and bumps nothing
            uow.repository(Account).get(account_id="a1")
            harness.log.clear()
            uow.commit()
        assert "TransactWriteItems" not in harness.operations()
        assert seeding.stored_account(harness, "a1").version == 4

    def test_counters_are_exact_under_concurrent_increments(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"))
        errors_seen: list[BaseException] = []

        def worker() -> None:
            uow = harness.uow()
            try:
                for _ in range(25):
                    with uow:
                        uow.repository(Account).get(account_id="a1").deposits += 1
                        uow.commit()
            except BaseException as exc:  # pragma: no cover - reported below
                errors_seen.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors_seen == []
        stored = seeding.stored_account(harness, "a1")
        assert stored.deposits == 200
        assert stored.version == 1  # counter-only changes need no version bump

    def test_increment_without_loading_and_on_a_missing_item(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            uow.increment(Account, {"account_id": "a1"}, "deposits", 5)
            uow.increment(Account, {"account_id": "a1"}, "deposits", 2)
            uow.commit()
        assert seeding.stored_account(harness, "a1").deposits == 7
        with uow, pytest.raises(errors.NotFound):
            uow.increment(Account, {"account_id": "ghost"}, "deposits", 1)
            uow.commit()
        with uow, pytest.raises(errors.ValidationError, match="counter"):
            uow.increment(Account, {"account_id": "a1"}, "balance", 1)

    def test_counter_and_field_changes_use_version_and_add(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            a = uow.repository(Account).get(account_id="a1")
            a.deposit(Decimal("5"))
            uow.increment(Account, {"account_id": "a1"}, "deposits", 10)
            uow.commit()
            assert a.deposits == 11
        stored = seeding.stored_account(harness, "a1")
        assert (stored.balance, stored.deposits, stored.version) == (Decimal("5"), 11, 2)

    def test_rollback_on_exception_and_on_missing_commit(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice", Decimal("10")))
        uow = harness.uow()
        with pytest.raises(RuntimeError), uow:
            uow.repository(Account).get(account_id="a1").balance = Decimal("0")
            raise RuntimeError("boom")
        with uow:
            uow.repository(Account).get(account_id="a1").balance = Decimal("0")
            uow.repository(Account).add(Account("a2", "bob"))
        assert seeding.stored_account(harness, "a1").balance == 10
        with uow, pytest.raises(errors.NotFound):
            uow.repository(Account).get(account_id="a2")

    def test_events_are_handed_out_only_after_a_successful_commit(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            uow.repository(Account).get(account_id="a1").deposit(Decimal("5"))
            assert list(uow.collect_new_events()) == []
            uow.commit()
        assert list(uow.collect_new_events()) == [Deposited("a1", Decimal("5"))]
        assert list(uow.collect_new_events()) == []
        with uow:
            uow.repository(Account).get(account_id="a1").deposit(Decimal("1"))
        assert list(uow.collect_new_events()) == []  # no commit, no events
        other = harness.uow()
        with uow:
            a = uow.repository(Account).get(account_id="a1")
            a.deposit(Decimal("1"))
            a.balance += 1
            with other:
                other.repository(Account).get(account_id="a1").balance += 1
                other.commit()
            with pytest.raises(errors.ConcurrencyConflict):
                uow.commit()
        assert list(uow.collect_new_events()) == []

    def test_100_actions_in_one_request_and_101_refused(self, harness: Harness) -> None:
        uow = harness.uow()
        harness.log.clear()
        with uow:
            for i in range(100):
                uow.repository(Account).add(Account(f"a{i}", "alice"))
            uow.commit()
        assert harness.operations() == ["TransactWriteItems"]
        harness.log.clear()
        with uow:
            for i in range(101):
                uow.repository(Account).add(Account(f"b{i}", "bob"))
            with pytest.raises(errors.TransactionTooLarge):
                uow.commit()
        assert harness.operations() == []
        with uow:
            assert uow.repository(Account).count(attr("owner") == "bob") == 0

    def test_only_changed_attributes_are_written(self, harness: Harness) -> None:
        from ..backends.actions import AddValue, SetValue, Update

        seeding.open_accounts(harness, Account("a1", "alice", nickname="old"))
        uow = harness.uow()
        sent: list[Any] = []
        original = uow.backend.transact_write

        def spy(actions: Any, token: str) -> None:
            sent.extend(actions)
            original(actions, token)

        uow.backend.transact_write = spy  # type: ignore[method-assign]
        with uow:
            a = uow.repository(Account).get(account_id="a1")
            a.balance = Decimal("3")
            a.nickname = None
            a.deposits += 2
            uow.commit()
        (update,) = sent
        assert isinstance(update, Update)
        paths = {c.path[0] for c in update.clauses}
        assert paths == {"balance", "nickname", "deposits", "version", "updated_at"}
        assert next(c for c in update.clauses if isinstance(c, AddValue)).value == {"N": "2"}
        assert any(isinstance(c, SetValue) and c.path == ("version",) for c in update.clauses)
        assert seeding.stored_account(harness, "a1").nickname is None

    def test_created_at_is_set_once_and_updated_at_on_every_write(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"))
        first = seeding.stored_account(harness, "a1")
        assert first.created_at is not None and first.updated_at is not None
        uow = harness.uow()
        with uow:
            uow.repository(Account).get(account_id="a1").balance += 1
            uow.commit()
        second = seeding.stored_account(harness, "a1")
        assert second.created_at == first.created_at
        assert second.updated_at is not None and second.updated_at >= first.updated_at

    def test_add_of_a_stored_key_raises_already_exists(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"))
        with pytest.raises(errors.AlreadyExists) as caught:
            seeding.open_accounts(harness, Account("a1", "mallory"), Account("a9", "x"))
        assert caught.value.key == {"account_id": "a1"}
        assert seeding.stored_account(harness, "a1").owner == "alice"
        uow = harness.uow()
        with uow, pytest.raises(errors.NotFound):
            uow.repository(Account).get(account_id="a9")

    def test_check_condition_fails_the_commit_with_condition_failed(self, harness: Harness) -> None:
        seeding.open_accounts(
            harness, Account("a1", "alice", closed_at="2024-01-01"), Account("a2", "bob")
        )
        uow = harness.uow()
        with uow:
            uow.check(Account, {"account_id": "a1"}, attr("closed_at").not_exists())
            uow.repository(Account).get(account_id="a2").balance += 5
            with pytest.raises(errors.ConditionFailed) as caught:
                uow.commit()
        assert not isinstance(caught.value, errors.ConcurrencyConflict)
        assert caught.value.aggregate_type == "Account"
        assert seeding.stored_account(harness, "a2").balance == 0

    def test_identity_map_returns_the_same_object(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            repo = uow.repository(Account)
            first = repo.get(account_id="a1")
            first.balance = Decimal("99")
            assert repo.get(account_id="a1") is first
            assert repo.find(attr("owner") == "alice").items[0] is first
        with uow:
            assert uow.repository(Account).get(account_id="a1") is not first

    def test_changing_the_primary_key_is_refused(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            uow.repository(Account).get(account_id="a1").account_id = "a2"
            with pytest.raises(errors.ValidationError, match="remove the aggregate"):
                uow.commit()

    def test_remove_deletes_with_the_version_condition(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"), Account("a2", "bob"))
        uow, other = harness.uow(), harness.uow()
        with uow:
            uow.repository(Account).remove(uow.repository(Account).get(account_id="a1"))
            uow.commit()
        with uow:
            repo = uow.repository(Account)
            with pytest.raises(errors.NotFound):
                repo.get(account_id="a1")
            a2 = repo.get(account_id="a2")
            repo.remove(a2)
            with other:
                other.repository(Account).get(account_id="a2").balance += 1
                other.commit()
            with pytest.raises(errors.ConcurrencyConflict):
                uow.commit()
        assert seeding.stored_account(harness, "a2").balance == 1

    def test_the_same_item_twice_is_merged_or_refused(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice"), Account("a2", "bob"))
        uow = harness.uow()
        with uow:
            repo = uow.repository(Account)
            a1 = repo.get(account_id="a1")
            with pytest.raises(errors.ValidationError, match="already part of this unit"):
                repo.add(Account("a1", "mallory"))
            a1.balance += 5
            # A check and an increment on an item that is also written fold into its one action.
            uow.check(Account, {"account_id": "a1"}, attr("owner") == "alice")
            uow.increment(Account, {"account_id": "a1"}, "deposits", 2)
            harness.log.clear()
            uow.commit()
        assert harness.operations() == ["TransactWriteItems"]
        stored = seeding.stored_account(harness, "a1")
        assert (stored.balance, stored.deposits, stored.version) == (Decimal("5"), 2, 2)
        with uow:
            repo = uow.repository(Account)
            a2 = repo.get(account_id="a2")
            a2.balance += 1
            uow.check(Account, {"account_id": "a2"}, attr("owner") == "carol")
            with pytest.raises(errors.ConditionFailed):
                uow.commit()
        assert seeding.stored_account(harness, "a2").balance == 0
        with uow:  # an aggregate added and removed in the same work writes nothing
            ghost = Account("a3", "x")
            uow.repository(Account).add(ghost)
            uow.repository(Account).remove(ghost)
            harness.log.clear()
            uow.commit()
        assert harness.operations() == []

    def test_one_unit_of_work_object_serves_many_blocks(self, harness: Harness) -> None:
        uow = harness.uow()
        for i in range(3):
            with uow:
                uow.repository(Account).add(Account(f"a{i}", "alice"))
                uow.commit()
        with uow:
            assert uow.repository(Account).count(attr("owner") == "alice") == 3
