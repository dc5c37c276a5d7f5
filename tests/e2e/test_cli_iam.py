"""`python -m persistence iam-policy MODULE`: a least-privilege policy, checked against what the
library really sends."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from persistence import attr
from persistence.dynamodb.unit_of_work import DynamoDBRepository, DynamoDBUnitOfWork
from persistence.iam import iam_policy
from persistence.tables import create_table
from persistence.testing.harness import SECRET, record_requests
from persistence.testing.models import ACCOUNTS, ALL_MAPPINGS, ALL_TABLES, BANK, Account

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "persistence", "iam-policy", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def _allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and action in s["Action"]
        and any(fnmatch.fnmatchcase(resource, pattern) for pattern in s["Resource"])
        for s in policy["Statement"]
    )


def test_cli_prints_the_policy_for_a_module() -> None:
    done = _cli("persistence.testing.models", "--region", "eu-west-1", "--account", "123456789012")
    assert done.returncode == 0, done.stderr
    policy = json.loads(done.stdout)
    assert policy == iam_policy(*ALL_TABLES, region="eu-west-1", account="123456789012")
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/contract_bank"
    assert _allowed(policy, "dynamodb:PutItem", arn)
    assert _allowed(policy, "dynamodb:Query", arn + "/index/by_owner")
    assert not _allowed(policy, "dynamodb:PutItem", arn + "/index/by_owner")
    assert not _allowed(policy, "dynamodb:DeleteTable", arn)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
    }
    resources = {r for s in policy["Statement"] for r in s["Resource"]}
    assert all(r.startswith("arn:aws:dynamodb:eu-west-1:123456789012:table/") for r in resources)
    assert not any("*" in r for r in resources)


def test_cli_read_only_and_one_attribute() -> None:
    done = _cli("persistence.testing.models:GADGETS", "--read-only")
    assert done.returncode == 0, done.stderr
    policy = json.loads(done.stdout)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
    }
    assert [r for s in policy["Statement"] for r in s["Resource"]] == [
        "arn:aws:dynamodb:*:*:table/contract_gadgets"
    ]


def test_cli_refuses_a_module_without_tables() -> None:
    done = _cli("json")
    assert done.returncode == 2
    assert "no Table or Mapping" in done.stderr
    assert _cli("no_such_module_here").returncode == 2


def test_the_policy_covers_every_request_the_library_sends(dynamodb_client: Any) -> None:
    """Drive every kind of access and check each request's IAM action and resource is allowed
    (a transaction needs the action of each of its items)."""
    for table in ALL_TABLES:
        create_table(dynamodb_client, table)
    log = record_requests(dynamodb_client)
    uow = DynamoDBUnitOfWork(dynamodb_client, ALL_MAPPINGS, cursor_secret=SECRET)
    with uow:
        uow.repository(Account).add(Account("a1", "alice"))
        uow.repository(Account).add(Account("a2", "alice"))
        uow.commit()
    with uow:
        repo = uow.repository(Account)
        a1 = repo.get(account_id="a1")
        a1.deposit(Decimal(1))
        repo.remove(repo.get(account_id="a2"))
        uow.commit()
    with uow:
        uow.check(Account, {"account_id": "a1"}, attr("owner") == "alice")
        uow.repository(Account).add(Account("a3", "alice"))
        uow.commit()
    standalone = DynamoDBRepository(dynamodb_client, ACCOUNTS, cursor_secret=SECRET)
    standalone.get_many([{"account_id": "a1"}])
    standalone.find(attr("owner") == "alice")  # Query on the by_owner index
    standalone.count(attr("balance") > 0)  # Scan
    standalone.put_many([Account(f"b{i}", "bob") for i in range(3)])
    standalone.delete_many([{"account_id": "b0"}])
    standalone.put(Account("c1", "carol"))
    standalone.delete(account_id="c1")

    policy = iam_policy(*ALL_MAPPINGS)
    needed: list[tuple[str, str]] = []
    for operation, params in log.calls:
        if operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, request),) = item.items()
                action = "ConditionCheckItem" if kind == "ConditionCheck" else f"{kind}Item"
                needed.append((action, request["TableName"]))
        elif operation in ("BatchGetItem", "BatchWriteItem"):
            needed.extend((operation, table) for table in params["RequestItems"])
        else:
            table = params["TableName"]
            if params.get("IndexName"):
                table += "/index/" + params["IndexName"]
            needed.append((operation, table))
    assert {a for a, _ in needed} >= {"PutItem", "UpdateItem", "DeleteItem", "Query", "Scan"}
    assert ("ConditionCheckItem", BANK.name) in needed
    assert any("/index/" in r for _, r in needed)
    missing = [
        (action, resource)
        for action, resource in needed
        if not _allowed(policy, f"dynamodb:{action}", f"arn:aws:dynamodb:*:*:table/{resource}")
    ]
    assert missing == []


def test_iam_policy_needs_a_table() -> None:
    with pytest.raises(ValueError):
        iam_policy()
