"""What the library sends to DynamoDB, seen through botocore's before-call events."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

import persistence as p
from persistence.testing.harness import DynamoDBHarness
from persistence.testing.models import ALL_MAPPINGS, ALL_TABLES, Account, Order


@pytest.fixture
def harness(dynamodb_client: Any) -> DynamoDBHarness:
    return DynamoDBHarness(dynamodb_client, ALL_MAPPINGS, ALL_TABLES)


def _open(h: DynamoDBHarness, *accounts: Account) -> None:
    uow = h.uow()
    with uow:
        for a in accounts:
            uow.repository(Account).add(a)
        uow.commit()


def _expand(expression: str, params: dict[str, Any]) -> str:
    names = params.get("ExpressionAttributeNames", {})
    return re.sub(r"#n\d+", lambda m: names[m.group(0)], expression)


def test_a_new_aggregate_is_put_only_if_absent_with_a_client_request_token(
    harness: DynamoDBHarness,
) -> None:
    harness.log.clear()
    _open(harness, Account("a1", "alice"))
    (request,) = harness.log.of("TransactWriteItems")
    assert re.fullmatch(r"[0-9a-f]{32}", request["ClientRequestToken"])
    (put,) = [action["Put"] for action in request["TransactItems"]]
    assert _expand(put["ConditionExpression"], put) == "attribute_not_exists(pk)"
    assert put["Item"]["pk"] == {"S": "ACCOUNT#a1"}
    assert put["Item"]["gsi1pk"] == {"S": "OWNER#alice"}
    assert put["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"
    _open(harness, Account("a2", "bob"))
    tokens = {r["ClientRequestToken"] for r in harness.log.of("TransactWriteItems")}
    assert len(tokens) == 2  # one token per commit


def test_an_update_names_only_the_changed_attributes(harness: DynamoDBHarness) -> None:
    _open(harness, Account("a1", "alice", nickname="n"))
    uow = harness.uow()
    with uow:
        a = uow.repository(Account).get(account_id="a1")
        a.balance = Decimal("7")
        a.nickname = None
        a.deposits += 3
        harness.log.clear()
        uow.commit()
    (request,) = harness.log.of("TransactWriteItems")
    (update,) = [action["Update"] for action in request["TransactItems"]]
    expression = _expand(update["UpdateExpression"], update)
    sections = dict(re.findall(r"(SET|REMOVE|ADD) ([^A-Z]+?)(?= SET| REMOVE| ADD|$)", expression))
    assert {s.split(" = ")[0] for s in sections["SET"].split(", ")} == {
        "balance",
        "updated_at",
        "version",
    }
    assert sections["REMOVE"] == "nickname"
    assert sections["ADD"].split(" ")[0] == "deposits"
    assert re.fullmatch(r"version = :v\d+", _expand(update["ConditionExpression"], update))
    # Every name goes through a placeholder.
    assert "balance" not in update["UpdateExpression"]


def test_counter_only_change_has_no_version_condition(harness: DynamoDBHarness) -> None:
    _open(harness, Account("a1", "alice"))
    uow = harness.uow()
    with uow:
        uow.repository(Account).get(account_id="a1").deposits += 1
        harness.log.clear()
        uow.commit()
    (request,) = harness.log.of("TransactWriteItems")
    (update,) = [a["Update"] for a in request["TransactItems"]]
    assert _expand(update["ConditionExpression"], update) == "attribute_exists(pk)"
    assert "version" not in update["ExpressionAttributeNames"].values()


def test_reads_use_getitem_or_the_named_index_and_never_describe_table(
    harness: DynamoDBHarness,
) -> None:
    _open(harness, Account("a1", "alice"))
    uow = harness.uow()
    harness.log.clear()
    with uow:
        accounts = uow.repository(Account)
        accounts.get(account_id="a1")
        assert len(accounts.find(p.attr("owner") == "alice").items) == 1
        spec = (p.attr("customer_id") == "c") & (p.attr("total_cents") > 5)
        assert uow.repository(Order).find(spec).items == []
        accounts.count(p.attr("balance") > 1)
    assert harness.log.names() == ["GetItem", "Query", "Query", "Scan"]
    _, by_owner, by_total, scan = (params for _, params in harness.log.calls)
    assert by_owner["IndexName"] == "by_owner"
    assert by_total["IndexName"] == "by_total"
    assert scan["Select"] == "COUNT"
    assert "DescribeTable" not in harness.log.names()


def test_values_never_appear_in_expressions(harness: DynamoDBHarness) -> None:
    hostile = "x) OR attribute_exists(pk"
    uow = harness.uow()
    harness.log.clear()
    with uow:
        assert uow.repository(Account).find(p.attr("owner") == hostile).items == []
    (query,) = harness.log.of("Query")
    for key in ("KeyConditionExpression", "FilterExpression"):
        assert hostile not in query[key]
        assert "owner" not in query[key]
