"""The sharded outbox on its own: stable shards, the order of the sort key, what it declares on
its table, and `event_from_image` on stream images as Lambda delivers them."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

import persistence as p
from persistence.errors import ValidationError
from persistence.messaging.outbox import Outbox, OutboxRelay, shard_of
from persistence.tables import to_cloudformation
from persistence.testing.models import ACCOUNTS, Account, Deposited

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _table(name: str = "outbox_t", ttl: str | None = None) -> p.Table:
    return p.Table(name, partition_key="pk", sort_key="sk", ttl_attribute=ttl)


def _source(account_id: str) -> tuple[str, Any]:
    return ("contract_bank", ACCOUNTS.key_of(Account(account_id, "x")))


def test_the_shard_is_a_stable_hash_of_the_aggregate_key_not_pythons_salted_hash() -> None:
    # Pinned values: every process (any PYTHONHASHSEED), every version, the same shard.
    assert [shard_of(_source(f"a{i}"), 16) for i in range(6)] == _pinned()
    script = (
        "from persistence.messaging.outbox import shard_of\n"
        "from persistence.testing.models import ACCOUNTS, Account\n"
        "print([shard_of(('contract_bank', ACCOUNTS.key_of(Account(f'a{i}', 'x'))), 16)"
        " for i in range(6)])\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == str(_pinned())


def _pinned() -> list[int]:
    return [8, 5, 10, 10, 14, 4]


def test_binary_and_number_keys_have_shards_too() -> None:
    assert 0 <= shard_of(("t", {"pk": {"B": b"\x00\xff"}, "sk": {"N": "12"}}), 7) < 7
    b64 = shard_of(("t", {"pk": {"B": b"\x00\xff"}}), 1000)
    assert b64 == shard_of(("t", {"pk": {"B": bytearray(b"\x00\xff")}}), 1000)
    assert shard_of(("t", {"pk": {"S": "x"}}), 1000) != shard_of(("u", {"pk": {"S": "x"}}), 1000)


def test_every_event_of_an_aggregate_goes_to_its_shard_and_a_commit_keeps_its_order() -> None:
    outbox = Outbox(_table(), event_types=[Deposited], shards=8)
    events = [Deposited("a1", Decimal(n)) for n in range(5)] + [Deposited("b", Decimal(9))]
    sources = [_source("a1")] * 5 + [_source("b")]
    puts = outbox.actions(events, NOW, sources)
    shards = [int(put.item["shard"]["N"]) for put in puts]
    assert shards[:5] == [outbox.shard_of(_source("a1"))] * 5
    assert shards[5] == outbox.shard_of(_source("b"))
    assert all(put.item["pk"] == outbox.pending_key(s) for put, s in zip(puts, shards, strict=True))
    sort_keys = [put.item["sk"]["S"] for put in puts]
    assert sort_keys == sorted(sort_keys)  # time, then position, then id


def test_a_frozen_clock_still_orders_the_commits_of_one_process() -> None:
    outbox = Outbox(_table(), event_types=[Deposited], shards=1)
    first = outbox.actions([Deposited("a", Decimal(1)), Deposited("a", Decimal(2))], NOW)
    second = outbox.actions([Deposited("a", Decimal(3))], NOW)
    keys = [put.item["sk"]["S"] for put in [*first, *second]]
    assert keys == sorted(keys)
    assert len(set(keys)) == 3


def test_events_handed_without_their_aggregate_share_one_shard_per_commit() -> None:
    outbox = Outbox(_table(), event_types=[Deposited], shards=16)
    puts = outbox.actions([Deposited("a", Decimal(n)) for n in range(4)], NOW)
    assert len({put.item["shard"]["N"] for put in puts}) == 1


def test_the_unit_of_work_shards_by_the_aggregate_that_raised_the_event() -> None:
    table = _table("uow_t")
    accounts = p.Mapping(Account, table, key=p.Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT"))
    outbox = Outbox(table, event_types=[Deposited], shards=8)
    store = p.InMemoryStore()
    uow = p.InMemoryUnitOfWork([accounts], store=store, outbox=outbox, cursor_secret="s")
    with uow:
        for i in range(12):
            account = Account(f"u{i}", "o")
            account.deposit(Decimal(i))
            uow.repository(Account).add(account)
        uow.commit()
    published: list[Deposited] = []
    relay = OutboxRelay(outbox, store, published.append)
    for shard in range(8):
        relay.run_once(shards=[shard])
        for event in published:
            key = accounts.key_of(Account(event.account_id, "o"))
            assert outbox.shard_of(("uow_t", key)) == shard
        published.clear()


def test_bad_arguments_are_refused_with_what_to_fix() -> None:
    with pytest.raises(ValidationError, match="sort key"):
        Outbox(p.Table("no_sk", partition_key="pk"))
    for shards in (0, 1001, True, 2.0):
        with pytest.raises(ValidationError, match="shards"):
            Outbox(_table(), shards=shards)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="type_name"):
        Outbox(_table(), type_name="a#b")
    with pytest.raises(ValidationError, match="retention"):
        Outbox(_table(), retention=timedelta(0))
    outbox = Outbox(_table(), shards=4)
    with pytest.raises(ValidationError, match="worker"):
        outbox.shards_for(4, 4)
    relay = OutboxRelay(outbox, p.InMemoryStore(), lambda e: None)
    with pytest.raises(ValidationError, match="limit"):
        relay.run_once(limit=0)
    with pytest.raises(ValidationError, match="twice"):
        relay.run_once(shards=[1, 1])


# ------------------------------------------------------------------------- the table


def test_the_outbox_declares_the_ttl_attribute_its_archive_needs() -> None:
    table = _table("declared")
    Outbox(table)
    assert table.ttl_attribute == "expires_at"
    template = to_cloudformation(table)
    (resource,) = template["Resources"].values()
    assert resource["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }


def test_a_table_with_its_own_ttl_attribute_keeps_it_and_archives_expire_through_it() -> None:
    table = _table("own_ttl", ttl="gone_at")
    outbox = Outbox(table, event_types=[Deposited])
    assert table.ttl_attribute == "gone_at"
    (put,) = outbox.actions([Deposited("a", Decimal(1))], NOW, [_source("a")])
    archive = outbox.archive_item(put.item, NOW)
    assert archive["gone_at"] == {"N": str(int((NOW + timedelta(days=7)).timestamp()))}
    assert "expires_at" not in archive


def test_without_retention_nothing_is_declared() -> None:
    table = _table("no_archive")
    Outbox(table, retention=None)
    assert table.ttl_attribute is None


# ------------------------------------------------------------------------- stream images


def _lambda_image(item: dict[str, Any]) -> dict[str, Any]:
    """A wire item as a stream record's NewImage arrives in Lambda: B values as base64."""
    out = {}
    for name, value in item.items():
        ((tag, inner),) = value.items()
        out[name] = {"B": base64.b64encode(inner).decode()} if tag == "B" else {tag: inner}
    return out


@dataclass(frozen=True)
class Other:
    n: int


def test_event_from_image_decodes_only_this_outboxs_pending_records() -> None:
    table = _table("images")
    outbox = Outbox(table, event_types=[Deposited])
    other_outbox = Outbox(table, event_types=[Deposited], type_name="AuditOutbox")
    (put,) = outbox.actions([Deposited("a1", Decimal("2.5"))], NOW, [_source("a1")])
    assert outbox.event_from_image(_lambda_image(put.item)) == Deposited("a1", Decimal("2.5"))
    archive = outbox.archive_item(put.item, NOW)
    assert outbox.event_from_image(_lambda_image(archive)) is None
    assert other_outbox.event_from_image(_lambda_image(put.item)) is None
    (theirs,) = other_outbox.actions([Deposited("a1", Decimal(1))], NOW, [_source("a1")])
    assert outbox.event_from_image(_lambda_image(theirs.item)) is None
    account_item = {"pk": {"S": "ACCOUNT#a1"}, "sk": {"S": "ACCOUNT"}, "_type": {"S": "Account"}}
    assert outbox.event_from_image(account_item) is None
    blob = {**account_item, "data": {"B": b"\x00\x01"}}
    assert outbox.event_from_image(_lambda_image(blob)) is None


def test_an_unknown_event_type_in_a_pending_image_raises_rather_than_vanishing() -> None:
    table = _table("unknown")
    writer = Outbox(table, event_types=[Other])
    reader = Outbox(table, event_types=[Deposited])
    (put,) = writer.actions([Other(1)], NOW, [_source("a")])
    image = _lambda_image(put.item)
    image["event_type"] = {"S": "nowhere.Missing"}
    with pytest.raises(ValidationError, match="unknown event type"):
        reader.event_from_image(image)
