"""Small requests (issue #15 goal 1): one GetItem read into an aggregate, and a one-action
commit, against a floor and plain boto3.

The floor is what a careful engineer would type without an SDK's per-call machinery: the request
body built by hand and `json.dumps`, an `AWSRequest` signed by botocore's own SigV4 signer
(`botocore.auth.SigV4Auth`, the client's frozen credentials), the answer read with `json.loads`
(and, for the get, the hand-written converter). No retries, hooks, endpoint rules or CRC check:
the rows above it keep all of those (adr/0018). Every contender's request is answered in-process
by botocore's `before-send` hook (bench/stub.py), so the figures are client CPU.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

import persistence as p
from persistence.backends.dynamodb import fastpath

from . import peers
from .model import ORDERS, Order, hand_from_item, hand_to_item, json_ready, make_order
from .stub import Stub, new_client

if TYPE_CHECKING:  # suites.py imports this module from its SUITES list: no import cycle at runtime
    from .suites import Contender, Row, Settings

URL = "https://dynamodb.us-east-1.amazonaws.com/"
TARGET = 2.0


def _signed(client: Any, operation: str, body: bytes) -> AWSRequest:
    request = AWSRequest(
        "POST",
        URL,
        data=body,
        headers={
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    credentials = client._request_signer._credentials.get_frozen_credentials()
    SigV4Auth(credentials, "dynamodb", "us-east-1").add_auth(request)
    return request


def _get(skipped: list[str]) -> tuple[Contender, list[Contender]]:
    order = make_order(7)
    answer = json.dumps({"Item": hand_to_item(order)}, default=json_ready).encode()
    client = new_client()
    stub = Stub(client, {"GetItem": lambda _: answer})
    repo = p.DynamoDBRepository(client, ORDERS)

    def floor() -> Order:
        key = {"pk": {"S": "ORDER#" + order.order_id}, "sk": {"S": "ORDER"}}
        body = json.dumps({"TableName": "orders", "Key": key, "ConsistentRead": False})
        _signed(client, "GetItem", body.encode())
        return hand_from_item(json.loads(answer)["Item"])

    def ours() -> Order:
        return repo.get(order_id=order.order_id)

    plain_client = new_client()
    Stub(plain_client, {"GetItem": lambda _: answer})
    plain_repo = p.DynamoDBRepository(plain_client, ORDERS)
    plain_repo.backend.fast_path = False  # type: ignore[attr-defined]

    def ours_plain() -> Order:
        return plain_repo.get(order_id=order.order_id)

    boto3_client = new_client()
    Stub(boto3_client, {"GetItem": lambda _: answer})
    key = {"pk": {"S": "ORDER#" + order.order_id}, "sk": {"S": "ORDER"}}

    def boto3_get() -> Any:
        return boto3_client.get_item(TableName="orders", Key=key, ConsistentRead=False)

    # The bound of any design that keeps botocore's endpoint (signing, retries, CRC check,
    # parsing; adr/0018): a request dict built once, sent through Endpoint.make_request with the
    # fast path's parsing, and converted by hand. What `repo.get` spends above it is ours.
    bound_client = new_client()
    Stub(bound_client, {"GetItem": lambda _: answer})
    fastpath.install(bound_client)
    model = bound_client.meta.service_model.operation_model("GetItem")
    body = json.dumps({"TableName": "orders", "Key": key, "ConsistentRead": False}).encode()
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.GetItem",
        "Content-Type": "application/x-amz-json-1.0",
        "User-Agent": bound_client._user_agent_creator.to_string(),
    }

    def endpoint_alone() -> Order:
        context = {
            "client_region": "us-east-1",
            "client_config": bound_client.meta.config,
            "has_streaming_input": False,
            "auth_type": model.resolved_auth_type,
            "unsigned_payload": None,
            "auth_options": None,
        }
        request = {
            "url_path": "/",
            "query_string": "",
            "method": "POST",
            "headers": dict(headers),
            "body": body,
            "url": URL,
            "context": context,
        }
        with fastpath.ours():
            _, parsed = bound_client._endpoint.make_request(model, request)
        return hand_from_item(parsed["Item"])

    assert floor() == ours() == ours_plain() == endpoint_alone() == order
    assert boto3_get()["Item"]["order_id"] == {"S": order.order_id}
    assert stub.requests["GetItem"] >= 1
    return ("json.dumps + SigV4Auth + json.loads + hand-written (floor)", floor), [
        ("persistence repo.get", ours, TARGET, ""),
        ("persistence repo.get (fast_path=False)", ours_plain, None, ""),
        ("boto3 client.get_item (no conversion)", boto3_get, None, ""),
        ("botocore Endpoint.make_request alone + hand-written (bound)", endpoint_alone, None, ""),
    ]


def _commit(skipped: list[str]) -> tuple[Contender, list[Contender]]:
    order = make_order(7)
    token = "0" * 32

    def floor() -> Any:
        action = {
            "Put": {
                "TableName": "orders",
                "Item": hand_to_item(order),
                "ConditionExpression": "attribute_not_exists(#n0)",
                "ExpressionAttributeNames": {"#n0": "pk"},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        body = json.dumps({"TransactItems": [action], "ClientRequestToken": token})
        _signed(client, "TransactWriteItems", body.encode())
        return json.loads(b"{}")

    contenders: list[Contender] = []
    for fast in (True, False):
        client = new_client()
        stub = Stub(client, {"TransactWriteItems": lambda _: b"{}"})
        uow = p.DynamoDBUnitOfWork(client, [ORDERS])
        uow.backend.fast_path = fast  # type: ignore[attr-defined]

        def commit(uow: p.DynamoDBUnitOfWork = uow) -> None:
            with uow:
                uow.repository(Order).add(order)
                uow.commit()

        commit()
        assert stub.requests["TransactWriteItems"] == 1
        label = "persistence unit of work, one add + commit"
        contenders.append(
            (label + ("" if fast else " (fast_path=False)"), commit, TARGET if fast else None, "")
        )

    to_b3, _ = peers.boto3_serializer()
    boto3_client = new_client()
    Stub(boto3_client, {"TransactWriteItems": lambda _: b"{}"})

    def boto3_commit() -> Any:
        return boto3_client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "orders",
                        "Item": to_b3(order),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
        )

    contenders.append(
        ("asdict + TypeSerializer + client.transact_write_items", boto3_commit, None, "")
    )
    return ("hand-written + json.dumps + SigV4Auth (floor)", floor), contenders


def small_requests(s: Settings, skipped: list[str]) -> list[Row]:
    import dataclasses

    from .suites import Settings, versus

    @dataclasses.dataclass
    class Steady(Settings):
        """At least 15 rounds even in quick mode: a round of these small calls costs tens of
        milliseconds, and the median of 5 rounds moved by 1.7x under load on a shared
        machine (enough to cross the smoke's 3x margin on a row that measures ~4.5x)."""

        @property
        def rounds(self) -> int:
            return 15

    s = Steady(s.quick)
    floor, others = _get(skipped)
    rows = versus(s, "small get", floor, others)
    floor, others = _commit(skipped)
    return rows + versus(s, "small commit", floor, others)
