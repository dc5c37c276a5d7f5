"""`python -m persistence iam-policy MODULE --stream-relay`: the execution role of a Lambda
function running `outbox_stream_handler` on the tables' streams, checked against the DynamoDB
Streams requests a stream reader really sends (the local poller, as Lambda's mapping would)."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

import pytest

import persistence as p
from persistence import cli
from persistence.iam import OPERATIONS, STREAM_OPERATIONS, iam_policy, stream_relay_policy
from persistence.testing.contract_streams import Ledger, Recorded
from persistence.testing.models import ALL_TABLES, BANK
from persistence.testing.stream_poller import StreamPoller, stream_arn_of, streams_client_for

TABLE_ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/contract_bank"


def _allowed(policy: dict[str, Any], action: str, resource: str) -> bool:
    return any(
        s["Effect"] == "Allow"
        and action in s["Action"]
        and any(fnmatch.fnmatchcase(resource, pattern) for pattern in s["Resource"])
        for s in policy["Statement"]
    )


def test_the_stream_relay_policy_grants_the_stream_actions_on_the_streams_only() -> None:
    policy = stream_relay_policy(BANK, region="eu-west-1", account="123456789012")
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PersistenceStreamRelay",
                "Effect": "Allow",
                "Action": [
                    "dynamodb:DescribeStream",
                    "dynamodb:GetRecords",
                    "dynamodb:GetShardIterator",
                    "dynamodb:ListStreams",
                ],
                "Resource": [
                    "arn:aws:dynamodb:eu-west-1:123456789012:table/contract_bank/stream/*"
                ],
            }
        ],
    }
    table = TABLE_ARN
    assert not _allowed(policy, "dynamodb:GetRecords", table)
    assert not _allowed(policy, "dynamodb:GetItem", table)
    # The application's policy is unchanged: no stream action in it.
    app = iam_policy(*ALL_TABLES)
    assert not any(
        a in s["Action"] for s in app["Statement"] for a in policy["Statement"][0]["Action"]
    )
    assert not set(STREAM_OPERATIONS) & set(OPERATIONS)
    with pytest.raises(ValueError):
        stream_relay_policy()


def test_the_cli_prints_the_stream_relay_policy(capsys: pytest.CaptureFixture[str]) -> None:
    target = "persistence.testing.models:BANK"
    assert cli.main(["iam-policy", target, "--stream-relay", "--account", "123456789012"]) == 0
    assert json.loads(capsys.readouterr().out) == stream_relay_policy(BANK, account="123456789012")
    with pytest.raises(SystemExit) as usage:
        cli.main(["iam-policy", target, "--stream-relay", "--deployment", "--bogus"])
    assert usage.value.code == 2
    assert cli.main(["iam-policy", target, "--stream-relay", "--deployment"]) == 2
    assert "--stream-relay takes no" in capsys.readouterr().err


def test_the_policy_covers_every_request_a_stream_reader_sends(dynamodb_client: Any) -> None:
    table = p.Table("iam_stream_relay", partition_key="pk", sort_key="sk")
    ledgers = p.Mapping(Ledger, table, key=p.Key(pk="LEDGER#{ledger_id}", sk="LEDGER"))
    outbox = p.Outbox(table, event_types=[Recorded])
    p.create_table(dynamodb_client, table, stream="NEW_IMAGE")
    uow = p.DynamoDBUnitOfWork(dynamodb_client, [ledgers], outbox=outbox, cursor_secret=b"k" * 32)
    with uow:
        ledger = Ledger("L1")
        uow.repository(Ledger).add(ledger)
        ledger.record(1)
        uow.commit()
    streams = streams_client_for(dynamodb_client)
    sent: list[str] = []
    streams.meta.events.register("before-call", lambda model, **_: sent.append(model.name))
    arn = stream_arn_of(dynamodb_client, table.name)
    published: list[Any] = []
    StreamPoller(streams, arn, p.outbox_stream_handler(outbox, published.append)).drain()
    assert published == [Recorded("L1", 1)]
    assert set(sent) >= {"DescribeStream", "GetShardIterator", "GetRecords"}
    assert set(sent) <= set(STREAM_OPERATIONS), "add them to persistence.iam.STREAM_OPERATIONS"
    policy = stream_relay_policy(table)
    for operation in set(sent):
        assert _allowed(policy, f"dynamodb:{operation}", arn), operation
