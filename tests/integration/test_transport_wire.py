"""The transport (persistence/backends/dynamodb/transport.py, adr/0018) puts on the wire what
botocore itself sends for the same call.

Each test captures the prepared request at botocore's `before-send` event, once for the library's
call and once for the plain client method called with the very parameters the library built, and
compares method, URL, headers and body. Only three headers may differ, each for a reason that
holds between any two botocore calls too: X-Amz-Date (the clock), Authorization (it signs
X-Amz-Date) and amz-sdk-invocation-id (a fresh uuid4 per call).
"""

from __future__ import annotations

import binascii
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

import persistence as p
from persistence import fastjson
from persistence.backends.dynamodb import transport as transport_module
from persistence.backends.dynamodb.backend import DynamoDBBackend
from persistence.backends.dynamodb.transport import Transport

PER_CALL = {"x-amz-date", "authorization", "amz-sdk-invocation-id"}


@dataclass
class Doc:
    doc_id: str
    title: str
    blob: bytes = b""
    version: int = 0


TABLE = p.Table("transport_docs", partition_key="pk", sort_key="sk")
DOCS = p.Mapping(Doc, TABLE, key=p.Key(pk="DOC#{doc_id}", sk="DOC"), version="version")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def answer(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> AWSResponse:
    all_headers = {
        "x-amz-crc32": str(binascii.crc32(body) & 0xFFFFFFFF),
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-requestid": "test",
        **(headers or {}),
    }
    return AWSResponse("https://dynamodb.test/", status, all_headers, _Raw(body))


ITEM = json.dumps(
    {"Item": DOCS.to_item(Doc("d1", "title", b"x", 1))}, default=fastjson.request_default
).encode()


def item_reply(_: bytes) -> AWSResponse:
    return answer(ITEM)


class Wire:
    """Records every prepared request; answers it with `reply` (None: send it)."""

    def __init__(self, client: Any, reply: Any = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.reply = reply
        client.meta.events.register("before-send.dynamodb", self._send)

    def _send(self, request: Any, **_: Any) -> Any:
        headers = {
            k.lower(): (v.decode() if isinstance(v, bytes) else v)
            for k, v in request.headers.items()
        }
        body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
        self.sent.append(
            {"method": request.method, "url": request.url, "headers": headers, "body": body}
        )
        return None if self.reply is None else self.reply(body)


def stub_client(**config: Any) -> Any:
    return boto3.session.Session().client(
        "dynamodb",
        region_name="eu-west-1",
        aws_access_key_id="AKIDTEST",
        aws_secret_access_key="secret",
        config=Config(**({"retries": {"mode": "standard", "max_attempts": 3}} | config)),
    )


@pytest.fixture
def params_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The parameters the library hands the transport, copied before anything can touch them."""
    seen: list[tuple[str, dict[str, Any]]] = []
    original = Transport.call

    def call(self: Transport, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        seen.append((operation, copy.deepcopy(params)))
        return original(self, operation, params)

    monkeypatch.setattr(Transport, "call", call)
    return seen


def assert_same_request(
    ours: dict[str, Any], plain: dict[str, Any], *, compact: bool = False
) -> None:
    """The same request; with `compact`, the same JSON document in compact form (a transaction
    of several actions, adr/0019), so only its length differs from botocore's bytes."""
    assert ours["method"] == plain["method"] == "POST"
    assert ours["url"] == plain["url"]
    differing = {
        name
        for name in ours["headers"].keys() | plain["headers"].keys()
        if ours["headers"].get(name) != plain["headers"].get(name)
    }
    allowed = PER_CALL | {"content-length"} if compact else PER_CALL
    assert differing <= allowed, differing
    assert ours["headers"].keys() >= PER_CALL
    assert json.loads(ours["body"]) == json.loads(plain["body"])
    if compact:
        assert ours["headers"]["content-length"] == str(len(ours["body"]))
        assert len(ours["body"]) < len(plain["body"])
    else:
        # Byte for byte, not only as JSON: the transport writes what botocore's serialiser writes.
        assert ours["body"] == plain["body"]


def _one_get_and_commit(client: Any, seen: list[tuple[str, dict[str, Any]]], wire: Wire) -> None:
    """The library's one-action commit and get, then the plain client with the same params."""
    uow = p.DynamoDBUnitOfWork(client, [DOCS])
    assert uow.backend._transport is not None  # type: ignore[attr-defined]
    with uow:
        uow.repository(Doc).add(Doc("d1", "title", b"\x00\xffbinary"))
        uow.commit()
    got = p.DynamoDBRepository(client, DOCS).get(doc_id="d1")
    assert [op for op, _ in seen] == ["TransactWriteItems", "GetItem"]
    assert len(wire.sent) == 2
    try:
        client.transact_write_items(**seen[0][1])
    except client.exceptions.TransactionCanceledException:
        # moto ignores ClientRequestToken: the same put again fails its condition there, where
        # DynamoDB would answer the repeated token with the first call's success.
        assert wire.sent[0]["url"].startswith("http://127.0.0.1")
    plain_got = client.get_item(**seen[1][1])
    assert len(wire.sent) == 4
    assert_same_request(wire.sent[0], wire.sent[2])
    assert_same_request(wire.sent[1], wire.sent[3])
    # The answer reaches the caller as botocore would have parsed it.
    assert got is None or got == DOCS.from_item(plain_got["Item"])


def test_get_and_one_action_commit_send_what_botocore_sends(params_seen: Any) -> None:
    client = stub_client()
    item = DOCS.to_item(Doc("d1", "title", b"\x00\xffbinary", 1))

    def reply(body: bytes) -> AWSResponse:
        if b'"Key"' in body and b"TransactItems" not in body:
            return answer(json.dumps({"Item": {**item, "blob": {"B": "AP9iaW5hcnk="}}}).encode())
        return answer(b"{}")

    wire = Wire(client, reply)
    _one_get_and_commit(client, params_seen, wire)
    assert wire.sent[0]["url"] == "https://dynamodb.eu-west-1.amazonaws.com/"
    body = json.loads(wire.sent[0]["body"])
    assert body["TransactItems"][0]["Put"]["Item"]["blob"] == {"B": "AP9iaW5hcnk="}


def test_against_the_moto_server(moto: Any, params_seen: Any) -> None:
    moto.reset()
    client = moto.client()
    p.create_table(client, TABLE)
    wire = Wire(client)
    _one_get_and_commit(client, params_seen, wire)
    assert wire.sent[0]["url"] == moto.endpoint_url + "/"
    assert p.DynamoDBRepository(client, DOCS).get(doc_id="d1") == Doc(
        "d1", "title", b"\x00\xffbinary", 1
    )


def test_multi_action_commit_sends_what_botocore_sends(params_seen: Any) -> None:
    client = stub_client()
    wire = Wire(client, lambda _: answer(b"{}"))
    uow = p.DynamoDBUnitOfWork(client, [DOCS])
    with uow:
        for i in range(5):
            uow.repository(Doc).add(Doc(f"d{i}", "t"))
        uow.commit()
    ((operation, params),) = params_seen
    assert operation == "TransactWriteItems" and len(params["TransactItems"]) == 5
    client.transact_write_items(**params)
    assert_same_request(wire.sent[0], wire.sent[1], compact=True)


def test_lambda_recursion_detection_header_is_sent(
    params_seen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's own before-call handler adds X-Amzn-Trace-Id inside Lambda."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793")
    client = stub_client()
    wire = Wire(client, item_reply)
    assert p.DynamoDBRepository(client, DOCS).get(doc_id="d1").title == "title"
    client.get_item(**params_seen[0][1])
    assert wire.sent[0]["headers"]["x-amzn-trace-id"] == "Root=1-5759e988-bd862e3fe1be46a994272793"
    assert_same_request(wire.sent[0], wire.sent[1])


def test_user_hooks_run_with_the_same_arguments() -> None:
    client = stub_client()
    Wire(client, item_reply)
    calls: list[tuple[str, str, list[str]]] = []

    def hook(event_name: str, **kwargs: Any) -> None:
        calls.append((event_name, "", sorted(kwargs)))

    for event in (
        "provide-client-params",
        "before-parameter-build",
        "before-call",
        "after-call",
        "before-endpoint-resolution",
    ):
        client.meta.events.register(f"{event}.dynamodb", hook)
    p.DynamoDBRepository(client, DOCS).get(doc_id="d1")
    ours = list(calls)
    calls.clear()
    client.get_item(TableName="transport_docs", Key={"pk": {"S": "DOC#d1"}, "sk": {"S": "DOC"}})
    assert [c[0] for c in ours] == [
        "provide-client-params.dynamodb.GetItem",
        "before-parameter-build.dynamodb.GetItem",
        "before-endpoint-resolution.dynamodb",
        "before-call.dynamodb.GetItem",
        "after-call.dynamodb.GetItem",
    ]
    assert ours == calls


def test_a_hook_answering_before_call_short_circuits_as_in_botocore() -> None:
    """A before-call handler may return (http, parsed): nothing is sent, as in _make_api_call."""
    client = stub_client()
    wire = Wire(client, lambda _: answer(b"{}"))
    item = DOCS.to_item(Doc("d9", "cached", b"", 2))

    def cached(**_: Any) -> tuple[Any, dict[str, Any]]:
        return answer(b""), {"Item": item}

    client.meta.events.register("before-call.dynamodb.GetItem", cached)
    assert p.DynamoDBRepository(client, DOCS).get(doc_id="d9") == Doc("d9", "cached", b"", 2)
    assert wire.sent == []


def test_params_a_hook_sets_are_sent() -> None:
    """provide-client-params may replace the parameters; the transport sends the result."""
    client = stub_client()
    wire = Wire(client, item_reply)

    def consistent(params: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**params, "ConsistentRead": True}

    client.meta.events.register("provide-client-params.dynamodb.GetItem", consistent)
    p.DynamoDBRepository(client, DOCS).get(doc_id="d1")
    assert json.loads(wire.sent[0]["body"])["ConsistentRead"] is True


# ---------------------------------------------------------------------------- fallback


def test_outside_the_tested_botocore_range_the_public_path_is_taken(
    monkeypatch: pytest.MonkeyPatch, params_seen: Any
) -> None:
    monkeypatch.setattr(transport_module, "TESTED_BOTOCORE", ((1, 0, 0), (1, 1, 0)))
    client = stub_client()
    wire = Wire(client, lambda _: answer(b"{}"))
    backend = DynamoDBBackend(client)
    assert backend._transport is None
    assert backend.get_item("transport_docs", {"pk": {"S": "x"}, "sk": {"S": "y"}}, False) is None
    assert params_seen == [] and len(wire.sent) == 1


@pytest.mark.parametrize("missing", ["_endpoint", "_request_signer", "_resolve_endpoint_ruleset"])
def test_a_client_without_the_private_attributes_takes_the_public_path(
    missing: str, params_seen: Any
) -> None:
    class Proxy:
        """A wrapper exposing the public client only (as some instrumentation libraries do)."""

        def __init__(self, client: Any) -> None:
            self.meta = client.meta
            self.get_item = client.get_item
            self.transact_write_items = client.transact_write_items
            for name in transport_module._REQUIRED:
                if name != missing:
                    setattr(self, name, getattr(client, name))

    client = stub_client()
    wire = Wire(client, lambda _: answer(b"{}"))
    backend = DynamoDBBackend(Proxy(client))
    assert backend._transport is None
    assert backend.get_item("transport_docs", {"pk": {"S": "x"}, "sk": {"S": "y"}}, False) is None
    assert params_seen == [] and len(wire.sent) == 1


def test_fast_path_off_and_test_doubles_take_the_public_path(params_seen: Any) -> None:
    client = stub_client()
    Wire(client, lambda _: answer(b"{}"))
    assert DynamoDBBackend(client, fast_path=False)._transport is None
    assert Transport.of(object()) is None
    backend = DynamoDBBackend(client)
    backend.fast_path = False  # as bench/ switches it on a built backend
    backend.get_item("transport_docs", {"pk": {"S": "x"}, "sk": {"S": "y"}}, False)
    assert params_seen == []


# ---------------------------------------------------------------------------- endpoint cache


def test_a_remembered_endpoint_sends_what_botocore_sends(
    params_seen: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second get reuses the first resolution (feature ids of the User-Agent replayed)."""
    client = stub_client()
    wire = Wire(client, item_reply)
    resolutions: list[str] = []
    original = client._resolve_endpoint_ruleset

    def counting(*args: Any, **kwargs: Any) -> Any:
        resolutions.append("x")
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "_resolve_endpoint_ruleset", counting)
    repo = p.DynamoDBRepository(client, DOCS)
    repo.get(doc_id="d1")
    repo.get(doc_id="d1")
    assert len(resolutions) == 1
    client.get_item(**params_seen[1][1])
    assert len(resolutions) == 2
    assert_same_request(wire.sent[1], wire.sent[2])


def test_the_endpoint_follows_the_account_of_the_credentials(params_seen: Any) -> None:
    """Account-id endpoints (AccountIdEndpointMode preferred): credentials refreshed into another
    account change the URL exactly as they do on botocore's own path, remembered or not (the
    account is part of the remembered key)."""
    import botocore.session
    from botocore.credentials import Credentials

    urls: dict[bool, list[str]] = {}
    for ours in (True, False):
        credentials = Credentials("AKIDTEST", "secret", account_id="111111111111")
        session = botocore.session.get_session()
        session._credentials = credentials
        client = session.create_client("dynamodb", region_name="eu-west-1")
        wire = Wire(client, item_reply)
        resolutions: list[str] = []
        original = client._resolve_endpoint_ruleset

        def counting(
            *args: Any,
            original: Any = original,
            resolutions: list[str] = resolutions,
            **kwargs: Any,
        ) -> Any:
            resolutions.append("x")
            return original(*args, **kwargs)

        client._resolve_endpoint_ruleset = counting
        repo = p.DynamoDBRepository(client, DOCS)
        repo.backend.fast_path = ours  # type: ignore[attr-defined]
        for account in ("111111111111", "222222222222", "111111111111", None):
            credentials.account_id = account
            repo.get(doc_id="d1")
        urls[ours] = [r["url"] for r in wire.sent]
        # Ours: the third call (account 1 again) reuses the first call's endpoint.
        assert len(resolutions) == (3 if ours else 4)
    assert (
        urls[True]
        == urls[False]
        == [
            "https://111111111111.ddb.eu-west-1.amazonaws.com/",
            "https://222222222222.ddb.eu-west-1.amazonaws.com/",
            "https://111111111111.ddb.eu-west-1.amazonaws.com/",
            "https://dynamodb.eu-west-1.amazonaws.com/",
        ]
    )
    assert len(params_seen) == 4


def test_no_endpoint_is_remembered_while_a_resolution_hook_is_registered() -> None:
    client = stub_client()
    wire = Wire(client, item_reply)
    urls = iter(["https://one.test", "https://two.test"])

    def endpoint(builtins: dict[str, Any], **_: Any) -> None:
        builtins["SDK::Endpoint"] = next(urls)

    client.meta.events.register("before-endpoint-resolution.dynamodb", endpoint)
    repo = p.DynamoDBRepository(client, DOCS)
    repo.get(doc_id="d1")
    repo.get(doc_id="d1")
    assert [r["url"] for r in wire.sent] == ["https://one.test/", "https://two.test/"]


def test_an_asynchronous_endpoint_is_not_served() -> None:
    """aiobotocore's clients have the same private attributes with coroutine methods."""

    class AsyncEndpoint:
        async def make_request(self, model: Any, request: dict[str, Any]) -> Any:
            raise AssertionError("never awaited here")

    client = stub_client()
    assert Transport.of(client) is not None
    client._endpoint = AsyncEndpoint()
    assert Transport.of(client) is None
