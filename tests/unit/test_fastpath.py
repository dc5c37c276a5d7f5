"""The botocore fast paths give exactly what botocore's own parsing and serialisation give.

Every client here answers from a `before-send` handler (no network), so each test can compare the
fast path and the ordinary path on the very same response bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ChecksumError, ClientError, ParamValidationError

import persistence as p
from persistence.backends.dynamodb import fastpath


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _response(document: Any, status: int = 200, crc: int | None = None) -> AWSResponse:
    body = json.dumps(document).encode("utf-8")
    checksum = binascii.crc32(body) & 0xFFFFFFFF if crc is None else crc
    headers = {"x-amz-crc32": str(checksum), "content-type": "application/x-amz-json-1.0"}
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", status, headers, _Raw(body))


class StubClient:
    """A real botocore client whose HTTP layer is a function of the request."""

    def __init__(self, answer: Callable[[Any], AWSResponse], retries: str = "standard") -> None:
        self.client = boto3.session.Session().client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"mode": retries, "max_attempts": 1}),
        )
        self.sent: list[Any] = []
        self.bodies: list[int] = []

        def send(request: Any, **_: Any) -> AWSResponse:
            self.sent.append(request)
            return answer(request)

        self.client.meta.events.register("before-send.dynamodb", send)

    def record_parsed_body_sizes(self) -> None:
        """Registered after the fast path: sees the body botocore itself is about to parse."""

        def record(response_dict: dict[str, Any], **_: Any) -> None:
            self.bodies.append(len(response_dict["body"]))

        self.client.meta.events.register_last("before-parse.dynamodb", record)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


ITEM = {
    "pk": {"S": "ORDER#1"},
    "n": {"N": "12.50"},
    "blob": {"B": _b64(b"\x00\x01\xff")},
    "blobs": {"BS": [_b64(b"a"), _b64(b"\x80")]},
    "flag": {"BOOL": True},
    "gone": {"NULL": True},
    "names": {"SS": ["x", "y"]},
    "numbers": {"NS": ["1", "2.5"]},
    "doc": {
        "M": {
            "B": {"S": "a map key named B is not binary"},
            "inner": {"L": [{"B": _b64(b"nested")}, {"S": "B"}, {"M": {"x": {"B": _b64(b"")}}}]},
        }
    },
}
LAST_KEY = {"pk": {"S": "ORDER#1"}, "bin": {"B": _b64(b"\x01")}}


def _both(
    document: Any, call: Callable[[Any], Any], status: int = 200
) -> tuple[Any, Any, StubClient]:
    """(ordinary result, fast-path result, the installed client)."""
    plain = StubClient(lambda _: _response(document, status))
    fast = StubClient(lambda _: _response(document, status))
    assert fastpath.install(fast.client)
    fast.record_parsed_body_sizes()
    expected = call(plain.client)
    with fastpath.ours():
        got = call(fast.client)
    return expected, got, fast


def _query(client: Any) -> Any:
    return client.query(
        TableName="orders",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ORDER#1"}},
    )


def _strip(response: dict[str, Any]) -> dict[str, Any]:
    response = dict(response)
    response.pop("ResponseMetadata", None)
    return response


def test_query_page_is_identical_including_binary_values() -> None:
    document = {
        "Items": [ITEM, {"pk": {"S": "ORDER#2"}}],
        "Count": 2,
        "ScannedCount": 3,
        "LastEvaluatedKey": LAST_KEY,
        "ConsumedCapacity": {"TableName": "orders", "CapacityUnits": 1.5},
    }
    expected, got, fast = _both(document, _query)
    assert _strip(got) == _strip(expected)
    assert got["Items"][0]["blob"] == {"B": b"\x00\x01\xff"}
    assert got["Items"][0]["doc"]["M"]["inner"]["L"][2] == {"M": {"x": {"B": b""}}}
    assert got["LastEvaluatedKey"]["bin"] == {"B": b"\x01"}
    # botocore parsed only the remainder, not the items.
    assert fast.bodies and fast.bodies[0] < len(json.dumps(document)) // 2


def test_scan_without_binary_values_is_identical() -> None:
    document = {"Items": [{"pk": {"S": f"K{i}"}, "n": {"N": str(i)}} for i in range(50)]}
    document |= {"Count": 50, "ScannedCount": 50}
    expected, got, _ = _both(document, lambda c: c.scan(TableName="orders"))
    assert _strip(got) == _strip(expected)


def test_get_item_and_batch_get_item_are_identical() -> None:
    expected, got, _ = _both(
        {"Item": ITEM}, lambda c: c.get_item(TableName="orders", Key={"pk": {"S": "ORDER#1"}})
    )
    assert _strip(got) == _strip(expected)
    missing, got_missing, _ = _both(
        {}, lambda c: c.get_item(TableName="orders", Key={"pk": {"S": "nope"}})
    )
    assert _strip(got_missing) == _strip(missing) == {}
    document = {
        "Responses": {"orders": [ITEM], "other": [{"pk": {"B": _b64(b"k")}}]},
        "UnprocessedKeys": {"orders": {"Keys": [LAST_KEY]}},
    }
    expected, got, _ = _both(
        document,
        lambda c: c.batch_get_item(RequestItems={"orders": {"Keys": [{"pk": {"S": "ORDER#1"}}]}}),
    )
    assert _strip(got) == _strip(expected)
    assert got["UnprocessedKeys"]["orders"]["Keys"][0]["bin"] == {"B": b"\x01"}


def test_errors_are_untouched() -> None:
    error = {
        "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
        "message": "Requested resource not found",
    }
    client = StubClient(lambda _: _response(error, status=400))
    fastpath.install(client.client)
    with fastpath.ours(), pytest.raises(ClientError) as raised:
        _query(client.client)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_crc32_is_still_checked() -> None:
    client = StubClient(lambda _: _response({"Items": [], "Count": 0}, crc=1), retries="legacy")
    fastpath.install(client.client)
    with fastpath.ours(), pytest.raises(ChecksumError):
        _query(client.client)


def test_foreign_requests_on_the_same_client_are_untouched() -> None:
    document = {"Items": [ITEM], "Count": 1, "ScannedCount": 1}
    client = StubClient(lambda _: _response(document))
    fastpath.install(client.client)
    fastpath.install(client.client)  # idempotent
    client.record_parsed_body_sizes()
    foreign = _query(client.client)
    with fastpath.ours(False):
        disabled = _query(client.client)
    full = len(json.dumps(document))
    assert client.bodies == [full, full]  # botocore parsed the whole body both times
    assert _strip(foreign) == _strip(disabled)
    assert foreign["Items"][0]["blob"] == {"B": b"\x00\x01\xff"}
    # A foreign transaction keeps botocore's validation.
    with pytest.raises(ParamValidationError):
        client.client.transact_write_items(TransactItems=[{"Put": {"Item": {}}}, {"Bad": 1}])


def _transaction(client: Any) -> None:
    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": "orders",
                    "Item": {"pk": {"S": f"K{i}"}, "blob": {"B": bytes([i])}, "n": {"N": "1"}},
                    "ConditionExpression": "attribute_not_exists(#n0)",
                    "ExpressionAttributeNames": {"#n0": "pk"},
                }
            }
            for i in range(5)
        ]
        + [
            {
                "Update": {
                    "TableName": "other",
                    "Key": {"pk": {"S": "X"}},
                    "UpdateExpression": "ADD #n0 :v0",
                    "ExpressionAttributeNames": {"#n0": "c"},
                    "ExpressionAttributeValues": {":v0": {"N": "1"}},
                }
            }
        ],
        ClientRequestToken="token-1",
    )


def test_transaction_body_is_the_one_botocore_would_send() -> None:
    plain = StubClient(lambda _: _response({}))
    fast = StubClient(lambda _: _response({}))
    fastpath.install(fast.client)
    signed: list[bytes] = []
    fast.client.meta.events.register(
        "before-sign.dynamodb", lambda request, **_: signed.append(request.body)
    )
    _transaction(plain.client)
    with fastpath.ours():
        _transaction(fast.client)
    sent, expected = fast.sent[0], plain.sent[0]
    assert json.loads(sent.body) == json.loads(expected.body)
    assert len(json.loads(sent.body)["TransactItems"]) == 6
    assert sent.headers["X-Amz-Target"] == expected.headers["X-Amz-Target"]
    assert int(sent.headers["Content-Length"]) == len(sent.body)
    assert signed == [sent.body]  # the signature covers the body actually sent


# ---------------------------------------------------------------------------- through the library


@dataclass
class Doc:
    doc_id: str
    payload: bytes
    parts: set[bytes] = field(default_factory=set)
    meta: dict[str, Any] = field(default_factory=dict)
    title: str | None = None


DOCS = p.Mapping(Doc, p.Table("docs", partition_key="doc_id"))


def _wire_json(value: Any) -> Any:
    if isinstance(value, bytes):
        return _b64(value)
    raise TypeError(type(value))


def test_repository_reads_give_the_same_aggregates() -> None:
    docs = [
        Doc(f"d{i}", bytes([i, 255]), {b"x", bytes([i])}, {"raw": b"\x00", "n": i}, "t")
        for i in range(20)
    ]
    items = json.loads(json.dumps([DOCS.to_item(d) for d in docs], default=_wire_json))
    document = {"Items": items, "Count": 20, "ScannedCount": 20}

    def answer(request: Any) -> AWSResponse:
        target = request.headers["X-Amz-Target"].decode()
        if target.endswith("GetItem"):
            return _response({"Item": items[3]})
        return _response(document)

    results = []
    for fast in (False, True):
        client = StubClient(answer).client
        repo = p.DynamoDBRepository(client, DOCS)
        repo.backend.fast_path = fast  # type: ignore[attr-defined]
        page = repo.find()
        results.append((page.items, repo.get(doc_id="d3")))
    assert results[0] == results[1]
    assert results[1][0] == docs
    assert results[1][1] == docs[3]
