"""Repositories: reads by key, queries, pages, filters and deletes.

Part of the behaviour contract (`persistence.testing.contract`): subclass `RepositoryContract`
in a test module that provides a `harness` fixture.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from .. import errors
from ..query.specification import attr
from . import seeding
from .harness import Harness
from .models import (
    GADGETS,
    Account,
    Gadget,
    Order,
)


class RepositoryContract:
    """Repository reads and writes: get, get_many, find and pages, count, the planner's choices."""

    def test_get_returns_what_was_added_and_missing_raises(self, harness: Harness) -> None:
        seeding.open_accounts(harness, Account("a1", "alice", Decimal("10")))
        loaded = seeding.stored_account(harness, "a1")
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
        seeding.open_accounts(harness, Account("a1", "alice"), Account("a2", "bob"))
        uow = harness.uow()
        with uow:
            repo = uow.repository(Account)
            harness.log.clear()
            assert [a.account_id for a in repo.find(attr("account_id") == "a1").items] == ["a1"]
            assert [a.account_id for a in repo.find(attr("owner") == "bob").items] == ["a2"]
            assert {a.account_id for a in repo.find(attr("balance") >= 0).items} == {"a1", "a2"}
        assert harness.operations() == ["GetItem", "Query", "Scan"]

    def test_query_orders_by_sort_key_and_descending_reverses(self, harness: Harness) -> None:
        seeding.place_orders(harness, "c1", 5, day="2024-01-02")
        seeding.place_orders(harness, "c1", 2, day="2024-01-01")
        seeding.place_orders(harness, "c2", 3)
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
        seeding.place_orders(harness, "c1", 12)
        uow = harness.uow()
        with uow:
            repo = uow.repository(Order)
            spec = (attr("customer_id") == "c1") & (attr("total_cents") > 900)
            harness.log.clear()
            totals = [o.total_cents for o in repo.iterate(spec)]
        assert totals == [1000, 1100]
        assert harness.operations() == ["Query"]

    def test_pages_cover_every_item_once_with_limit_before_filter(self, harness: Harness) -> None:
        seeding.place_orders(harness, "c1", 23)
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
        seeding.place_orders(harness, "c1", 30)
        uow = harness.uow()
        with uow:
            repo = uow.repository(Order)
            assert repo.count(attr("customer_id") == "c1") == 30
            assert repo.count((attr("customer_id") == "c1") & (attr("total_cents") < 1000)) == 10
            assert repo.count(attr("total_cents") >= 2000) == 10

    def test_cursors_are_signed_and_bound_to_their_query(self, harness: Harness) -> None:
        seeding.place_orders(harness, "c1", 6)
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
        seeding.open_accounts(harness, Account("a1", "alice"))
        seeding.place_orders(harness, "c1", 2)
        uow = harness.uow()
        with uow:
            assert [a.account_id for a in uow.repository(Account).iterate()] == ["a1"]
            assert uow.repository(Order).count() == 2

    def test_soft_deleted_aggregates_are_hidden_unless_asked(self, harness: Harness) -> None:
        seeding.place_orders(harness, "c1", 3)
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
        seeding.open_accounts(harness, Account("a1", "alice"))
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
