"""`python -m persistence tables ...` in a subprocess against the moto server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from persistence import tables as ops
from persistence.model.mapping import GlobalIndex, Table
from persistence.testing.moto_server import MotoServer
from tests import fixtures_tables as fixtures

pytestmark = pytest.mark.dynamodb

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests.fixtures_tables"
FAST: dict[str, Any] = {"poll_interval": 0.01, "timeout": 5.0}


@pytest.fixture
def cli(moto: MotoServer, dynamodb_client: Any) -> Any:
    """Runs the CLI against the freshly reset moto server; returns the CompletedProcess."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    def run(*args: str, endpoint: bool = True) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "persistence", "tables", *args]
        if endpoint:
            command += ["--endpoint-url", moto.endpoint_url]
        return subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    return run


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_ensure_describe_diff_delete(cli: Any, dynamodb_client: Any) -> None:
    ensured = cli("ensure", MODULE)
    assert ensured.returncode == 0, ensured.stderr
    assert ensured.stdout.splitlines()[0].split()[:3] == ["TABLE", "STATUS", "ITEMS"]
    assert {"cli_bank", "cli_readings"} <= set(dynamodb_client.list_tables()["TableNames"])

    described = cli("describe", MODULE, "--json")
    assert described.returncode == 0, described.stderr
    by_name = {d["name"]: d for d in json.loads(described.stdout)}
    assert by_name["cli_bank"]["ttl_attribute"] == "expires_at"
    assert {i["name"] for i in by_name["cli_bank"]["indexes"]} == {"by_owner", "by_created"}
    assert by_name["cli_readings"]["indexes"][0]["projected_attributes"] == ["unit"]

    text = cli("describe", f"{MODULE}:accounts")
    assert text.returncode == 0
    rows = [line.split() for line in text.stdout.splitlines() if line.strip()]
    assert rows[1][:3] == ["cli_bank", "ACTIVE", "0"]
    assert "cli_readings" not in text.stdout  # :ATTR selects one object

    diff = cli("diff", MODULE, "--exit-code")
    assert diff.returncode == 0, diff.stdout
    assert diff.stdout.count("in sync") == 2

    refused = cli("delete", MODULE)
    assert refused.returncode == 2
    assert "--yes" in one_line_error(refused)
    assert "cli_bank" in dynamodb_client.list_tables()["TableNames"]

    deleted = cli("delete", MODULE, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert "cli_bank: deleted" in deleted.stdout
    assert dynamodb_client.list_tables()["TableNames"] == []


def test_failures_are_one_line_with_a_nonzero_exit(cli: Any, dynamodb_client: Any) -> None:
    ops.create_table(dynamodb_client, fixtures.readings_table, **FAST)
    again = cli("create", f"{MODULE}:readings_table")
    assert again.returncode == 1
    assert "already exists" in one_line_error(again)

    missing = cli("describe", f"{MODULE}:bank")
    assert missing.returncode == 1
    assert "does not exist" in one_line_error(missing)

    bad_module = cli("describe", "tests.no_such_module")
    assert bad_module.returncode == 2
    assert "cannot import" in one_line_error(bad_module)


def test_diff_and_update(cli: Any, dynamodb_client: Any) -> None:
    # Live: the declared table without its global index, plus one it does not declare.
    live = Table(
        "cli_readings",
        partition_key="sensor",
        sort_key="at",
        indexes=[GlobalIndex("legacy", partition_key="unit")],
        attribute_types={"sensor": "S", "at": "N", "unit": "S"},
    )
    ops.create_table(dynamodb_client, live, **FAST)

    diff = cli("diff", f"{MODULE}:readings", "--json", "--exit-code")
    assert diff.returncode == 1
    [report] = json.loads(diff.stdout)
    assert [(c["kind"], c["index"]) for c in report["changes"]] == [
        ("remove_index", "legacy"),
        ("add_index", "by_value"),
    ]

    refused = cli("update", f"{MODULE}:readings")
    assert refused.returncode == 2
    assert "legacy" in one_line_error(refused)

    updated = cli("update", f"{MODULE}:readings", "--yes")
    assert updated.returncode == 0, updated.stderr
    assert "applied: add global index 'by_value'" in updated.stdout
    assert ops.diff_table(dynamodb_client, fixtures.readings_table).in_sync


def test_copy_into_a_new_table_and_refuse_a_non_empty_one(
    cli: Any, dynamodb_client: Any, tmp_path: Path
) -> None:
    ops.ensure_table(dynamodb_client, fixtures.readings_table, **FAST)
    for n in range(60):
        item = fixtures.readings.to_item(fixtures.Reading("s1", n, value=f"v{n}", unit="C"))
        dynamodb_client.put_item(TableName="cli_readings", Item=item)

    checkpoint = tmp_path / "copy.json"
    copied = cli(
        "copy",
        f"{MODULE}:readings",
        "--target",
        "cli_readings_copy",
        "--checkpoint",
        str(checkpoint),
        "--json",
    )
    assert copied.returncode == 0, copied.stderr
    result = json.loads(copied.stdout)
    assert (result["written"], result["target_count"]) == (60, 60)
    assert all(s["done"] for s in json.loads(checkpoint.read_text())["segments"])
    copy_description = ops.describe_table(dynamodb_client, "cli_readings_copy")
    assert [i.name for i in copy_description.indexes] == ["by_value"]  # same schema

    refused = cli("copy", f"{MODULE}:readings", "--target", "cli_readings_copy")
    assert refused.returncode == 2
    assert "already holds items" in one_line_error(refused)

    ambiguous = cli("copy", MODULE, "--target", "elsewhere")
    assert ambiguous.returncode == 2
    assert "exactly one source table" in one_line_error(ambiguous)


def test_cloudformation_export(cli: Any) -> None:
    as_json = cli("cloudformation", MODULE, endpoint=False)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == ops.to_cloudformation(
        fixtures.bank, fixtures.readings_table
    )

    as_yaml = cli("cloudformation", MODULE, "--format", "yaml", endpoint=False)
    assert as_yaml.returncode == 0
    assert 'Type: "AWS::DynamoDB::Table"' in as_yaml.stdout
    yaml = pytest.importorskip("yaml")
    assert yaml.safe_load(as_yaml.stdout) == json.loads(as_json.stdout)
