"""The aiobotocore transport (persistence/backends/dynamodb/aio_transport.py, adr/0018) puts on
the wire what aiobotocore's public client method sends for the same call, meets faults as that
method does, and answers what it answers, on the moto server over real HTTP.

Wire requests are captured at aiobotocore's `before-send` event, once for the library's call and
once for the plain client method called with the very parameters the library built; only
X-Amz-Date, Authorization and amz-sdk-invocation-id may differ (test_transport_wire.py says why).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

import persistence as p
from persistence import attr
from persistence.backends.actions import Check, Meaning, Put
from persistence.backends.base import Cancelled
from persistence.backends.dynamodb import aio_transport
from persistence.backends.dynamodb.aio_backend import AsyncDynamoDBBackend
from persistence.backends.dynamodb.aio_transport import AioEndpointLoop, AioTransport
from persistence.backends.dynamodb.dispatch import AsyncHandlers
from persistence.backends.dynamodb.transport import Transport
from persistence.tables import create_table_request
from persistence.testing import faults
from persistence.testing.moto_server import MotoServer

from .test_transport_wire import Wire, assert_same_request

pytestmark = [pytest.mark.dynamodb, pytest.mark.anyio]

TABLE = p.Table("aio_transport", partition_key="pk", sort_key="sk")
KEY = {"pk": {"S": "DOC#1"}, "sk": {"S": "A"}}
ITEM = {
    **KEY,
    "title": {"S": "tïtle"},
    "n": {"N": "12.5"},
    "blob": {"B": b"\x00\xffbinary"},
    "tags": {"SS": ["a", "b"]},
    "nested": {"M": {"l": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}]}}},
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiobotocore runs on asyncio only


async def _no_sleep(_: float) -> None:
    """Retries are counted, not waited for."""


@pytest.fixture
def server(moto: MotoServer) -> MotoServer:
    moto.reset()
    return moto


@asynccontextmanager
async def client_on(server: MotoServer, **config: Any) -> AsyncIterator[Any]:
    async with server.aio_client(**config) as client:
        # An instance attribute the loop does not mirror: it awaits the endpoint's own sleep.
        client._endpoint._sleep = _no_sleep
        yield client


@pytest.fixture
def params_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The parameters the library hands the transport, copied before anything can touch them."""
    seen: list[tuple[str, dict[str, Any]]] = []
    original = AioTransport.acall

    async def acall(self: AioTransport, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        seen.append((operation, copy.deepcopy(params)))
        return await original(self, operation, params)

    monkeypatch.setattr(AioTransport, "acall", acall)
    return seen


def _put(pk: str, sk: str = "A", **extra: Any) -> Put:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **extra}
    return Put(TABLE.name, item, None, Meaning("Thing", {"pk": pk}, "update"))


def _without_metadata(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


# ------------------------------------------------------------------------------ the wire


async def test_get_item_on_the_wire_is_the_public_methods(
    server: MotoServer, params_seen: list[tuple[str, dict[str, Any]]]
) -> None:
    async with client_on(server) as client:
        await client.create_table(**create_table_request(TABLE))
        await client.put_item(TableName=TABLE.name, Item=ITEM)
        backend = AsyncDynamoDBBackend(client)
        assert isinstance(backend._transport, AioTransport)
        wire = Wire(client)
        ours = await backend.get_item(TABLE.name, KEY, True)
        [(operation, params)] = params_seen
        assert operation == "GetItem"
        plain = await client.get_item(**params)
        assert len(wire.sent) == 2
        assert_same_request(wire.sent[0], wire.sent[1])
        # What the public path (without the fast path) reads back is the same item.
        slow = AsyncDynamoDBBackend(client, fast_path=False)
        assert ours == await slow.get_item(TABLE.name, KEY, True)
        assert ours is not None and ours["blob"] == plain["Item"]["blob"] == {
            "B": b"\x00\xffbinary"
        }


async def test_one_action_commit_on_the_wire_is_the_public_methods(
    server: MotoServer, params_seen: list[tuple[str, dict[str, Any]]]
) -> None:
    async with client_on(server) as client:
        await client.create_table(**create_table_request(TABLE))
        backend = AsyncDynamoDBBackend(client)
        wire = Wire(client)
        await backend.transact_write([_put("DOC#1", blob={"B": b"\x01\x02"})], "token-one")
        [(operation, params)] = params_seen
        assert operation == "TransactWriteItems"
        assert params["ClientRequestToken"] == "token-one"
        await client.transact_write_items(**params)
        assert len(wire.sent) == 2
        assert_same_request(wire.sent[0], wire.sent[1])
        stored = await client.get_item(TableName=TABLE.name, Key=KEY)
        assert stored["Item"]["blob"] == {"B": b"\x01\x02"}


async def test_results_equal_the_public_paths(server: MotoServer) -> None:
    async with client_on(server) as client:
        await client.create_table(**create_table_request(TABLE))
        fast = AsyncDynamoDBBackend(client)
        slow = AsyncDynamoDBBackend(client, fast_path=False)
        assert fast._transport is not None and slow._transport is None
        assert await fast.get_item(TABLE.name, KEY, False) is None
        await fast.transact_write([_put("DOC#1", n={"N": "1"}), _put("DOC#2")], "token-two")
        await fast.transact_write([_put("DOC#3", tags={"NS": ["1", "2"]})], "token-three")
        for pk in ("DOC#1", "DOC#2", "DOC#3", "DOC#4"):
            key = {"pk": {"S": pk}, "sk": {"S": "A"}}
            assert await fast.get_item(TABLE.name, key, True) == await slow.get_item(
                TABLE.name, key, True
            )
        # The raw answers too, metadata apart (request ids differ).
        transport = fast._transport
        key = {"pk": {"S": "DOC#3"}, "sk": {"S": "A"}}
        ours = await transport.acall("GetItem", {"TableName": TABLE.name, "Key": key})
        plain = await client.get_item(TableName=TABLE.name, Key=key)
        assert ours["Item"] == plain["Item"]
        assert ours["ResponseMetadata"]["HTTPStatusCode"] == 200
        assert ours["ResponseMetadata"]["RetryAttempts"] == 0
        # A failed condition cancels the transaction with the same reasons on both paths.
        reasons = []
        for backend in (fast, slow):
            check = Check(TABLE.name, KEY, attr("pk").not_exists(), Meaning("Thing", {}, "update"))
            with pytest.raises(Cancelled) as caught:
                await backend.transact_write([check, _put("DOC#8")], "token-cancelled")
            reasons.append([r.code for r in caught.value.reasons])
        assert reasons[0] == reasons[1] == ["ConditionalCheckFailed", "None"]


# ------------------------------------------------------------------------------ faults


async def _both(
    server: MotoServer,
    plan: Callable[[], faults.FaultPlan],
    operation: str = "GetItem",
    retries: dict[str, Any] | None = None,
) -> list[tuple[Any, int, dict[str, Any] | None]]:
    """(answer without metadata or the ClientError's error, attempts, metadata) for the
    transport and for the public client method, with the same parameters and faults."""
    out = []
    for ours in (True, False):
        server.reset()
        config = {"retries": retries or {"mode": "standard", "max_attempts": 3}}
        async with client_on(server, **config) as client:
            await client.create_table(**create_table_request(TABLE))
            await client.put_item(TableName=TABLE.name, Item=ITEM)
            transport = AioTransport.of(client)
            assert transport is not None
            if operation == "GetItem":
                params: dict[str, Any] = {"TableName": TABLE.name, "Key": KEY}
                method = client.get_item
            else:
                params = {
                    "TransactItems": [{"Put": {"TableName": TABLE.name, "Item": ITEM}}],
                    "ClientRequestToken": "token-faults",
                }
                method = client.transact_write_items
            faced = plan()
            result: Any
            metadata: dict[str, Any] | None
            with faults.inject(client, faced):
                try:
                    if ours:
                        answer = await transport.acall(operation, copy.deepcopy(params))
                    else:
                        answer = await method(**copy.deepcopy(params))
                    result, metadata = _without_metadata(answer), answer["ResponseMetadata"]
                except ClientError as exc:
                    result = (type(exc).__name__, exc.response["Error"], str(exc))
                    metadata = exc.response["ResponseMetadata"]
            out.append((result, faced.count(operation), metadata))
    return out


@pytest.mark.parametrize("operation", ["GetItem", "TransactWriteItems"])
async def test_throttled_then_success_takes_as_many_attempts(
    server: MotoServer, operation: str
) -> None:
    ours, plain = await _both(
        server, lambda: faults.FaultPlan(faults.throttle(operation, 2)), operation
    )
    assert ours[:2] == plain[:2]
    assert ours[1] == 3
    assert ours[2] is not None and plain[2] is not None
    assert ours[2]["RetryAttempts"] == plain[2]["RetryAttempts"] == 2


async def test_throttled_until_retries_run_out_raises_the_same_error(server: MotoServer) -> None:
    ours, plain = await _both(server, lambda: faults.FaultPlan(faults.throttle("GetItem", 9)))
    assert ours[:2] == plain[:2]
    assert ours[0][1]["Code"] == "ProvisionedThroughputExceededException"
    assert ours[1] == 4  # the first attempt and the client's max_attempts (3) retries
    assert ours[2] is not None and plain[2] is not None
    assert ours[2]["RetryAttempts"] == plain[2]["RetryAttempts"] == 3


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried(server: MotoServer, status: int) -> None:
    ours, plain = await _both(
        server, lambda: faults.FaultPlan(faults.server_error("GetItem", 1, status=status))
    )
    assert ours[:2] == plain[:2]
    assert ours[1] == 2
    assert ours[0]["Item"] == ITEM


async def test_one_client_request_token_across_retries(server: MotoServer) -> None:
    async with client_on(server, retries={"mode": "standard", "max_attempts": 4}) as client:
        await client.create_table(**create_table_request(TABLE))
        backend = AsyncDynamoDBBackend(client)
        wire = Wire(client)
        plan = faults.FaultPlan(faults.throttle("TransactWriteItems", 2))
        with faults.inject(client, plan):
            await backend.transact_write([_put("DOC#1")], "token-retried")
        assert plan.exhausted()
        assert plan.tokens == ["token-retried"] * 3
        assert len(wire.sent) == 3
        assert wire.sent[0]["body"] == wire.sent[1]["body"] == wire.sent[2]["body"]
        # Each attempt is signed anew, as botocore's loop does.
        assert len({r["headers"]["amz-sdk-request"] for r in wire.sent}) == 3
        assert (await backend.get_item(TABLE.name, KEY, True)) is not None


# ------------------------------------------------------------------------------ fallbacks


async def test_only_aiobotocore_clients_are_served(server: MotoServer) -> None:
    async with client_on(server) as client:
        transport = AioTransport.of(client)
        assert transport is not None and isinstance(transport._loop, AioEndpointLoop)
        assert transport._loop.usable()
        # The synchronous transport refuses it (AioEndpoint.make_request is a plain method
        # returning a coroutine, so it once took the client for botocore's).
        assert Transport.of(client) is None
    sync = server.client()
    assert AioTransport.of(sync) is None
    assert AioTransport.of(object()) is None


async def test_an_untested_aiobotocore_takes_the_public_path(
    server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aio_transport, "TESTED_AIOBOTOCORE", ((9, 0, 0), (9, 1, 0)))
    async with client_on(server) as client:
        await client.create_table(**create_table_request(TABLE))
        backend = AsyncDynamoDBBackend(client)
        assert backend._transport is None
        await backend.transact_write([_put("DOC#1")], "token-public")
        assert await backend.get_item(TABLE.name, KEY, True) == {"pk": KEY["pk"], "sk": KEY["sk"]}


async def test_a_replaced_endpoint_method_goes_through_make_request(server: MotoServer) -> None:
    async with client_on(server) as client:
        await client.create_table(**create_table_request(TABLE))
        backend = AsyncDynamoDBBackend(client)
        calls: list[str] = []
        original = client._endpoint._send_request

        async def send_request(request_dict: dict[str, Any], model: Any) -> Any:
            calls.append(model.name)
            return await original(request_dict, model)

        client._endpoint._send_request = send_request
        assert backend._transport is not None and not backend._transport._loop.usable()
        await backend.transact_write([_put("DOC#1")], "token-replaced")
        assert await backend.get_item(TABLE.name, KEY, True) is not None
        assert calls == ["TransactWriteItems", "GetItem"]


def _recorders(events: list[str]) -> tuple[Any, Any]:
    """A coroutine before-call handler and a plain after-call one, both recording."""

    async def before_call(model: Any, params: dict[str, Any], **_: Any) -> None:
        events.append(f"before-call {model.name} {params['headers']['X-Amz-Target']}")

    def after_call(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        events.append(f"after-call {model.name} {json.dumps(sorted(parsed))}")

    return before_call, after_call


async def test_hooks_see_the_calls_as_on_the_public_path(server: MotoServer) -> None:
    seen: list[list[str]] = []
    for fast_path in (True, False):
        server.reset()
        async with client_on(server) as client:
            await client.create_table(**create_table_request(TABLE))
            backend = AsyncDynamoDBBackend(client, fast_path=fast_path)
            assert (backend._transport is not None) is fast_path
            events: list[str] = []
            before_call, after_call = _recorders(events)
            client.meta.events.register("before-call.dynamodb", before_call)
            client.meta.events.register("after-call.dynamodb", after_call)
            await backend.transact_write([_put("DOC#1")], "token-hooks")
            await backend.get_item(TABLE.name, KEY, True)
            seen.append(events)
    assert seen[0] == seen[1]
    assert [event.split()[1] for event in seen[0]] == [
        "TransactWriteItems",
        "TransactWriteItems",
        "GetItem",
        "GetItem",
    ]


async def test_async_handlers_call_what_aiobotocores_emitter_calls(server: MotoServer) -> None:
    """Coroutine and plain handlers, most specific first, each answer awaited before the next
    handler runs; emit_until_response stops at the first answer, as aiobotocore's `_emit`."""
    async with client_on(server) as client:
        events = client.meta.events
        log: list[str] = []

        async def operation(**kwargs: Any) -> None:
            log.append(f"operation {kwargs['event_name']} {kwargs['value']}")

        def service(**_: Any) -> None:
            log.append("service")

        async def answers(**_: Any) -> str:
            log.append("answers")
            return "first"

        def after(**_: Any) -> str:
            log.append("after")
            return "second"

        events.register("my-event.dynamodb.GetItem", operation)
        events.register("my-event.dynamodb", service)
        events.register("my-event", answers)
        events.register("my-event", after)
        handlers = AsyncHandlers(events)
        runs = []
        for emit in (
            handlers.emit,
            events.emit,
            handlers.emit_until_response,
            events.emit_until_response,
        ):
            log.clear()
            runs.append((await emit("my-event.dynamodb.GetItem", value=1), list(log)))
        assert runs[0] == runs[1] and runs[2] == runs[3]
        assert runs[1][1] == [
            "operation my-event.dynamodb.GetItem 1",
            "service",
            "answers",
            "after",
        ]
        assert runs[3][0] == (answers, "first") and runs[3][1][-1] == "answers"


async def test_needs_retry_handlers_decide_as_on_the_public_path(server: MotoServer) -> None:
    """A coroutine needs-retry handler gets aiobotocore's arguments; its delay is awaited with
    the endpoint's own sleep and the call is retried, on both paths."""
    runs = []
    for fast_path in (True, False):
        server.reset()
        async with client_on(server) as client:
            await client.create_table(**create_table_request(TABLE))
            slept: list[float] = []

            async def sleep(delay: float, slept: list[float] = slept) -> None:
                slept.append(delay)

            client._endpoint._sleep = sleep
            seen: list[tuple[int, list[str]]] = []

            async def retry_once(
                attempts: int, seen: list[tuple[int, list[str]]] = seen, **kwargs: Any
            ) -> float | None:
                seen.append((attempts, sorted(kwargs)))
                return 0.5 if attempts == 1 else None

            client.meta.events.register_first("needs-retry.dynamodb.GetItem", retry_once)
            backend = AsyncDynamoDBBackend(client, fast_path=fast_path)
            assert (backend._transport is not None) is fast_path
            if backend._transport is not None:
                # The loop and its own dispatch serve the call (not aiobotocore's make_request).
                assert backend._transport._lean() is backend._transport._loop is not None
            await backend.get_item(TABLE.name, KEY, True)
            runs.append((seen, slept))
    assert runs[0] == runs[1]
    assert [attempt for attempt, _ in runs[0][0]] == [1, 2] and runs[0][1] == [0.5]
