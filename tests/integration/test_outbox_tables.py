"""What the outbox declares on its table reaches DynamoDB and IAM without the user naming it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import persistence as p
from persistence.iam import iam_policy, required
from persistence.messaging.outbox import Outbox, OutboxRelay
from persistence.testing.harness import record_requests
from persistence.testing.models import Account, Deposited


def _declared() -> tuple[p.Table, p.Mapping[Account], Outbox]:
    table = p.Table("outbox_app", partition_key="pk", sort_key="sk")
    accounts = p.Mapping(Account, table, key=p.Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT"))
    return table, accounts, Outbox(table, event_types=[Deposited], shards=4)


def test_create_table_enables_the_ttl_the_outbox_declared(dynamodb_client: Any) -> None:
    table, _, _ = _declared()
    p.create_table(dynamodb_client, table, poll_interval=0.01)
    ttl = dynamodb_client.describe_time_to_live(TableName=table.name)
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }


def test_ensure_table_adds_the_ttl_to_a_table_created_before_the_outbox(
    dynamodb_client: Any,
) -> None:
    before = p.Table("outbox_late", partition_key="pk", sort_key="sk")
    p.create_table(dynamodb_client, before, poll_interval=0.01)
    Outbox(before)  # the application adds an outbox to an existing table
    p.ensure_table(dynamodb_client, before, poll_interval=0.01)
    ttl = dynamodb_client.describe_time_to_live(TableName=before.name)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at"


def test_the_iam_policy_allows_every_request_of_a_commit_and_its_relay(
    dynamodb_client: Any,
) -> None:
    table, accounts, outbox = _declared()
    p.create_table(dynamodb_client, table, poll_interval=0.01)
    log = record_requests(dynamodb_client)
    uow = p.DynamoDBUnitOfWork(dynamodb_client, [accounts], outbox=outbox, cursor_secret="s")
    with uow:
        account = Account("a1", "ann")
        account.deposit(Decimal(3))
        uow.repository(Account).add(account)
        uow.commit()
    published: list[Any] = []
    assert OutboxRelay(outbox, dynamodb_client, published.append).run_once() == 1
    assert published == [Deposited("a1", Decimal(3))]
    policy = iam_policy(table)
    needed = {pair for name, params in log.calls for pair in required(name, params)}
    assert {action for action, _ in needed} >= {
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
    }
    for action, resource in needed:
        assert any(
            action in statement["Action"]
            and any(arn.endswith(f":table/{resource}") for arn in statement["Resource"])
            for statement in policy["Statement"]
        ), (action, resource)
