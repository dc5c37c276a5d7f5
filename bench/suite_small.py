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
from botocore.endpoint import convert_to_response_dict
from botocore.handlers import add_retry_headers
from botocore.httpchecksum import handle_checksum_body

import persistence as p
from persistence.backends.dynamodb import fastpath
from persistence.backends.dynamodb.endpoint_loop import EndpointLoop

from . import peers
from .model import ORDERS, Order, hand_from_item, hand_to_item, json_ready, make_order
from .stub import Stub, new_client

if TYPE_CHECKING:  # suites.py imports this module from its SUITES list: no import cycle at runtime
    from .suites import Contender, Row, Settings

URL = "https://dynamodb.us-east-1.amazonaws.com/"
_USER_AGENT = new_client()._user_agent_creator.to_string()
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


def _kept_steps(loop: EndpointLoop, operation: str, body: bytes) -> Any:
    """The steps of a call that the transport keeps (adr/0018), done with the endpoint loop's
    own request object and one-pass preparation, and nothing else: the retry context
    (invocation id), the request with botocore's headers, the client's RequestSigner, the
    retry headers, the prepared request, `before-send` (the stub answers), the response read
    and its CRC32 checked, `json.loads`, and the `needs-retry` handlers' decision. No
    parameter, before-call or after-call events, endpoint rules, User-Agent, context or
    library work: a bound below which the transport cannot go while it keeps botocore's
    signer, retry handler and hooks."""
    client = loop._client
    endpoint = client._endpoint
    model = client.meta.service_model.operation_model(operation)
    context: dict[str, Any] = {"client_config": client.meta.config, "auth_type": "v4"}
    endpoint._update_retries_context(context, 1)
    request_dict = {
        "url_path": "/",
        "query_string": "",
        "method": "POST",
        "url": URL,
        "body": body,
        "headers": {
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
            "User-Agent": _USER_AGENT,
        },
        "context": context,
    }
    request = loop._request_object(request_dict, model)
    client._request_signer.sign(operation, request)
    add_retry_headers(request)
    prepared = loop._prepared(request)
    http = loop.handlers.emit_until_response(f"before-send.dynamodb.{operation}", request=prepared)[
        1
    ]
    response_dict = convert_to_response_dict(http, model)
    handle_checksum_body(http, response_dict, context, model)
    parsed = json.loads(response_dict["body"] or b"{}")
    loop._needs_retry(1, model, request_dict, (http, parsed), None)
    return parsed


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

    # What botocore's endpoint costs on its own (signing, retries, CRC check, parsing): a request
    # dict built once, sent through Endpoint.make_request with the fast path's parsing, and
    # converted by hand. The transport's loop does what it does (adr/0018) and, above it, all
    # of `_make_api_call` that the library keeps.
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

    # The bound of signing through the client's RequestSigner (adr/0018 keeps it: credential
    # refresh, region, signature version, the choose-signer / before-sign events) on a request
    # carrying the headers botocore sends: the floor with botocore's signer instead of SigV4Auth.
    signer_client = new_client()
    all_headers = {
        **{k: v for k, v in headers.items()},
        "amz-sdk-invocation-id": "00000000-0000-4000-8000-000000000000",
        "amz-sdk-request": "attempt=1; max=1",
    }

    def signer_alone() -> Order:
        request = AWSRequest("POST", URL, data=body, headers=all_headers)
        request.context = {"auth_type": model.resolved_auth_type}
        signer_client._request_signer.sign("GetItem", request)
        return hand_from_item(json.loads(answer)["Item"])

    kept_client = new_client()
    Stub(kept_client, {"GetItem": lambda _: answer})
    kept_loop = EndpointLoop.of(kept_client)
    assert kept_loop is not None

    def kept_steps() -> Order:
        body = json.dumps({"TableName": "orders", "Key": key, "ConsistentRead": False}).encode()
        return hand_from_item(_kept_steps(kept_loop, "GetItem", body)["Item"])

    assert floor() == ours() == ours_plain() == endpoint_alone() == signer_alone() == order
    assert kept_steps() == order
    assert boto3_get()["Item"]["order_id"] == {"S": order.order_id}
    assert stub.requests["GetItem"] >= 1
    return ("json.dumps + SigV4Auth + json.loads + hand-written (floor)", floor), [
        ("persistence repo.get", ours, TARGET, ""),
        ("persistence repo.get (fast_path=False)", ours_plain, None, ""),
        ("boto3 client.get_item (no conversion)", boto3_get, None, ""),
        ("botocore Endpoint.make_request alone + hand-written", endpoint_alone, None, ""),
        ("floor signed by botocore's RequestSigner (bound)", signer_alone, None, ""),
        ("botocore's kept steps alone + hand-written (bound)", kept_steps, None, ""),
    ]


def _commit_body(order: Order, token: str) -> str:
    """The one-action commit's body, built by hand: the item and the condition the library's
    add writes."""
    action = {
        "Put": {
            "TableName": "orders",
            "Item": hand_to_item(order),
            "ConditionExpression": "attribute_not_exists(#n0)",
            "ExpressionAttributeNames": {"#n0": "pk"},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
    return json.dumps({"TransactItems": [action], "ClientRequestToken": token})


def _commit(skipped: list[str]) -> tuple[Contender, list[Contender]]:
    order = make_order(7)
    token = "0" * 32

    def floor() -> Any:
        body = _commit_body(order, token)
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
    kept_client = new_client()
    Stub(kept_client, {"TransactWriteItems": lambda _: b"{}"})
    kept_loop = EndpointLoop.of(kept_client)
    assert kept_loop is not None

    def kept_steps() -> Any:
        body = _commit_body(order, token)
        return _kept_steps(kept_loop, "TransactWriteItems", body.encode())

    assert set(kept_steps()) <= {"ResponseMetadata"}  # the retry handler adds it
    contenders.append(("botocore's kept steps alone + hand-written (bound)", kept_steps, None, ""))
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
