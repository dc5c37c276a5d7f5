"""The sharded outbox (issue #16, measured): relay throughput on the moto server, items a relay
reads per published event with 1k and with 10k events already published (delete-on-publish:
it must not grow), and the share of outbox writes on the busiest shard (at most 2/N).

Throughput goes over real HTTP to the embedded moto server (one Query per shard and poll, one
TransactWriteItems per event: delete the pending record, put its archive copy), so it measures
the library plus moto, not DynamoDB. The read counts use the in-memory store, whose `examined`
counts every stored item a Query looks at, and the relay's own `items_read` (the ScannedCount
sum): the history is made the real way, committed and relayed, 10k events in a few seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import persistence as p
from persistence.testing.moto_server import moto_server

if TYPE_CHECKING:  # suites.py imports this module from its SUITES list: no import cycle at runtime
    from .suites import Row, Settings

GOAL = "16 outbox"
SHARDS = 16


@dataclass
class Wallet:
    wallet_id: str
    balance: Decimal = Decimal(0)
    events: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Credited:
    wallet_id: str
    amount: Decimal


def _declare(name: str) -> tuple[p.Mapping[Wallet], p.Outbox]:
    table = p.Table(name, partition_key="pk", sort_key="sk")
    wallets = p.Mapping(Wallet, table, key=p.Key(pk="WALLET#{wallet_id}", sk="WALLET"))
    return wallets, p.Outbox(table, event_types=[Credited], shards=SHARDS)


def _commit(uow: Any, ids: list[str], per_commit: int = 20) -> None:
    """One event per wallet, `per_commit` wallets per commit."""
    for at in range(0, len(ids), per_commit):
        with uow:
            repo = uow.repository(Wallet)
            for wallet_id in ids[at : at + per_commit]:
                wallet = Wallet(wallet_id)
                wallet.events.append(Credited(wallet_id, Decimal(1)))
                repo.add(wallet)
            uow.commit()


def _drain(relay: p.OutboxRelay) -> int:
    total = 0
    while count := relay.run_once(limit=100):
        total += count
    return total


def _throughput(s: Settings) -> Row:
    from .suites import Row

    events = 60 if s.quick else 1000
    wallets, outbox = _declare("bench_outbox")
    with moto_server() as server:
        client = server.client()
        p.create_table(client, outbox.table, poll_interval=0.01)
        uow = p.DynamoDBUnitOfWork(client, [wallets], outbox=outbox, cursor_secret="bench")
        _commit(uow, [f"w{i:06d}" for i in range(events)])
        published: list[Any] = []
        relay = p.OutboxRelay(outbox, client, published.append)
        start = time.perf_counter()
        done = _drain(relay)
        elapsed = time.perf_counter() - start
    assert done == events == len(published)
    return Row(
        GOAL,
        f"relay throughput, moto server, {SHARDS} shards (events/s)",
        round(done / elapsed, 1),
        unit="events/s",
        note=f"{events} events; one TransactWriteItems per event, over HTTP to moto",
    )


def _reads_and_spread(s: Settings) -> list[Row]:
    from .suites import Row

    wallets, outbox = _declare("bench_outbox_memory")
    store = p.InMemoryStore()
    uow = p.InMemoryUnitOfWork([wallets], store=store, outbox=outbox, cursor_secret="bench")
    relay = p.OutboxRelay(outbox, store, lambda event: None)
    rows: list[Row] = []
    published_so_far = 0
    fresh = 0
    for history in (1000, 10000):
        ids = [f"h{i:06d}" for i in range(published_so_far, history)]
        _commit(uow, ids, per_commit=50)
        published_so_far += _drain(relay)
        assert published_so_far == history
        _commit(uow, [f"n{fresh + i:06d}" for i in range(100)])
        fresh += 100
        read_before, examined_before = relay.items_read, store.examined
        count = relay.run_once(limit=100)
        assert count == 100
        read = relay.items_read - read_before
        examined = store.examined - examined_before
        rows.append(
            Row(
                GOAL,
                f"items read per published event, {history // 1000}k already published",
                max(read, examined) / count,
                target=1.0,
                unit="items",
                note=f"ScannedCount {read}, items examined {examined}, for {count} events",
            )
        )
    # The busiest shard's share of the outbox writes: 2,000 aggregates, one event each.
    _commit(uow, [f"s{i:06d}" for i in range(2000)], per_commit=50)
    counts = [0] * SHARDS
    for put in _pending_puts(outbox, store):
        counts[put] += 1
    rows.append(
        Row(
            GOAL,
            f"busiest shard's share of outbox writes, {SHARDS} shards, 2k aggregates",
            round(max(counts) / sum(counts), 4),
            target=2 / SHARDS,
            unit="share",
            note=f"per shard: {counts}",
        )
    )
    return rows


def _pending_puts(outbox: p.Outbox, store: p.InMemoryStore) -> list[int]:
    from persistence.query.planner import plan

    shards = []
    for shard in range(outbox.shards):
        read = plan(outbox.mapping, p.attr("shard") == shard, consistent=True)
        page = store.read(read, limit=None, start_key=None)
        shards.extend(shard for _ in page.items)
    return shards


def outbox(s: Settings, skipped: list[str]) -> list[Row]:
    return [_throughput(s), *_reads_and_spread(s)]
