"""The transport's own event dispatch and request preparation (dispatch.py, endpoint_loop.py,
adr/0018) do what botocore's emitter and `Endpoint.prepare_request` do: the same handlers called
in the same order with the same arguments and the same answers, the same prepared request, and
botocore's own code wherever a case falls outside what they mirror.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSRequest, create_request_object
from botocore.endpoint import Endpoint
from hypothesis import given, settings
from hypothesis import strategies as st

from persistence.backends.dynamodb.dispatch import Handlers
from persistence.backends.dynamodb.endpoint_loop import EndpointLoop, _request_class
from persistence.backends.dynamodb.transport import Transport

from .test_transport_faults import error
from .test_transport_loop import GET, PUT
from .test_transport_wire import Wire, answer, assert_same_request, stub_client

# ---------------------------------------------------------------------------- Handlers


def _recorder(log: list[Any], label: str, reply: Any = None) -> Any:
    def handler(**kwargs: Any) -> Any:
        log.append((label, dict(kwargs)))
        return reply

    handler.__name__ = label
    return handler


@pytest.mark.parametrize("until_response", [False, True])
def test_handlers_call_what_the_emitter_calls(until_response: bool) -> None:
    """Same handlers, same order (most specific first), same arguments with `event_name`, the
    same answers; `emit_until_response` stops at the first handler answering."""
    client = stub_client()
    events = client.meta.events
    log: list[Any] = []
    events.register("my-event.dynamodb", _recorder(log, "service"))
    events.register("my-event.dynamodb.GetItem", _recorder(log, "operation"))
    events.register("my-event", _recorder(log, "answers", reply="first"))
    events.register("my-event", _recorder(log, "after-the-answer", reply="second"))
    handlers = Handlers(events)

    def run(emit: Any) -> tuple[Any, list[Any]]:
        log.clear()
        result = emit("my-event.dynamodb.GetItem", value=1)
        return result, list(log)

    if until_response:
        assert run(handlers.emit_until_response) == run(events.emit_until_response)
        assert [label for label, _ in log] == ["operation", "service", "answers"]
        assert run(handlers.emit_until_response)[0][1] == "first"
    else:
        assert run(handlers.emit) == run(events.emit)
        assert [label for label, _ in log] == [
            "operation",
            "service",
            "answers",
            "after-the-answer",
        ]
    assert log[0][1] == {"value": 1, "event_name": "my-event.dynamodb.GetItem"}


def test_handlers_follow_registrations_and_aliases() -> None:
    client = stub_client()
    events = client.meta.events
    handlers = Handlers(events)
    log: list[Any] = []
    assert handlers.emit("my-event.dynamodb.GetItem") == [] == events.emit("my-event.dynamodb")
    assert handlers.emit_until_response("my-event.dynamodb.GetItem") == (None, None)
    late = _recorder(log, "late", reply=3)
    events.register("my-event.dynamodb", late)
    assert handlers.emit("my-event.dynamodb.GetItem") == [(late, 3)]
    events.unregister("my-event.dynamodb", late)
    assert handlers.emit("my-event.dynamodb.GetItem") == []
    # An aliased service name reaches the handlers registered under the real one, as in emit.
    aliased = _recorder(log, "aliased", reply="a")
    events.register("my-event.api-gateway", aliased)
    assert handlers.of("my-event.apigateway.GetRestApi")[0] == "my-event.api-gateway.GetRestApi"
    assert handlers.emit("my-event.apigateway.GetRestApi") == [(aliased, "a")]
    assert events.emit("my-event.apigateway.GetRestApi") == [(aliased, "a")]


def test_no_handler_answering_gives_the_last_handler_as_botocore_does() -> None:
    client = stub_client()
    events = client.meta.events
    log: list[Any] = []
    quiet = _recorder(log, "quiet")
    events.register("my-event.dynamodb", quiet)
    assert Handlers(events).emit_until_response("my-event.dynamodb.GetItem") == (quiet, None)
    assert events.emit_until_response("my-event.dynamodb.GetItem") == (quiet, None)


# ---------------------------------------------------------------------------- the request


def _pair(loop: EndpointLoop, **extra: Any) -> tuple[Any, Any]:
    """The same request as the loop builds it and as `create_request_object` does."""
    request_dict = {
        "url_path": "/",
        "query_string": "",
        "method": "POST",
        "url": "https://dynamodb.eu-west-1.amazonaws.com/",
        "body": b'{"TableName": "t"}',
        "headers": {"X-Amz-Target": "DynamoDB_20120810.GetItem", "User-Agent": "ua"},
        "context": {"k": "v"},
        **extra,
    }
    model = loop._client.meta.service_model.operation_model("GetItem")
    ours = loop._request_object(dict(request_dict, headers=dict(request_dict["headers"])), model)
    theirs = create_request_object(dict(request_dict, headers=dict(request_dict["headers"])))
    theirs.stream_output = False
    return ours, theirs


def _prepared(request: Any) -> tuple[Any, ...]:
    return (
        request.method,
        request.url,
        list(request.headers.items()),
        request.body,
        request.stream_output,
        request.context,
    )


_LOOP = [EndpointLoop.of(stub_client())]  # one client for every example (a client takes ~0.1 s)
header_names = st.sampled_from(
    ["X-Amz-Target", "x-amz-target", "User-Agent", "X-Mine", "x-mine", "Content-Length"]
)
header_values = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8),
    st.binary(max_size=8),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(header_names, header_values), max_size=6))
def test_the_prepared_request_is_botocores(added: list[tuple[str, Any]]) -> None:
    """Headers as handlers leave them (repeated names in any case, str and bytes values, a
    Content-Length of their own): the loop's one-pass preparation equals botocore's encode then
    prepare, header by header and in order."""
    loop = _LOOP[0]
    assert loop is not None
    ours, theirs = _pair(loop)
    for name, value in added:
        ours.headers[name] = value
        theirs.headers[name] = value
    assert _prepared(loop._prepared(ours)) == _prepared(
        Endpoint.prepare_request(loop._endpoint, theirs)
    )


@pytest.mark.parametrize(
    "change",
    [{"body": b""}, {"body": {"form": "field"}}, {"body": None}],
    ids=["empty-body", "form-body", "no-body"],
)
def test_requests_the_loop_does_not_prepare_itself_are_botocores(change: dict[str, Any]) -> None:
    loop = EndpointLoop.of(stub_client())
    assert loop is not None
    ours, theirs = _pair(loop, **change)
    assert _prepared(loop._prepared(ours)) == _prepared(
        Endpoint.prepare_request(loop._endpoint, theirs)
    )


def test_query_parameters_are_prepared_by_botocore() -> None:
    loop = EndpointLoop.of(stub_client())
    assert loop is not None
    ours, theirs = _pair(loop)
    ours.params = theirs.params = {"q": "1"}
    assert _prepared(loop._prepared(ours)) == _prepared(
        Endpoint.prepare_request(loop._endpoint, theirs)
    )
    assert loop._prepared(ours).url.endswith("?q=1")


@pytest.mark.parametrize("data", [b'{"a": 1}', b"", None, {"form": "field"}, "text"], ids=repr)
def test_the_request_body_is_the_preparers(data: Any) -> None:
    ours = _request_class()("POST", "https://example.test/", data=data)
    theirs = AWSRequest("POST", "https://example.test/", data=data)
    assert ours.body == theirs.body


# ---------------------------------------------------------------------------- needs-retry


def test_needs_retry_handlers_get_botocores_arguments_and_decide(
    used: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's needs-retry handler sees what botocore's `_needs_retry` emits and its delay is
    slept (time.sleep, as botocore sleeps) before the retry, on both paths."""
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    runs = []
    for ours in (True, False):
        client = stub_client()
        wire = Wire(client, lambda _: answer(b"{}"))
        seen: list[dict[str, Any]] = []

        def retry_once(
            attempts: int, seen: list[dict[str, Any]] = seen, **kwargs: Any
        ) -> float | None:
            seen.append(
                {
                    "attempts": attempts,
                    "keys": sorted(kwargs),
                    "status": kwargs["response"][0].status_code,
                    "operation": kwargs["operation"].name,
                    "event": kwargs["event_name"],
                    "endpoint": type(kwargs["endpoint"]).__name__,
                }
            )
            return 0.25 if attempts == 1 else None

        client.meta.events.register_first("needs-retry.dynamodb.GetItem", retry_once)
        if ours:
            transport = Transport.of(client)
            assert transport is not None
            assert transport._lean() is transport._loop is not None
            transport.call("GetItem", GET)
        else:
            client.get_item(**GET)
        runs.append((seen, wire.sent))
    assert runs[0][0] == runs[1][0] and len(runs[0][0]) == 2
    assert slept == [0.25, 0.25]
    for mine, plain in zip(runs[0][1], runs[1][1], strict=True):
        assert_same_request(mine, plain)
    assert used["loop"] == 1


def test_a_throttled_commit_still_retries_through_botocores_handler(
    used: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's retry handler (behind a user's handler that answers nothing) decides the
    retry and its delay, slept as botocore sleeps."""
    client = stub_client()
    replies = iter([error("ThrottlingException"), answer(b"{}")])
    wire = Wire(client, lambda _: next(replies))
    client.meta.events.register_first("needs-retry.dynamodb", lambda **_: None)
    transport = Transport.of(client)
    assert transport is not None
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    result = transport.call("TransactWriteItems", PUT)
    assert result["ResponseMetadata"]["RetryAttempts"] == 1
    assert len(wire.sent) == 2 and len(slept) == 1 and slept[0] > 0
    assert used["loop"] == 1


# ---------------------------------------------------------------------------- fallbacks


def test_a_client_replacing_emit_api_params_is_called(used: dict[str, int]) -> None:
    """The transport mirrors `BaseClient._emit_api_params`; a client whose method is another
    (here replaced on the instance) gets it called, and the call goes through make_request."""
    client = stub_client()
    wire = Wire(client, lambda _: answer(b"{}"))
    calls = []
    original = client._emit_api_params

    def emit_api_params(**kwargs: Any) -> Any:
        calls.append(kwargs["operation_model"].name)
        return {**original(**kwargs), "ConsistentRead": True}

    client._emit_api_params = emit_api_params
    transport = Transport.of(client)
    assert transport is not None
    transport.call("GetItem", GET)
    assert calls == ["GetItem"]
    assert json.loads(wire.sent[0]["body"])["ConsistentRead"] is True
    assert used == {"loop": 0, "make_request": 1}


def test_a_client_whose_events_are_not_the_endpoints_uses_its_emitter(
    used: dict[str, int],
) -> None:
    """The handlers are read from the endpoint's emitter: a client whose `meta.events` was
    replaced by another emitter has its own events emitted there, through make_request."""
    client = stub_client()
    other = stub_client()
    wire = Wire(client, lambda _: answer(b"{}"))
    transport = Transport.of(client)
    assert transport is not None
    seen: list[str] = []
    other.meta.events.register("before-call.dynamodb", lambda **kw: seen.append(kw["event_name"]))
    client.meta.events = other.meta.events
    transport.call("GetItem", GET)
    assert seen == ["before-call.dynamodb.GetItem"]
    assert len(wire.sent) == 1
    assert used == {"loop": 0, "make_request": 1}
