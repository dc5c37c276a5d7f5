"""The behaviour contract every backend must keep, written once.

Subclass the classes here in a test module and provide a `harness` fixture (a fresh
`persistence.testing.harness.Harness` per test, over empty tables of `models.ALL_TABLES`):

    class TestMyBackend(RepositoryContract, UnitOfWorkContract):
        @pytest.fixture
        def harness(self): ...
"""

from __future__ import annotations

import functools
import operator
import threading
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from .. import errors
from ..query.specification import attr
from .harness import Harness
from .models import (
    ACCOUNTS,
    GADGETS,
    Account,
    Address,
    Color,
    Deposited,
    Gadget,
    Order,
)


def _open(h: Harness, *accounts: Account) -> None:
    uow = h.uow()
    with uow:
        for a in accounts:
            uow.repository(Account).add(a)
        uow.commit()


def _orders(h: Harness, customer: str, n: int, day: str = "2024-01-01") -> list[Order]:
    orders = [Order(customer, day, f"o{i:03d}", total_cents=i * 100) for i in range(n)]
    uow = h.uow()
    with uow:
        for o in orders:
            uow.repository(Order).add(o)
        uow.commit()
    return orders


def _stored(h: Harness, account_id: str) -> Account:
    uow = h.uow()
    with uow:
        return uow.repository(Account).get(account_id=account_id, consistent=True)


class MarshallingContract:
    """Every supported field type round-trips through the backend unchanged."""

    def test_every_field_type_round_trips_through_the_backend(self, harness: Harness) -> None:
        gadget = Gadget(
            "g1",
            name="ünïcode ✓",
            price=Decimal("12345678901234567890.123456789"),
            weight=0.1,
            count=-(10**37),
            active=False,
            color=Color.BLUE,
            made=date(2024, 2, 29),
            seen_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            uid=uuid.UUID(int=7),
            blob=b"\x00\xffbytes",
            tags={"a", "b"},
            scores={1, 2, 3},
            blobs=frozenset({b"x", b"y"}),
            address=Address("Paris", None),
            lines=[Address("A", "1"), Address("B")],
            meta={"x": 1},
            extra={"nested": {"list": [1, "two", None, True]}, "n": Decimal("1.5")},
            pair=(1, "one"),
        )
        repo = harness.repository(GADGETS)
        repo.add(gadget)
        assert repo.get(gadget_id="g1") == gadget

    def test_empty_sets_are_absent_and_read_back_empty(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        repo.add(Gadget("g2"))
        loaded = repo.get(gadget_id="g2")
        assert loaded.tags == set() and loaded.scores == set() and loaded.blobs == frozenset()
        assert repo.count(attr("tags").exists()) == 0
        assert repo.count(attr("tags").not_exists()) == 1

    def test_number_beyond_38_digits_is_refused_and_nothing_written(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        with pytest.raises(errors.ValidationError, match="38"):
            repo.add(Gadget("g3", price=Decimal("1" * 39)))
        with pytest.raises(errors.ValidationError, match="NaN or infinity"):
            repo.add(Gadget("g3", weight=float("nan")))
        with pytest.raises(errors.ValidationError, match="range"):
            repo.add(Gadget("g3", price=Decimal("1E+126")))
        assert repo.count() == 0

    def test_empty_key_and_oversized_item_are_refused(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        with pytest.raises(errors.ValidationError, match="empty"):
            repo.add(Gadget(""))
        with pytest.raises(errors.ValidationError, match="400"):
            repo.add(Gadget("big", name="x" * (400 * 1024)))
        uow = harness.uow([ACCOUNTS])
        with uow, pytest.raises(errors.ValidationError, match="2048"):
            uow.repository(Account).add(Account("k" * 2100, "alice"))
            uow.commit()
        assert repo.count() == 0

    def test_unknown_attributes_in_stored_items_are_ignored(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        repo.add(Gadget("g4", name="n"))
        # A newer writer added an attribute this reader does not know.
        uow = harness.uow([GADGETS])
        from ..backends.actions import Meaning, SetValue, Update

        with uow:
            uow.add_action(
                Update(
                    "contract_gadgets",
                    {"gadget_id": {"S": "g4"}},
                    [SetValue(("future_field",), {"S": "x"})],
                    None,
                    Meaning("Gadget", {"gadget_id": "g4"}, "update"),
                )
            )
            uow.commit()
        with uow:
            loaded = uow.repository(Gadget).get(gadget_id="g4")
            loaded.name = "changed"
            uow.commit()
        assert repo.get(gadget_id="g4").name == "changed"


class DerivedValuesContract:
    """Stamped fields (created_at, updated_at), derived index keys and TTL epoch seconds."""

    def test_stamped_fields_feed_index_keys_and_ttl_is_epoch_seconds(
        self, harness: Harness
    ) -> None:
        from .models import Session

        expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        uow = harness.uow()
        with uow:
            uow.repository(Session).add(Session("s1", "ann", expires_at=expires))
            uow.commit()
        with uow:
            repo = uow.repository(Session)
            (found,) = repo.find(attr("user") == "ann").items
            assert repo.explain(attr("user") == "ann") == "Query contract_bank.by_owner"
            assert found.created_at is not None
            assert found.expires_at == expires
            raw = harness.raw_item("contract_bank", {"pk": "SESSION#s1", "sk": "SESSION"})
            assert raw["expires_at"] == {"N": str(int(expires.timestamp()))}
            assert raw["gsi1sk"] == {"S": found.created_at.isoformat()}


class RepositoryContract:
    """Repository reads and writes: get, get_many, find and pages, count, the planner's choices."""

    def test_get_returns_what_was_added_and_missing_raises(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice", Decimal("10")))
        loaded = _stored(harness, "a1")
        assert (loaded.account_id, loaded.owner, loaded.balance, loaded.version) == (
            "a1",
            "alice",
            Decimal("10"),
            1,
        )
        uow = harness.uow()
        with uow, pytest.raises(errors.NotFound):
            uow.repository(Account).get(account_id="nope")

    def test_get_many_keeps_order_skips_missing_and_chunks_by_100(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        for i in range(150):
            repo.add(Gadget(f"g{i:03d}"))
        keys = [{"gadget_id": f"g{i:03d}"} for i in reversed(range(150))]
        keys.insert(3, {"gadget_id": "missing"})
        harness.log.clear()
        found = repo.get_many(keys)
        assert [g.gadget_id for g in found] == [f"g{i:03d}" for i in reversed(range(150))]
        assert harness.operations().count("BatchGetItem") == 2

    def test_planner_picks_getitem_query_index_or_scan(self, harness: Harness) -> None:
        uow = harness.uow()
        with uow:
            accounts = uow.repository(Account)
            orders = uow.repository(Order)
            assert accounts.explain(attr("account_id") == "a1") == "GetItem"
            assert accounts.explain(attr("owner") == "alice") == "Query contract_bank.by_owner"
            assert orders.explain(attr("customer_id") == "c1") == "Query contract_bank"
            spec = (attr("customer_id") == "c1") & (attr("total_cents") > 300)
            assert orders.explain(spec) == "Query contract_bank.by_total"
            assert accounts.explain(attr("balance") > 5) == "Scan contract_bank"
            with pytest.raises(errors.ValidationError, match="owner"):
                accounts.find(attr("balance") > 5, allow_scan=False)

    def test_requests_sent_match_the_plan(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"), Account("a2", "bob"))
        uow = harness.uow()
        with uow:
            repo = uow.repository(Account)
            harness.log.clear()
            assert [a.account_id for a in repo.find(attr("account_id") == "a1").items] == ["a1"]
            assert [a.account_id for a in repo.find(attr("owner") == "bob").items] == ["a2"]
            assert {a.account_id for a in repo.find(attr("balance") >= 0).items} == {"a1", "a2"}
        assert harness.operations() == ["GetItem", "Query", "Scan"]

    def test_query_orders_by_sort_key_and_descending_reverses(self, harness: Harness) -> None:
        _orders(harness, "c1", 5, day="2024-01-02")
        _orders(harness, "c1", 2, day="2024-01-01")
        _orders(harness, "c2", 3)
        uow = harness.uow()
        with uow:
            repo = uow.repository(Order)
            spec = attr("customer_id") == "c1"
            ascending = [(o.day, o.order_id) for o in repo.iterate(spec)]
            assert ascending == sorted(ascending) and len(ascending) == 7
            descending = [(o.day, o.order_id) for o in repo.iterate(spec, descending=True)]
            assert descending == list(reversed(ascending))
            one_day = (attr("customer_id") == "c1") & (attr("day") == "2024-01-02")
            assert [o.order_id for o in repo.iterate(one_day)] == [f"o{i:03d}" for i in range(5)]

    def test_zero_padded_number_range_uses_the_local_index(self, harness: Harness) -> None:
        _orders(harness, "c1", 12)
        uow = harness.uow()
        with uow:
            repo = uow.repository(Order)
            spec = (attr("customer_id") == "c1") & (attr("total_cents") > 900)
            harness.log.clear()
            totals = [o.total_cents for o in repo.iterate(spec)]
        assert totals == [1000, 1100]
        assert harness.operations() == ["Query"]

    def test_pages_cover_every_item_once_with_limit_before_filter(self, harness: Harness) -> None:
        _orders(harness, "c1", 23)
        uow = harness.uow()
        with uow:
            repo = uow.repository(Order)
            spec = (attr("customer_id") == "c1") & (attr("status") == "new")
            seen: list[str] = []
            cursor = None
            pages = 0
            while True:
                page = repo.find(spec, limit=5, cursor=cursor)
                assert len(page.items) <= 5 and page.scanned_count <= 5
                seen.extend(o.order_id for o in page.items)
                pages += 1
                cursor = page.cursor
                if cursor is None:
                    break
            assert sorted(seen) == sorted(set(seen)) and len(seen) == 23
            assert pages >= 5
            # limit counts items evaluated before the filter: a selective filter gives short pages
            rare = (attr("customer_id") == "c1") & (attr("status") == "shipped")
            first = repo.find(rare, limit=5)
            assert first.items == [] and first.cursor is not None and first.scanned_count == 5

    def test_count_uses_every_page(self, harness: Harness) -> None:
        _orders(harness, "c1", 30)
        uow = harness.uow()
        with uow:
            repo = uow.repository(Order)
            assert repo.count(attr("customer_id") == "c1") == 30
            assert repo.count((attr("customer_id") == "c1") & (attr("total_cents") < 1000)) == 10
            assert repo.count(attr("total_cents") >= 2000) == 10

    def test_cursors_are_signed_and_bound_to_their_query(self, harness: Harness) -> None:
        _orders(harness, "c1", 6)
        uow = harness.uow()
        with uow:
            repo = uow.repository(Order)
            spec = attr("customer_id") == "c1"
            page = repo.find(spec, limit=2)
            assert page.cursor is not None
            second = repo.find(spec, limit=2, cursor=page.cursor)
            assert [o.order_id for o in second.items] == ["o002", "o003"]
            middle = len(page.cursor) // 2
            flipped = "A" if page.cursor[middle] != "A" else "B"
            tampered = page.cursor[:middle] + flipped + page.cursor[middle + 1 :]
            with pytest.raises(errors.InvalidCursor):
                repo.find(spec, limit=2, cursor=tampered)
            with pytest.raises(errors.InvalidCursor):
                repo.find(spec, limit=2, cursor=page.cursor[:-3])
            with pytest.raises(errors.InvalidCursor):
                repo.find(attr("customer_id") == "c2", limit=2, cursor=page.cursor)
            with pytest.raises(errors.InvalidCursor):
                repo.find(spec, limit=2, cursor=page.cursor, descending=True)

    def test_single_table_reads_only_their_own_type(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        _orders(harness, "c1", 2)
        uow = harness.uow()
        with uow:
            assert [a.account_id for a in uow.repository(Account).iterate()] == ["a1"]
            assert uow.repository(Order).count() == 2

    def test_soft_deleted_aggregates_are_hidden_unless_asked(self, harness: Harness) -> None:
        _orders(harness, "c1", 3)
        uow = harness.uow()
        with uow:
            repo = uow.repository(Order)
            repo.remove(repo.get(customer_id="c1", day="2024-01-01", order_id="o001"))
            uow.commit()
        with uow:
            repo = uow.repository(Order)
            with pytest.raises(errors.NotFound):
                repo.get(customer_id="c1", day="2024-01-01", order_id="o001")
            assert [o.order_id for o in repo.iterate(attr("customer_id") == "c1")] == [
                "o000",
                "o002",
            ]
            hidden = repo.get(
                customer_id="c1", day="2024-01-01", order_id="o001", include_deleted=True
            )
            assert hidden.deleted is True and hidden.version == 2
            assert repo.count(attr("customer_id") == "c1", include_deleted=True) == 3

    def test_bad_specifications_are_refused(self, harness: Harness) -> None:
        uow = harness.uow()
        with uow:
            repo = uow.repository(Account)
            with pytest.raises(errors.ValidationError, match="no field 'colour'"):
                repo.find(attr("colour") == "red")
            with pytest.raises(TypeError):
                bool(attr("owner") == "a")
            with pytest.raises(errors.ValidationError):
                repo.find(attr("balance").between(10, 1))
            with pytest.raises(errors.ValidationError):
                repo.get(account_id="a1", owner="x")

    def test_index_keys_follow_their_fields_and_sparse_none(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            uow.repository(Account).get(account_id="a1").owner = "bob"
            uow.commit()
        with uow:
            repo = uow.repository(Account)
            assert repo.count(attr("owner") == "alice") == 0
            assert [a.account_id for a in repo.iterate(attr("owner") == "bob")] == ["a1"]

    def test_consistent_read_refused_on_a_global_index(self, harness: Harness) -> None:
        uow = harness.uow()
        with uow:
            repo = uow.repository(Account)
            with pytest.raises(errors.ValidationError, match="global secondary index"):
                repo.find(attr("owner") == "alice", consistent=True)
            assert repo.find(attr("account_id") == "a1", consistent=True).items == []


class UnitOfWorkContract:
    """The unit of work: atomic commits, identity map, dirty checking, versions, counters."""

    def test_transfer_commits_both_accounts_atomically(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice", Decimal("100")), Account("a2", "bob"))
        uow = harness.uow()
        harness.log.clear()
        with uow:
            repo = uow.repository(Account)
            a1, a2 = repo.get(account_id="a1"), repo.get(account_id="a2")
            a1.balance -= Decimal("30")
            a2.balance += Decimal("30")
            uow.commit()
        assert harness.operations().count("TransactWriteItems") == 1
        assert _stored(harness, "a1").balance == Decimal("70")
        assert _stored(harness, "a2").balance == Decimal("30")
        assert (_stored(harness, "a1").version, _stored(harness, "a2").version) == (2, 2)

    def test_stale_version_fails_the_whole_commit_and_writes_nothing(
        self, harness: Harness
    ) -> None:
        _open(harness, Account("a1", "alice", Decimal("100")), Account("a2", "bob"))
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
        assert _stored(harness, "a1").balance == 100 and _stored(harness, "a2").balance == 0
        uow = harness.uow()
        with uow, pytest.raises(errors.NotFound):
            uow.repository(Account).get(account_id="a3")

    def test_version_bumps_by_exactly_one_per_commit(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        uow = harness.uow()
        for expected in (2, 3, 4):
            with uow:
                a = uow.repository(Account).get(account_id="a1")
                a.balance += 1
                uow.commit()
                assert a.version == expected
            assert _stored(harness, "a1").version == expected
        with uow:  # a commit with no change writes nothing and bumps nothing
            uow.repository(Account).get(account_id="a1")
            harness.log.clear()
            uow.commit()
        assert "TransactWriteItems" not in harness.operations()
        assert _stored(harness, "a1").version == 4

    def test_counters_are_exact_under_concurrent_increments(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
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
        stored = _stored(harness, "a1")
        assert stored.deposits == 200
        assert stored.version == 1  # counter-only changes need no version bump

    def test_increment_without_loading_and_on_a_missing_item(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            uow.increment(Account, {"account_id": "a1"}, "deposits", 5)
            uow.increment(Account, {"account_id": "a1"}, "deposits", 2)
            uow.commit()
        assert _stored(harness, "a1").deposits == 7
        with uow, pytest.raises(errors.NotFound):
            uow.increment(Account, {"account_id": "ghost"}, "deposits", 1)
            uow.commit()
        with uow, pytest.raises(errors.ValidationError, match="counter"):
            uow.increment(Account, {"account_id": "a1"}, "balance", 1)

    def test_counter_and_field_changes_use_version_and_add(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            a = uow.repository(Account).get(account_id="a1")
            a.deposit(Decimal("5"))
            uow.increment(Account, {"account_id": "a1"}, "deposits", 10)
            uow.commit()
            assert a.deposits == 11
        stored = _stored(harness, "a1")
        assert (stored.balance, stored.deposits, stored.version) == (Decimal("5"), 11, 2)

    def test_rollback_on_exception_and_on_missing_commit(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice", Decimal("10")))
        uow = harness.uow()
        with pytest.raises(RuntimeError), uow:
            uow.repository(Account).get(account_id="a1").balance = Decimal("0")
            raise RuntimeError("boom")
        with uow:
            uow.repository(Account).get(account_id="a1").balance = Decimal("0")
            uow.repository(Account).add(Account("a2", "bob"))
        assert _stored(harness, "a1").balance == 10
        with uow, pytest.raises(errors.NotFound):
            uow.repository(Account).get(account_id="a2")

    def test_events_are_handed_out_only_after_a_successful_commit(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
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

        _open(harness, Account("a1", "alice", nickname="old"))
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
        assert _stored(harness, "a1").nickname is None

    def test_created_at_is_set_once_and_updated_at_on_every_write(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        first = _stored(harness, "a1")
        assert first.created_at is not None and first.updated_at is not None
        uow = harness.uow()
        with uow:
            uow.repository(Account).get(account_id="a1").balance += 1
            uow.commit()
        second = _stored(harness, "a1")
        assert second.created_at == first.created_at
        assert second.updated_at is not None and second.updated_at >= first.updated_at

    def test_add_of_a_stored_key_raises_already_exists(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
        with pytest.raises(errors.AlreadyExists) as caught:
            _open(harness, Account("a1", "mallory"), Account("a9", "x"))
        assert caught.value.key == {"account_id": "a1"}
        assert _stored(harness, "a1").owner == "alice"
        uow = harness.uow()
        with uow, pytest.raises(errors.NotFound):
            uow.repository(Account).get(account_id="a9")

    def test_check_condition_fails_the_commit_with_condition_failed(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice", closed_at="2024-01-01"), Account("a2", "bob"))
        uow = harness.uow()
        with uow:
            uow.check(Account, {"account_id": "a1"}, attr("closed_at").not_exists())
            uow.repository(Account).get(account_id="a2").balance += 5
            with pytest.raises(errors.ConditionFailed) as caught:
                uow.commit()
        assert not isinstance(caught.value, errors.ConcurrencyConflict)
        assert caught.value.aggregate_type == "Account"
        assert _stored(harness, "a2").balance == 0

    def test_identity_map_returns_the_same_object(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"))
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
        _open(harness, Account("a1", "alice"))
        uow = harness.uow()
        with uow:
            uow.repository(Account).get(account_id="a1").account_id = "a2"
            with pytest.raises(errors.ValidationError, match="remove the aggregate"):
                uow.commit()

    def test_remove_deletes_with_the_version_condition(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"), Account("a2", "bob"))
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
        assert _stored(harness, "a2").balance == 1

    def test_the_same_item_twice_is_merged_or_refused(self, harness: Harness) -> None:
        _open(harness, Account("a1", "alice"), Account("a2", "bob"))
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
        stored = _stored(harness, "a1")
        assert (stored.balance, stored.deposits, stored.version) == (Decimal("5"), 2, 2)
        with uow:
            repo = uow.repository(Account)
            a2 = repo.get(account_id="a2")
            a2.balance += 1
            uow.check(Account, {"account_id": "a2"}, attr("owner") == "carol")
            with pytest.raises(errors.ConditionFailed):
                uow.commit()
        assert _stored(harness, "a2").balance == 0
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


class OutboxContract:
    """The transactional outbox and its relay."""

    def _outbox(self) -> Any:
        from ..messaging.outbox import Outbox
        from .models import BANK

        return Outbox(BANK, event_types=[Deposited])

    def test_events_are_written_in_the_same_transaction_and_relayed_once(
        self, harness: Harness
    ) -> None:
        outbox = self._outbox()
        _open(harness, Account("a1", "alice"))
        uow = harness.uow(outbox=outbox)
        harness.log.clear()
        with uow:
            a = uow.repository(Account).get(account_id="a1")
            a.deposit(Decimal("5"))
            a.deposit(Decimal("7"))
            uow.commit()
        assert harness.operations().count("TransactWriteItems") == 1
        published: list[Any] = []
        relay = outbox.relay(uow.backend, published.append)
        assert relay.run_once() == 2
        assert published == [Deposited("a1", Decimal("5")), Deposited("a1", Decimal("7"))]
        assert relay.run_once() == 0
        assert len(published) == 2

    def test_a_failed_commit_leaves_no_outbox_record(self, harness: Harness) -> None:
        outbox = self._outbox()
        _open(harness, Account("a1", "alice"))
        uow, other = harness.uow(outbox=outbox), harness.uow()
        with uow:
            a = uow.repository(Account).get(account_id="a1")
            a.deposit(Decimal("5"))
            with other:
                other.repository(Account).get(account_id="a1").balance += 1
                other.commit()
            with pytest.raises(errors.ConcurrencyConflict):
                uow.commit()
        published: list[Any] = []
        assert outbox.relay(uow.backend, published.append).run_once() == 0

    def test_outbox_records_count_toward_the_100_actions(self, harness: Harness) -> None:
        outbox = self._outbox()
        uow = harness.uow(outbox=outbox)
        harness.log.clear()
        with uow:
            for i in range(60):
                account = Account(f"a{i}", "alice")
                account.events.append(Deposited(account.account_id, Decimal(1)))
                uow.repository(Account).add(account)
            with pytest.raises(errors.TransactionTooLarge):
                uow.commit()
        assert harness.operations() == []


class LimitsContract:
    """DynamoDB's limits (expression size and others), refused before any request."""

    def test_an_expression_over_4_kb_is_refused_before_any_request(self, harness: Harness) -> None:
        uow = harness.uow()
        # Placeholders keep values out of the expression: it is the number of terms that grows.
        spec = functools.reduce(operator.or_, (attr("balance") == i for i in range(400)))
        with uow:
            harness.log.clear()
            with pytest.raises(errors.ValidationError, match="4096"):
                uow.repository(Account).find(spec & (attr("balance") > 0))
        assert harness.operations() == []

    def test_direct_writes_and_batches_refuse_oversized_items(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        big = Gadget("big", name="x" * (400 * 1024))
        harness.log.clear()
        for write in (repo.put, repo.save, lambda g: repo.put_many([Gadget("ok"), g])):
            with pytest.raises(errors.ValidationError, match="400 KB"):
                write(big)
        assert harness.operations() == []
        assert repo.count() == 0
