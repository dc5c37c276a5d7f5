"""The CloudFormation export with a stream relay: the outbox table's StreamSpecification and an
AWS::Lambda::EventSourceMapping for `persistence.outbox_stream_handler`.

Property names from the CloudFormation template reference (AWS::Lambda::EventSourceMapping,
its DestinationConfig and OnFailure; AWS::DynamoDB::Table's StreamArn attribute), limits from
the Lambda developer guide ("Lambda parameters for Amazon DynamoDB event source mappings",
services-ddb-params.html). cfn-lint checks the whole template against its resource schemas.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from persistence import cli
from persistence import tables as ops
from persistence.errors import ValidationError
from persistence.model.mapping import Table


def _tables() -> tuple[Table, Table]:
    return (
        Table("app-events", partition_key="pk", sort_key="sk", ttl_attribute="expires_at"),
        Table("other", partition_key="id"),
    )


def test_the_relay_adds_the_stream_and_the_event_source_mapping() -> None:
    events, other = _tables()
    document = ops.to_cloudformation(events, other, stream_relay=ops.StreamRelay(events))
    resources = document["Resources"]
    assert set(resources) == {"AppEventsTable", "OtherTable", "AppEventsTableStreamRelay"}
    table = resources["AppEventsTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    assert "StreamSpecification" not in resources["OtherTable"]["Properties"]
    mapping = resources["AppEventsTableStreamRelay"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    assert mapping["Properties"] == {
        "EventSourceArn": {"Fn::GetAtt": ["AppEventsTable", "StreamArn"]},
        "FunctionName": {"Ref": "StreamRelayFunctionName"},
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 100,
        "BisectBatchOnFunctionError": True,
        "MaximumRetryAttempts": 10,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {
            "OnFailure": {"Destination": {"Ref": "StreamRelayOnFailureDestinationArn"}}
        },
    }
    assert set(document["Parameters"]) == {
        "StreamRelayFunctionName",
        "StreamRelayOnFailureDestinationArn",
    }
    assert all(p["Type"] == "String" for p in document["Parameters"].values())
    # Without a relay the document is what it was.
    plain = ops.to_cloudformation(events, other)
    assert "Parameters" not in plain and set(plain["Resources"]) == {"AppEventsTable", "OtherTable"}


def test_the_relay_options_and_the_yaml_form() -> None:
    yaml = pytest.importorskip("yaml")
    events, _ = _tables()
    relay = ops.StreamRelay(
        "app-events",
        view="NEW_AND_OLD_IMAGES",
        batch_size=25,
        maximum_retry_attempts=-1,
        bisect_batch_on_function_error=False,
        starting_position="LATEST",
    )
    document = ops.to_cloudformation(events, stream_relay=relay)
    props = document["Resources"]["AppEventsTableStreamRelay"]["Properties"]
    assert (props["BatchSize"], props["MaximumRetryAttempts"]) == (25, -1)
    assert props["BisectBatchOnFunctionError"] is False
    assert props["StartingPosition"] == "LATEST"
    table = document["Resources"]["AppEventsTable"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    text = ops.to_cloudformation(events, format="yaml", stream_relay=relay)
    assert yaml.safe_load(text) == document


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"view": "KEYS_ONLY"}, "NEW_IMAGE or NEW_AND_OLD_IMAGES"),
        ({"view": "OLD_IMAGE"}, "NEW_IMAGE or NEW_AND_OLD_IMAGES"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10001}, "batch_size"),
        ({"maximum_retry_attempts": -2}, "maximum_retry_attempts"),
        ({"starting_position": "AT_TIMESTAMP"}, "starting_position"),
    ],
)
def test_bad_relay_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ops.StreamRelay("app-events", **options)


def test_a_relay_on_a_table_not_exported_or_a_contradicting_stream_is_refused() -> None:
    events, other = _tables()
    with pytest.raises(ValidationError, match="not exported"):
        ops.to_cloudformation(other, stream_relay=ops.StreamRelay(events))
    with pytest.raises(ValidationError, match="contradicts"):
        ops.to_cloudformation(events, stream="KEYS_ONLY", stream_relay=ops.StreamRelay(events))


def test_the_cli_exports_a_stream_relay(capsys: pytest.CaptureFixture[str]) -> None:
    module = "persistence.testing.models:BANK"
    assert cli.main(["tables", "cloudformation", module, "--stream-relay", "contract_bank"]) == 0
    document = json.loads(capsys.readouterr().out)
    from persistence.testing.models import BANK

    assert document == ops.to_cloudformation(BANK, stream_relay=ops.StreamRelay(BANK))
    assert cli.main(["tables", "cloudformation", module, "--stream-relay", "nope"]) == 1
    assert "not exported" in capsys.readouterr().err
    args = ["tables", "cloudformation", module, "--stream-relay", "contract_bank"]
    assert cli.main([*args, "--stream", "KEYS_ONLY"]) == 1
    assert "NEW_IMAGE or NEW_AND_OLD_IMAGES" in capsys.readouterr().err


def _cfn_lint() -> str | None:
    beside = Path(sys.executable).with_name("cfn-lint")  # the test environment's own
    return str(beside) if beside.exists() else shutil.which("cfn-lint")


@pytest.mark.skipif(_cfn_lint() is None, reason="cfn-lint is not installed")
def test_cfn_lint_accepts_the_template(tmp_path: Path) -> None:
    """cfn-lint validates against the resource schemas it ships (no network)."""
    events, other = _tables()
    template = tmp_path / "template.json"
    document = ops.to_cloudformation(events, other, stream_relay=ops.StreamRelay(events))
    template.write_text(json.dumps(document), encoding="utf-8")
    lint = _cfn_lint()
    assert lint is not None
    done = subprocess.run(
        [lint, str(template)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # And it does check what we emit: a misspelt property fails.
    props = document["Resources"]["AppEventsTableStreamRelay"]["Properties"]
    props["BisectBatchOnError"] = props.pop("BisectBatchOnFunctionError")
    template.write_text(json.dumps(document), encoding="utf-8")
    bad = subprocess.run([lint, str(template)], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "BisectBatchOnError" in bad.stdout
