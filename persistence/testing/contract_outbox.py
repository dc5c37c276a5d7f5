"""The outbox: events written in the commit, sharded by aggregate, relayed once per mark.

Part of the behaviour contract (`persistence.testing.contract`): subclass `OutboxContract`
in a test module that provides a `harness` fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from .. import errors
from ..model.keys import Key
from ..model.mapping import Mapping
from ..model.marshal import Item
from ..query.planner import plan
from ..query.specification import attr
from . import seeding
from .harness import Harness
from .models import ACCOUNTS, BANK, Account, Deposited


def _outbox(shards: int = 16, retention: timedelta | None = timedelta(days=7)) -> Any:
    from ..messaging.outbox import Outbox

    return Outbox(BANK, event_types=[Deposited], shards=shards, retention=retention)


def _source(h: Harness) -> Any:
    """What a relay is given: the boto3 client on DynamoDB (the documented first choice), the
    store in memory."""
    client = getattr(h, "client", None)
    return client if client is not None else h.backend


def _needs_transactions(h: Harness) -> None:
    # A backend sending one-action commits as single writes (dynalite's harness) has no
    # TransactWriteItems: every outbox commit is at least two actions.
    if getattr(h.backend, "single_action_writes", False):
        pytest.skip("needs TransactWriteItems: an outbox commit writes two actions or more")


def _source_of(account_id: str) -> tuple[str, Any]:
    return (BANK.name, ACCOUNTS.key_of(Account(account_id, "x")))


def _ids_in_distinct_shards(outbox: Any, n: int) -> list[str]:
    """n account ids whose events land in n different shards."""
    found: dict[int, str] = {}
    i = 0
    while len(found) < n:
        account_id = f"acc{i}"
        found.setdefault(outbox.shard_of(_source_of(account_id)), account_id)
        i += 1
    return list(found.values())


def _items(h: Harness, outbox: Any, shard: int) -> list[Item]:
    """The pending records of a shard, straight from the backend (a consistent Query)."""
    read = plan(outbox.mapping, attr("shard") == shard, consistent=True)
    items: list[Item] = h.backend.read(read, limit=None, start_key=None).items
    return items


def _archived(h: Harness, outbox: Any) -> list[Item]:
    """Every archive record of the outbox (a consistent Query per shard)."""
    from ..messaging.outbox import OutboxRecord

    archive: Mapping[Any] = _ARCHIVES.setdefault(
        outbox.archive_prefix,
        Mapping(
            OutboxRecord,
            BANK,
            key=Key(pk=outbox.archive_prefix + "{shard}", sk=outbox.mapping.key.sk.text),
            events=None,
            type_name=outbox.type_name,
        ),
    )
    out = []
    for shard in range(outbox.shards):
        read = plan(archive, attr("shard") == shard, consistent=True)
        out.extend(h.backend.read(read, limit=None, start_key=None).items)
    return out


_ARCHIVES: dict[str, Mapping[Any]] = {}


def _deposit(h: Harness, outbox: Any, account_id: str, *amounts: int) -> None:
    uow = h.uow(outbox=outbox)
    with uow:
        account = uow.repository(Account).get(account_id=account_id)
        for amount in amounts:
            account.deposit(Decimal(amount))
        uow.commit()


class OutboxContract:
    """The transactional outbox and its relay."""

    def _outbox(self) -> Any:
        return _outbox()

    def test_events_are_written_in_the_same_transaction_and_relayed_once(
        self, harness: Harness
    ) -> None:
        outbox = self._outbox()
        seeding.open_accounts(harness, Account("a1", "alice"))
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
        seeding.open_accounts(harness, Account("a1", "alice"))
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

    # ------------------------------------------------------------------ sharding

    def test_records_are_spread_over_shards_by_the_raising_aggregate(
        self, harness: Harness
    ) -> None:
        _needs_transactions(harness)
        outbox = _outbox(shards=8)
        ids = [f"s{i}" for i in range(24)]
        seeding.open_accounts(harness, *[Account(i, "alice") for i in ids])
        for account_id in ids:
            _deposit(harness, outbox, account_id, 1, 2)
        by_shard = {s: _items(harness, outbox, s) for s in range(outbox.shards)}
        assert sum(len(items) for items in by_shard.values()) == 48
        assert sum(1 for items in by_shard.values() if items) >= 4  # spread, not one partition
        for shard, items in by_shard.items():
            for item in items:
                account_id = outbox.codec.decode(
                    item["event_type"]["S"], item["payload"]["S"]
                ).account_id
                # Every event of an aggregate is in that aggregate's shard, and nowhere else.
                assert outbox.shard_of(_source_of(account_id)) == shard
                assert item[BANK.partition_key] == outbox.pending_key(shard)

    def test_events_are_relayed_in_order_per_aggregate_and_per_commit(
        self, harness: Harness
    ) -> None:
        _needs_transactions(harness)
        outbox = _outbox(shards=4)
        ids = [*_ids_in_distinct_shards(outbox, 2), "o0", "o1", "o2"]
        seeding.open_accounts(harness, *[Account(i, "alice") for i in ids])
        amount = 0
        for _ in range(3):  # commits interleaved between aggregates
            for account_id in ids:
                _deposit(harness, outbox, account_id, amount + 1, amount + 2, amount + 3)
                amount += 3
        published: list[Deposited] = []
        relay = outbox.relay(_source(harness), published.append)
        while relay.run_once(limit=4):  # small batches: order must hold across runs too
            pass
        assert len(published) == 3 * 3 * len(ids)
        for account_id in ids:
            amounts = [e.amount for e in published if e.account_id == account_id]
            assert amounts == sorted(amounts)  # commits in order, events of a commit in order

    # ------------------------------------------------------------------ relays

    def test_a_relay_takes_a_boto3_client_a_backend_or_a_store(self, harness: Harness) -> None:
        _needs_transactions(harness)
        from ..messaging.outbox import OutboxRelay

        outbox = self._outbox()
        seeding.open_accounts(harness, Account("a1", "alice"))
        _deposit(harness, outbox, "a1", 3)
        published: list[Any] = []
        assert OutboxRelay(outbox, _source(harness), published.append).run_once() == 1
        _deposit(harness, outbox, "a1", 4)
        assert OutboxRelay(outbox, harness.backend, published.append).run_once() == 1
        assert published == [Deposited("a1", Decimal(3)), Deposited("a1", Decimal(4))]
        with pytest.raises(errors.ValidationError, match="boto3 DynamoDB client"):
            OutboxRelay(outbox, object(), published.append)
        with pytest.raises(errors.ValidationError, match="not one of this outbox's shards"):
            OutboxRelay(outbox, harness.backend, published.append).run_once(shards=[16])

    def test_two_relays_at_once_never_both_mark_a_record(self, harness: Harness) -> None:
        """Relay B runs in the middle of relay A's first publish: both have read the same
        pending records, both publish, but each record is marked (moved to the archive) once."""
        _needs_transactions(harness)
        outbox = _outbox(shards=1)
        seeding.open_accounts(harness, Account("a1", "alice"))
        _deposit(harness, outbox, "a1", 1, 2, 3)
        published_a: list[Any] = []
        published_b: list[Any] = []
        relay_b = outbox.relay(_source(harness), published_b.append)
        marked_by_b: list[int] = []

        def publish_a(event: Any) -> None:
            if not marked_by_b:
                marked_by_b.append(relay_b.run_once())
            published_a.append(event)

        relay_a = outbox.relay(_source(harness), publish_a)
        marked_by_a = relay_a.run_once()
        assert marked_by_b == [3]
        assert marked_by_a == 0  # A published (at least once) but every mark was B's
        assert published_b == [Deposited("a1", Decimal(n)) for n in (1, 2, 3)]
        assert published_a == published_b
        assert _items(harness, outbox, 0) == []
        archived = _archived(harness, outbox)
        assert len(archived) == 3
        assert len({a["sk"]["S"] for a in archived}) == 3

    def test_parallel_relays_split_the_shards(self, harness: Harness) -> None:
        _needs_transactions(harness)
        outbox = _outbox(shards=4)
        ids = _ids_in_distinct_shards(outbox, 4)
        seeding.open_accounts(harness, *[Account(i, "alice") for i in ids])
        for account_id in ids:
            _deposit(harness, outbox, account_id, 1)
        assert outbox.shards_for(0, 2) == [0, 2] and outbox.shards_for(1, 2) == [1, 3]
        seen: list[list[Any]] = [[], []]
        counts = [
            outbox.relay(_source(harness), seen[w].append).run_once(shards=outbox.shards_for(w, 2))
            for w in (0, 1)
        ]
        assert counts == [2, 2]
        for w in (0, 1):
            assert {outbox.shard_of(_source_of(e.account_id)) % 2 for e in seen[w]} == {w}

    def test_a_failed_publish_stops_its_shard_and_is_retried_first(self, harness: Harness) -> None:
        _needs_transactions(harness)
        outbox = _outbox(shards=4)
        stuck, other = _ids_in_distinct_shards(outbox, 2)
        seeding.open_accounts(harness, Account(stuck, "alice"), Account(other, "bob"))
        _deposit(harness, outbox, stuck, 1, 2, 3)
        _deposit(harness, outbox, other, 10, 20)
        published: list[Any] = []
        refused: list[Any] = []

        def publish(event: Any) -> None:
            if event == Deposited(stuck, Decimal(2)) and not refused:
                refused.append(event)
                raise ConnectionError("the broker is down")
            published.append(event)

        relay = outbox.relay(_source(harness), publish)
        assert relay.run_once() == 3  # stuck's first event, and the other shard in full
        assert [f.shard for f in relay.failures] == [outbox.shard_of(_source_of(stuck))]
        assert isinstance(relay.failures[0].error, ConnectionError)
        assert [e.amount for e in published if e.account_id == stuck] == [1]
        assert [e.amount for e in published if e.account_id == other] == [10, 20]
        assert relay.run_once() == 2
        assert relay.failures == []
        assert [e.amount for e in published if e.account_id == stuck] == [1, 2, 3]

    def test_relay_reads_do_not_grow_with_published_history(self, harness: Harness) -> None:
        _needs_transactions(harness)
        outbox = _outbox(shards=1)
        seeding.open_accounts(harness, Account("a1", "alice"))
        for n in range(30):
            _deposit(harness, outbox, "a1", n + 1)
        relay = outbox.relay(_source(harness), lambda event: None)
        assert relay.run_once(limit=100) == 30
        assert relay.items_read == 30
        _deposit(harness, outbox, "a1", 99, 100)
        store = getattr(harness, "store", None)
        examined_before = store.examined if store is not None else 0
        harness.log.clear()
        assert relay.run_once(limit=100) == 2
        # Only the two pending records were read: the 30 published ones are in the archive.
        assert relay.items_read == 32
        if store is not None:
            assert store.examined - examined_before == 2
        queries = harness.log.of("Query")
        if queries:  # DynamoDB: the requests as sent
            assert len(queries) == 1
            assert queries[0]["ConsistentRead"] is True
            assert outbox.pending_key(0) in queries[0]["ExpressionAttributeValues"].values()
        assert relay.run_once() == 0 and relay.items_read == 32

    def test_a_published_record_is_archived_with_a_ttl(self, harness: Harness) -> None:
        _needs_transactions(harness)
        outbox = _outbox(shards=2)
        assert BANK.ttl_attribute == "expires_at"  # declared by the outbox
        seeding.open_accounts(harness, Account("a1", "alice"))
        _deposit(harness, outbox, "a1", 5)
        shard = outbox.shard_of(_source_of("a1"))
        (pending,) = _items(harness, outbox, shard)
        assert "expires_at" not in pending  # a pending record never expires
        assert outbox.event_from_image(pending) == Deposited("a1", Decimal(5))
        before = datetime.now(UTC)
        assert outbox.relay(_source(harness), lambda e: None).run_once() == 1
        (archived,) = _archived(harness, outbox)
        expires = int(archived["expires_at"]["N"])
        week = before + timedelta(days=7)
        assert int(week.timestamp()) - 1 <= expires <= int(week.timestamp()) + 60
        assert archived["status"] == {"S": "done"}
        assert archived["sk"] == pending["sk"]
        assert outbox.event_from_image(archived) is None

    def test_without_retention_a_published_record_is_deleted(self, harness: Harness) -> None:
        _needs_transactions(harness)
        from ..messaging.outbox import OutboxRelay

        outbox = _outbox(shards=2, retention=None)
        seeding.open_accounts(harness, Account("a1", "alice"))
        _deposit(harness, outbox, "a1", 5, 6)
        harness.log.clear()
        published: list[Any] = []
        relay = OutboxRelay(outbox, _source(harness), published.append, mark_batch=1)
        assert relay.run_once() == 2
        assert published == [Deposited("a1", Decimal(5)), Deposited("a1", Decimal(6))]
        assert harness.operations().count("DeleteItem") == 2
        assert "TransactWriteItems" not in harness.operations()
        assert _archived(harness, outbox) == []
        assert all(_items(harness, outbox, s) == [] for s in range(2))

    def test_published_records_of_a_shard_are_marked_in_batches(self, harness: Harness) -> None:
        _needs_transactions(harness)
        from ..messaging.outbox import OutboxRelay

        outbox = _outbox(shards=1)
        seeding.open_accounts(harness, Account("a1", "alice"))
        for n in range(5):
            _deposit(harness, outbox, "a1", 2 * n + 1, 2 * n + 2)
        harness.log.clear()
        published: list[Any] = []
        relay = OutboxRelay(outbox, _source(harness), published.append, mark_batch=4)
        assert relay.run_once() == 10
        assert [int(e.amount) for e in published] == list(range(1, 11))
        assert harness.operations().count("TransactWriteItems") == 3  # 4 + 4 + 2 records
        assert len(_archived(harness, outbox)) == 10
        with pytest.raises(errors.ValidationError, match="mark_batch"):
            OutboxRelay(outbox, _source(harness), published.append, mark_batch=51)

    def test_records_published_elsewhere_are_marked_from_their_images(
        self, harness: Harness
    ) -> None:
        """The stream relay publishes from the pending record's image; marking it afterwards
        empties the pending partition, so a polling relay does not publish it again."""
        _needs_transactions(harness)
        from ..messaging.outbox import OutboxRelay

        outbox = _outbox(shards=1)
        seeding.open_accounts(harness, Account("a1", "alice"))
        _deposit(harness, outbox, "a1", 1, 2, 3)
        images = _items(harness, outbox, 0)
        unrelated = {"pk": {"S": "ACCOUNT#a1"}, "sk": {"S": "ACCOUNT"}, "_type": {"S": "Account"}}
        relay = OutboxRelay(outbox, _source(harness), lambda e: None, mark_batch=2)
        assert relay.mark_published([*images, unrelated]) == 3
        assert relay.mark_published(images) == 0  # marked already: not counted twice
        assert _items(harness, outbox, 0) == []
        assert len(_archived(harness, outbox)) == 3
        assert seeding.stored_account(harness, "a1").balance == 6  # the unrelated item is kept
