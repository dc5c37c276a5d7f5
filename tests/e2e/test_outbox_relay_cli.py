"""`python -m persistence relay MODULE:ATTR`: a long-lived relay process against the moto server,
stopped by SIGTERM after the event in hand."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import persistence as p
from persistence.testing.models import ACCOUNTS, BANK, Account, Deposited
from persistence.testing.moto_server import MotoServer

ROOT = Path(__file__).resolve().parents[2]
SHARDS = 2

FACTORY = f"""
import json, os, signal
import persistence as p
from persistence.testing.models import BANK, Deposited

OUTBOX = p.Outbox(BANK, event_types=[Deposited], shards={SHARDS})


def make_relay(client):
    out, stop_at = os.environ["RELAY_OUT"], os.environ.get("RELAY_STOP_AT")

    def publish(event):
        with open(out, "a") as f:
            f.write(json.dumps(str(event.amount)) + "\\n")
        if stop_at == str(event.amount):
            os.kill(os.getpid(), signal.SIGTERM)  # a stop request in the middle of a publish

    return p.OutboxRelay(OUTBOX, client, publish)
"""


def _start(moto: MotoServer, tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    (tmp_path / "relay_app.py").write_text(FACTORY)
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "RELAY_OUT": str(tmp_path / "published.jsonl"),
        **env,
    }
    command = [sys.executable, "-m", "persistence", "relay", "relay_app:make_relay"]
    command += ["--endpoint-url", moto.endpoint_url, "--region", "us-east-1", "--max-wait", "0.2"]
    return subprocess.Popen(
        command, cwd=ROOT, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _published(tmp_path: Path) -> list[str]:
    path = tmp_path / "published.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _commit(client: Any, *amounts: int) -> p.Outbox:
    outbox = p.Outbox(BANK, event_types=[Deposited], shards=SHARDS)
    uow = p.DynamoDBUnitOfWork(client, [ACCOUNTS], outbox=outbox, cursor_secret="s")
    with uow:
        account = Account("a1", "ann")
        for amount in amounts:
            account.deposit(Decimal(amount))
        uow.repository(Account).add(account)
        uow.commit()
    return outbox


def _pending(client: Any, outbox: p.Outbox) -> int:
    shard = outbox.shard_of((BANK.name, ACCOUNTS.key_of(Account("a1", "ann"))))
    found = client.query(
        TableName=BANK.name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": outbox.pending_key(shard)},
        ConsistentRead=True,
    )
    return int(found["Count"])


def test_sigterm_during_a_publish_finishes_that_event_then_exits_0(
    moto: MotoServer, dynamodb_client: Any, tmp_path: Path
) -> None:
    p.create_table(dynamodb_client, BANK, poll_interval=0.01)
    outbox = _commit(dynamodb_client, 1, 2, 3)
    process = _start(moto, tmp_path, RELAY_STOP_AT="2")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert _published(tmp_path) == ["1", "2"]  # the third was not started
    assert _pending(dynamodb_client, outbox) == 1  # 1 and 2 were marked before exiting
    assert "relay stopped: 2 events published" in stderr


def test_the_relay_polls_until_events_come_and_stops_on_sigterm(
    moto: MotoServer, dynamodb_client: Any, tmp_path: Path
) -> None:
    p.create_table(dynamodb_client, BANK, poll_interval=0.01)
    process = _start(moto, tmp_path)
    try:
        outbox = _commit(dynamodb_client, 4, 5)  # committed while the relay is already polling
        deadline = time.monotonic() + 60
        while len(_published(tmp_path)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None  # still running, idle
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert _published(tmp_path) == ["4", "5"]
    assert _pending(dynamodb_client, outbox) == 0


def test_a_bad_target_is_a_usage_error(moto: MotoServer, tmp_path: Path) -> None:
    (tmp_path / "relay_app.py").write_text(FACTORY)
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)])}
    for target, message in (
        ("relay_app:nothing", "has no attribute 'nothing'"),
        ("relay_app:OUTBOX", "not a callable"),
        ("no_such_module_x", "cannot import"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "persistence", "relay", target],
            cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
