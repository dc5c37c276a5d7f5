"""The README demo as a user runs it, and money conservation under concurrency on moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

import persistence as p
from domain_example.domain import commands
from domain_example.entrypoints.local import local_container
from domain_example.service_layer import views
from domain_example.service_layer.retrying import ConflictRetry
from persistence.testing.moto_server import MotoServer

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB")
    }
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "domain_example", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    done = run("--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_demo_conserves_money(summary: dict[str, Any]) -> None:
    assert summary["money_conserved"] is True
    assert summary["eur_before"] == summary["eur_after"] == "2600"
    # 4 threads x 8 transfers on 4 accounts: each transfer is done, or gave up after its last
    # retry (8 attempts) and wrote nothing. Giving up is rare but real: 2 of 960 transfers in 30
    # runs, so "none gave up" failed about one run in fifteen; the accounting always holds.
    transfers = summary["transfers"]
    assert transfers["attempted"] + transfers["failed"] == 32
    assert summary["gave_up"] == transfers["failed"]


def test_the_demo_shows_rejections_idempotency_and_soft_delete(summary: dict[str, Any]) -> None:
    assert [r.rsplit(": ", 1)[1] for r in summary["rejections"]] == [
        "insufficient_funds",
        "currency_mismatch",
    ]
    assert summary["idempotent_replay"] is True
    assert summary["closed_account_hidden"] is True
    assert summary["balances"]["erin-1"] == "-50 EUR"


def test_the_demo_queries_each_index(summary: dict[str, Any]) -> None:
    plans = {q["name"]: q["plan"] for q in summary["queries"]}
    assert plans["accounts of alice"] == "Query payments.by_owner"
    assert plans["alice-1 sent today"] == "Query payments.transfers_out"
    assert plans["alice-1 received"] == "Query payments.transfers_in"
    counts = {q["name"]: q["count"] for q in summary["queries"]}
    assert counts["accounts of alice"] == 2  # the closed third account is soft-deleted
    assert counts["overdrawn accounts"] == 1


def test_the_demo_statistics_come_from_event_handlers(summary: dict[str, Any]) -> None:
    stats = summary["stats"]
    sent = sum(s["transfers_sent"] for s in stats.values())
    received = sum(s["transfers_received"] for s in stats.values())
    # Every completed EUR transfer was counted once on each side, by the statistics consumer.
    assert sent == received == summary["transfers"]["completed"] + 1  # + the idempotent one
    assert summary["event_handler_failures"] == 0
    assert summary["events_handled"] > 0 and summary["notifications"] > 0


def test_the_demo_s_events_are_committed_relayed_and_consumed_alike(
    summary: dict[str, Any],
) -> None:
    events = summary["events"]
    assert events["agree"] is True
    assert events["committed"] == events["relayed"] == events["consumed"] > 0
    assert (events["pending"], events["consumer_failures"]) == (0, 0)
    # Its relay that dies between publishing and marking: published twice, applied once.
    assert events["published"] == events["committed"] + 1
    assert events["duplicates_absorbed"] == 1


def test_the_demo_counts_requests_per_operation(summary: dict[str, Any]) -> None:
    requests = summary["requests"]
    assert requests["TransactWriteItems"] >= 32
    assert requests["Query"] >= 3 and requests["Scan"] >= 2
    assert requests["BatchGetItem"] >= 1


def test_the_readable_summary_and_help() -> None:
    done = run("--threads", "2", "--transfers", "3")
    assert done.returncode == 0, done.stderr
    assert "money conserved: yes" in done.stdout
    assert "agree: yes" in done.stdout
    assert "conflicts retried:" in done.stdout
    assert "Traceback" not in done.stderr
    usage = run("--help")
    assert usage.returncode == 0
    assert "--endpoint-url" in usage.stdout and "serve" in usage.stdout


def test_money_is_conserved_under_concurrent_transfers(
    moto: MotoServer, dynamodb_client: Any
) -> None:
    app = local_container(moto.endpoint_url)
    app.retry.override(providers.Singleton(ConflictRetry, 20))  # 4 threads on 3 accounts
    ids = ["m1", "m2", "m3"]
    for account_id in ids:
        app.bus().handle(commands.OpenAccount(account_id, "mo", "EUR"))
        app.bus().handle(commands.Deposit(account_id, Decimal("100")))

    completed: list[str] = []

    def worker(offset: int) -> None:
        for n in range(6):
            source, target = ids[(offset + n) % 3], ids[(offset + n + 1) % 3]
            try:
                result = app.bus().handle(commands.TransferMoney(source, target, Decimal(n + 1)))
            except p.ConcurrencyConflict:
                continue  # lost every race: nothing of it was written
            completed.append(result["transfer_id"])

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert views.total_balance(app.persistence.unit_of_work(), ids) == Decimal("300")
    assert app.retry().conflicts > 0  # the races did happen, and were retried
    stats = views.owner_stats(app.persistence.unit_of_work(), "mo")
    assert stats["transfers_sent"] == stats["transfers_received"] == len(completed)
