"""The transport's endpoint loop (transport.EndpointLoop, adr/0018) stands in for botocore's
`Endpoint.make_request` without changing a byte or a decision: the same parsed answers, the same
User-Agent on every attempt, every handler of the events it dispatches itself called as botocore
calls it, and make_request itself whenever something it does not mirror is in play.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from botocore.endpoint import Endpoint
from botocore.exceptions import ClientError
from botocore.useragent import register_feature_id

from persistence.backends.dynamodb import endpoint_loop as loop_module
from persistence.backends.dynamodb.transport import Transport

from .test_transport_faults import error
from .test_transport_wire import DOCS, Doc, Wire, answer, assert_same_request, stub_client

KEY = {"pk": {"S": "DOC#d1"}, "sk": {"S": "DOC"}}
GET = {"TableName": "transport_docs", "Key": KEY, "ConsistentRead": False}
PUT = {
    "TransactItems": [
        {"Put": {"TableName": "transport_docs", "Item": DOCS.to_item(Doc("d1", "t"))}}
    ],
    "ClientRequestToken": "0" * 32,
}


def both(operation: str, params: dict[str, Any], reply: Any, **config: Any) -> tuple[Any, Any]:
    """(the transport's answer or error, the plain client's) for identically stubbed clients."""
    out = []
    for ours in (True, False):
        client = stub_client(**config)
        Wire(client, reply)
        try:
            if ours:
                transport = Transport.of(client)
                assert transport is not None
                out.append(transport.call(operation, params))
            else:
                method = getattr(
                    client, "get_item" if operation == "GetItem" else "transact_write_items"
                )
                out.append(method(**params))
        except ClientError as exc:
            out.append(exc)
    return out[0], out[1]


BINARY_ITEM = {
    "pk": {"S": "DOC#d1"},
    "sk": {"S": "DOC"},
    "blob": {"B": "AP9iaW5hcnk="},
    "set": {"BS": ["AA==", "/w=="]},
    "nested": {"M": {"in": {"L": [{"B": "AQI="}, {"N": "1.50"}, {"NULL": True}]}}},
}


@pytest.mark.parametrize(
    "body",
    [
        {"Item": BINARY_ITEM},
        {},
        {
            "Item": BINARY_ITEM,
            "ConsumedCapacity": {"TableName": "transport_docs", "CapacityUnits": 0.5},
        },
        {"Item": BINARY_ITEM, "NotInTheModel": 1},
        {"Item": None},
    ],
    ids=["binary-item", "no-item", "consumed-capacity", "unknown-key", "null-item"],
)
def test_a_get_answer_is_what_botocore_parses(body: dict[str, Any], used: dict[str, int]) -> None:
    raw = json.dumps(body).encode()
    ours, plain = both("GetItem", GET, lambda _: answer(raw, headers={"X-Extra": "Kept"}))
    assert ours == plain
    assert ours["ResponseMetadata"]["HTTPHeaders"]["x-extra"] == "Kept"
    assert ours["ResponseMetadata"]["RetryAttempts"] == 0
    assert used == {"loop": 1, "make_request": 1}  # the plain client's call only


def test_a_commit_answer_and_a_commit_error_are_what_botocore_returns(used: dict[str, int]) -> None:
    ours, plain = both("TransactWriteItems", PUT, lambda _: answer(b"{}"))
    assert ours == plain and set(ours) == {"ResponseMetadata"}
    cancelled = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": "Transaction cancelled",
            "CancellationReasons": [{"Code": "ConditionalCheckFailed", "Message": "no"}],
        }
    ).encode()
    ours, plain = both("TransactWriteItems", PUT, lambda _: answer(cancelled, 400))
    # Each client has its own exception classes: the same class is the same name.
    assert type(ours).__name__ == type(plain).__name__ == "TransactionCanceledException"
    assert ours.response == plain.response
    assert ours.response["CancellationReasons"] == [
        {"Code": "ConditionalCheckFailed", "Message": "no"}
    ]
    assert used["loop"] == 2


def test_the_user_agent_of_every_attempt_is_botocores(used: dict[str, int]) -> None:
    """A throttled first attempt, then a success: each attempt's User-Agent (and retry headers)
    equals the plain client's, and one remembered string serves both attempts."""
    sent = []
    for ours in (True, False):
        client = stub_client()
        attempts = iter([error("ThrottlingException"), answer(b"{}")])
        wire = Wire(client, lambda _, attempts=attempts: next(attempts))
        client.meta.events.register_first("needs-retry.dynamodb", _no_sleep)
        if ours:
            transport = Transport.of(client)
            assert transport is not None
            transport.call("TransactWriteItems", PUT)
            assert transport._loop is not None and len(transport._loop._user_agents) == 1
        else:
            client.transact_write_items(**PUT)
        sent.append(wire.sent)
    assert len(sent[0]) == len(sent[1]) == 2
    for mine, plain in zip(sent[0], sent[1], strict=True):
        assert_same_request(mine, plain)
    assert sent[0][1]["headers"]["amz-sdk-request"].startswith("attempt=2")
    assert used["loop"] == 1


def _no_sleep(**_: Any) -> None:
    return None


def test_the_user_agent_follows_the_feature_ids_of_each_call(used: dict[str, int]) -> None:
    """A feature id registered during one call (here by a before-call hook, as botocore's own
    features are) appears in that call's User-Agent only, exactly as botocore writes it."""
    flagged = {"on": False}

    def flag(**_: Any) -> None:
        if flagged["on"]:
            register_feature_id("WAITER")

    agents: list[list[str]] = []
    for ours in (True, False):
        client = stub_client()
        client.meta.events.register("before-call.dynamodb", flag)
        wire = Wire(client, lambda _: answer(b"{}"))
        transport = Transport.of(client)
        assert transport is not None
        for on in (False, True, False):
            flagged["on"] = on
            if ours:
                transport.call("GetItem", GET)
            else:
                client.get_item(**GET)
        agents.append([request["headers"]["user-agent"] for request in wire.sent])
    assert agents[0] == agents[1]
    assert agents[0][0] == agents[0][2] != agents[0][1]
    assert used["loop"] == 3


def test_other_request_created_handlers_run_in_order_and_reach_the_wire(
    used: dict[str, int],
) -> None:
    sent = []
    for ours in (True, False):
        client = stub_client()
        seen: list[str] = []

        def mark(
            request: Any, operation_name: str, event_name: str, seen: list[str] = seen, **_: Any
        ) -> None:
            seen.append(f"{event_name}:{operation_name}:{'Authorization' in request.headers}")
            request.headers["X-Mine"] = "1"

        client.meta.events.register("request-created.dynamodb.GetItem", mark)
        wire = Wire(client, lambda _: answer(b"{}"))
        if ours:
            transport = Transport.of(client)
            assert transport is not None
            transport.call("GetItem", GET)
        else:
            client.get_item(**GET)
        # More specific than the signer's `request-created.dynamodb`: it runs before it, as
        # botocore's emitter orders them.
        assert seen == ["request-created.dynamodb.GetItem:GetItem:False"]
        sent.append(wire.sent[0])
    assert sent[0]["headers"]["x-mine"] == "1"
    assert_same_request(sent[0], sent[1])
    assert used["loop"] == 1


def test_response_received_handlers_get_botocores_arguments(used: dict[str, int]) -> None:
    got = []
    for ours in (True, False):
        client = stub_client()
        kwargs: dict[str, Any] = {}
        client.meta.events.register(
            "response-received.dynamodb.GetItem", lambda kwargs=kwargs, **kw: kwargs.update(kw)
        )
        Wire(client, lambda _: answer(json.dumps({"Item": BINARY_ITEM}).encode()))
        if ours:
            transport = Transport.of(client)
            assert transport is not None
            transport.call("GetItem", GET)
        else:
            client.get_item(**GET)
        context = kwargs.pop("context")
        assert context["retries"]["attempt"] == 1
        got.append(kwargs)
    assert got[0] == got[1]
    assert set(got[0]) == {"response_dict", "parsed_response", "exception", "event_name"}
    assert used["loop"] == 1


def test_an_unknown_before_parse_handler_gets_botocores_parser(used: dict[str, int]) -> None:
    """A handler on an event the loop answers itself (2xx parsing) is not one it can account
    for: botocore's parsing runs, the handler sees the response and its customisation stays."""
    results = []
    for ours in (True, False):
        client = stub_client()

        def customise(response_dict: Any, customized_response_dict: Any, **_: Any) -> None:
            customized_response_dict["Seen"] = response_dict["status_code"]

        client.meta.events.register("before-parse.dynamodb.GetItem", customise)
        Wire(client, lambda _: answer(json.dumps({"Item": BINARY_ITEM}).encode()))
        if ours:
            transport = Transport.of(client)
            assert transport is not None
            results.append(transport.call("GetItem", GET))
        else:
            results.append(client.get_item(**GET))
    assert results[0] == results[1]
    assert results[0]["Seen"] == 200
    assert results[0]["Item"]["blob"] == {"B": b"\x00\xffbinary"}


def test_the_fast_path_before_parse_handler_alone_is_accounted_for(
    used: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = stub_client()
    raw = json.dumps({"Item": BINARY_ITEM}).encode()
    Wire(client, lambda _: answer(raw))
    transport = Transport.of(client)
    assert transport is not None and transport._loop is not None
    parsed = []
    original = transport._loop._parse_ok
    monkeypatch.setattr(transport._loop, "_parse_ok", lambda *a: parsed.append(1) or original(*a))
    from persistence.backends.dynamodb import fastpath

    fastpath.install(client)
    transport.call("GetItem", GET)
    assert parsed == [1]
    client.meta.events.register("before-parse.dynamodb", lambda **_: None)
    transport.call("GetItem", GET)
    assert parsed == [1]  # botocore's parser this time


def test_a_replaced_make_request_is_called(used: dict[str, int]) -> None:
    client = stub_client()
    Wire(client, lambda _: answer(b"{}"))
    transport = Transport.of(client)
    assert transport is not None
    calls = []
    original = client._endpoint.make_request

    def replaced(model: Any, request: Any) -> Any:
        calls.append(model.name)
        return original(model, request)

    client._endpoint.make_request = replaced
    transport.call("GetItem", GET)
    assert calls == ["GetItem"] and used == {"loop": 0, "make_request": 1}
    del client._endpoint.make_request
    transport.call("GetItem", GET)
    assert used == {"loop": 1, "make_request": 1}


def test_a_replaced_endpoint_is_used_through_its_make_request(used: dict[str, int]) -> None:
    client = stub_client()
    Wire(client, lambda _: answer(b"{}"))
    transport = Transport.of(client)
    assert transport is not None
    calls = []

    class Recording:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def make_request(self, model: Any, request: Any) -> Any:
            calls.append(model.name)
            return self.inner.make_request(model, request)

    client._endpoint = Recording(client._endpoint)
    transport.call("GetItem", GET)
    assert calls == ["GetItem"] and used == {"loop": 0, "make_request": 1}


def test_an_endpoint_subclass_is_used_through_make_request(used: dict[str, int]) -> None:
    class Mine(Endpoint):
        def _send_request(self, request_dict: Any, operation_model: Any) -> Any:
            request_dict["headers"]["X-Subclass"] = "1"
            return super()._send_request(request_dict, operation_model)

    client = stub_client()
    client._endpoint.__class__ = Mine
    wire = Wire(client, lambda _: answer(b"{}"))
    transport = Transport.of(client)
    assert transport is not None and transport._loop is None
    transport.call("GetItem", GET)
    assert wire.sent[0]["headers"]["x-subclass"] == "1"
    assert used == {"loop": 0, "make_request": 1}


@pytest.mark.parametrize("name", ["botocore.endpoint", "botocore.hooks", "botocore.parsers"])
def test_botocore_debug_logging_goes_through_make_request(
    name: str, used: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = stub_client()
    Wire(client, lambda _: answer(b"{}"))
    transport = Transport.of(client)
    assert transport is not None
    monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    logging.getLogger(name).manager._clear_cache()  # type: ignore[attr-defined]
    try:
        transport.call("GetItem", GET)
    finally:
        monkeypatch.undo()
        logging.getLogger(name).manager._clear_cache()  # type: ignore[attr-defined]
    assert used == {"loop": 0, "make_request": 1}


def test_botocore_history_recording_goes_through_make_request(used: dict[str, int]) -> None:
    from botocore.history import get_global_history_recorder

    client = stub_client()
    Wire(client, lambda _: answer(b"{}"))
    transport = Transport.of(client)
    assert transport is not None
    recorder = get_global_history_recorder()
    recorded: list[str] = []

    class Handler:
        def emit(self, event_type: str, payload: Any, source: str) -> None:
            recorded.append(event_type)

    handler = Handler()
    recorder.enable()
    recorder.add_handler(handler)
    try:
        transport.call("GetItem", GET)
    finally:
        recorder.disable()
        recorder._handlers.remove(handler)
    assert used == {"loop": 0, "make_request": 1}
    assert "HTTP_REQUEST" in recorded and "PARSED_RESPONSE" in recorded


def test_the_remembered_user_agents_are_bounded() -> None:
    client = stub_client()
    Wire(client, lambda _: answer(b"{}"))
    transport = Transport.of(client)
    assert transport is not None and transport._loop is not None
    assert loop_module._UA_KEPT == 64
    transport._loop._user_agents.update({(str(i),): "x" for i in range(64)})
    transport.call("GetItem", GET)  # a new input: built by botocore, sent, not remembered
    assert len(transport._loop._user_agents) == 64
