"""`python -m persistence iam-policy MODULE`: a least-privilege policy, checked against what the
library really sends."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import shlex
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest

from persistence import attr, cli
from persistence import tables as ops
from persistence.backends.dynamodb.unit_of_work import DynamoDBRepository, DynamoDBUnitOfWork
from persistence.iam import OPERATIONS, deployment_policy, iam_policy, required
from persistence.lambda_runtime import prewarm
from persistence.tables import create_table
from persistence.testing.harness import SECRET, record_requests
from persistence.testing.models import ACCOUNTS, ALL_MAPPINGS, ALL_TABLES, BANK, Account
from tests import fixtures_tables as fixtures

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
        "dynamodb:DescribeEndpoints",
    }
    # Only DescribeEndpoints (prewarm) is granted on "*": it is authorised on no other resource.
    for statement in policy["Statement"]:
        if statement["Action"] == ["dynamodb:DescribeEndpoints"]:
            assert statement["Resource"] == ["*"]
            continue
        assert "dynamodb:DescribeEndpoints" not in statement["Action"]
        for resource in statement["Resource"]:
            assert resource.startswith("arn:aws:dynamodb:eu-west-1:123456789012:table/")
            assert "*" not in resource
    no_prewarm = _cli("persistence.testing.models", "--no-prewarm")
    assert no_prewarm.returncode == 0, no_prewarm.stderr
    assert "DescribeEndpoints" not in no_prewarm.stdout
    assert json.loads(no_prewarm.stdout) == iam_policy(*ALL_TABLES, prewarm=False)


def test_cli_deployment_policy() -> None:
    done = _cli("persistence.testing.models:BANK", "--deployment", "--account", "123456789012")
    assert done.returncode == 0, done.stderr
    policy = json.loads(done.stdout)
    assert policy == deployment_policy(BANK, account="123456789012")
    arn = "arn:aws:dynamodb:*:123456789012:table/contract_bank"
    for action in ("CreateTable", "DescribeTable", "UpdateTable", "DeleteTable", "Scan"):
        assert _allowed(policy, f"dynamodb:{action}", arn)
    assert not _allowed(policy, "dynamodb:PutItem", arn)
    assert not _allowed(policy, "dynamodb:Scan", arn + "/index/by_owner")
    assert _cli("persistence.testing.models:BANK", "--deployment", "--read-only").returncode == 2


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
        "dynamodb:DescribeEndpoints",
    }
    assert [r for s in policy["Statement"] for r in s["Resource"]] == [
        "arn:aws:dynamodb:*:*:table/contract_gadgets",
        "*",
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

    prewarm(dynamodb_client)

    policy = iam_policy(*ALL_MAPPINGS)
    sent = {operation for operation, _ in log.calls}
    assert sent <= set(OPERATIONS), f"add {sent - set(OPERATIONS)} to persistence.iam.OPERATIONS"
    needed = [pair for operation, params in log.calls for pair in required(operation, params)]
    actions = {a for a, _ in needed}
    assert actions >= {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert actions >= {"dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeEndpoints"}
    assert ("dynamodb:ConditionCheckItem", BANK.name) in needed
    assert any("/index/" in r for _, r in needed)
    assert _missing(policy, needed) == []


def test_the_deployment_policy_covers_every_tables_command(
    dynamodb_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every `python -m persistence tables` command, in process, with its requests recorded."""
    ops.ensure_table(dynamodb_client, fixtures.readings_table, poll_interval=0.01)
    item = fixtures.readings.to_item(fixtures.Reading("s1", 1, value="v", unit="C"))
    dynamodb_client.put_item(TableName=fixtures.readings_table.name, Item=item)
    log = record_requests(dynamodb_client)
    monkeypatch.setattr(cli, "_client", lambda _args: dynamodb_client)
    module = "tests.fixtures_tables"
    for command in (
        ["ensure", module],
        ["describe", module],
        ["diff", module],
        ["update", f"{module}:readings", "--provisioned", "5,5", "--yes"],
        ["copy", f"{module}:readings", "--target", "cli_readings_copy", "--segments", "1"],
        ["delete", module, "--yes"],
    ):
        assert cli.main(["tables", *command, "--timeout", "10"]) == 0, command
    sent = {operation for operation, _ in log.calls}
    assert sent <= set(OPERATIONS), f"add {sent - set(OPERATIONS)} to persistence.iam.OPERATIONS"
    assert sent >= {"CreateTable", "DescribeTable", "UpdateTable", "DeleteTable", "Scan"}
    assert sent >= {"BatchWriteItem", "DescribeTimeToLive", "UpdateTimeToLive"}
    copy_target = ops.renamed(fixtures.readings_table, "cli_readings_copy")
    policy = deployment_policy(fixtures.bank, fixtures.readings_table, copy_target)
    needed = [pair for operation, params in log.calls for pair in required(operation, params)]
    assert _missing(policy, needed) == []


def _missing(policy: dict[str, Any], needed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (action, resource)
        for action, resource in needed
        if not _allowed(
            policy,
            action,
            resource if resource == "*" else f"arn:aws:dynamodb:*:*:table/{resource}",
        )
    ]


def _library_sources() -> list[Path]:
    library = [p for p in (ROOT / "persistence").rglob("*.py") if "testing" not in p.parts]
    return library + sorted((ROOT / "domain_example").rglob("*.py"))


def test_every_operation_the_library_source_names_is_in_the_table() -> None:
    """Static, so that a new call fails here even when no test sends it: every botocore
    DynamoDB method called (`client.describe_limits(...)`) and every operation name written as a
    string (the fast paths, the planner) in persistence/ (but its testing helpers) and
    domain_example/ must be in persistence.iam.OPERATIONS, and every entry must still be used."""
    model = botocore.session.get_session().get_service_model("dynamodb")
    by_method = {botocore.xform_name(name): name for name in model.operation_names}
    names = set(model.operation_names)
    found: dict[str, set[str]] = {}
    indirect: list[str] = []
    for path in _library_sources():
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method = node.func.attr
                if method in by_method:
                    found.setdefault(by_method[method], set()).add(where)
                if method in ("get_waiter", "get_paginator", "_make_api_call"):
                    # Waiters and paginators send operations this scan cannot see by name.
                    indirect.append(f"{where}:{node.lineno} {method}")
            elif isinstance(node, ast.Constant) and node.value in names:
                found.setdefault(str(node.value), set()).add(where)
    assert indirect == [], "list the operations these send in persistence.iam.OPERATIONS"
    unknown = {op: sorted(files) for op, files in found.items() if op not in OPERATIONS}
    assert unknown == {}, "add these operations to persistence.iam.OPERATIONS"
    assert set(OPERATIONS) == set(found), "OPERATIONS lists operations the library never sends"


def test_the_generated_policies_grant_every_action_of_the_table() -> None:
    app = iam_policy(*ALL_MAPPINGS)
    deploy = deployment_policy(*ALL_MAPPINGS)
    for operation in OPERATIONS.values():
        policy = deploy if operation.roles == {"deployment"} else app
        for action in operation.actions:
            resource = (
                "*" if operation.scope == "any" else "arn:aws:dynamodb:*:*:table/contract_bank"
            )
            assert _allowed(policy, action, resource), (operation.name, action)


def test_iam_policy_needs_a_table() -> None:
    with pytest.raises(ValueError):
        iam_policy()


GENERATED = re.compile(
    r"<!-- generated: python -m persistence (iam-policy [^>]*?) -->\n```json\n(.*?)\n```", re.S
)


def test_the_docs_quote_the_generated_policies(capsys: pytest.CaptureFixture[str]) -> None:
    """Every `<!-- generated: python -m persistence iam-policy ... -->` block in docs/ is the
    command's output, so the docs cannot drift from `persistence.iam.OPERATIONS`."""
    blocks = [
        (path.name, command, text)
        for path in sorted((ROOT / "docs").glob("*.md"))
        for command, text in GENERATED.findall(path.read_text(encoding="utf-8"))
    ]
    assert {name for name, _, _ in blocks} >= {"lambda.md"}
    for name, command, text in blocks:
        assert cli.main(shlex.split(command)) == 0
        assert json.loads(text) == json.loads(capsys.readouterr().out), (name, command)
