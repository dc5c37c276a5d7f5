"""AsyncDynamoDBBackend (aiobotocore) against DynamoDBBackend (boto3), on the moto server over
real HTTP: every backend method with the same inputs gives the same results, sends the same
requests (recorded from botocore's before-call event on each client) and raises the same typed
errors; the fast paths are taken on aiobotocore too.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import persistence as p
from persistence import attr
from persistence.backends.actions import (
    AddValue,
    Check,
    Delete,
    Meaning,
    Put,
    SetValue,
    Update,
)
from persistence.backends.base import Cancelled, ConditionalCheckFailed
from persistence.backends.dynamodb.aio_backend import AsyncDynamoDBBackend
from persistence.backends.dynamodb.backend import DynamoDBBackend
from persistence.query.planner import Plan
from persistence.tables import create_table_request
from persistence.testing import faults
from persistence.testing.harness import RequestLog, record_requests
from persistence.testing.moto_server import MotoServer

pytestmark = [pytest.mark.dynamodb, pytest.mark.anyio]

TABLE = p.Table("aio_backend", partition_key="pk", sort_key="sk")
TOKEN = "aio-backend-token-0001"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiobotocore runs on asyncio only


def _meaning(pk: str) -> Meaning:
    return Meaning("Thing", {"pk": pk}, "update")


def _key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _item(pk: str, sk: str = "A", n: int = 1, **extra: Any) -> dict[str, Any]:
    return {**_key(pk, sk), "n": {"N": str(n)}, **extra}


def _plan(
    operation: str, pk: str | None = None, *, descending: bool = False, filter: Any = None
) -> Plan:
    condition = () if pk is None else (attr("pk") == pk,)
    return Plan(
        operation,  # type: ignore[arg-type]
        TABLE.name,
        None,
        None,
        condition,
        filter,
        None,
        descending,
        True,
        None,
        ("pk", "sk"),
    )


class Awaited:
    """The sync backend behind the async methods' shape, so one scenario drives both."""

    def __init__(self, backend: DynamoDBBackend) -> None:
        self.backend = backend

    def register(self, table: Any) -> None:
        self.backend.register(table)

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.backend, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)

        return call


async def _outcome(call: Awaitable[Any]) -> Any:
    """A result, or the typed error as comparable data."""
    try:
        return ("ok", await call)
    except Cancelled as exc:
        return ("Cancelled", [(r.code, r.message, r.item) for r in exc.reasons])
    except ConditionalCheckFailed as exc:
        return ("ConditionalCheckFailed", exc.item)
    except p.ValidationError as exc:
        return ("ValidationError", str(exc), type(exc.__cause__).__name__)


async def _scenario(backend: Any) -> list[Any]:
    """Every backend method, including each typed error, in one fixed order."""
    backend.register(TABLE)
    out: list[Any] = []
    binary = {"B": b"\x00\xffbytes"}
    for i in range(5):
        out.append(
            await _outcome(
                backend.write(Put(TABLE.name, _item("P", f"S{i}", i), None, _meaning("P")))
            )
        )
    out.append(
        await _outcome(backend.write(Put(TABLE.name, _item("Q", blob=binary), None, _meaning("Q"))))
    )
    # a conditional check failure, with the stored item
    exists = Put(TABLE.name, _item("Q", n=9), attr("pk").not_exists(), _meaning("Q"))
    out.append(await _outcome(backend.write(exists)))
    update = Update(TABLE.name, _key("Q"), [AddValue(("n",), {"N": "2"})], None, _meaning("Q"))
    out.append(await _outcome(backend.write(update, return_values="ALL_NEW")))
    out.append(
        await _outcome(
            backend.write(
                Delete(TABLE.name, _key("P", "S4"), None, _meaning("P")), return_values="ALL_OLD"
            )
        )
    )
    # reads
    out.append(await _outcome(backend.get_item(TABLE.name, _key("Q"), True)))
    out.append(await _outcome(backend.get_item(TABLE.name, _key("nobody"), False)))
    out.append(
        await _outcome(
            backend.batch_get({TABLE.name: [_key("P", "S0"), _key("Q"), _key("no")]}, True)
        )
    )
    first = await backend.read(_plan("Query", "P"), limit=2, start_key=None)
    out.append(first)
    out.append(
        await backend.read(
            _plan("Query", "P", descending=True), limit=None, start_key=first.last_key
        )
    )
    out.append(
        await backend.read(
            _plan("Query", "P", filter=attr("n") > 1), limit=None, start_key=None, select_count=True
        )
    )
    out.append(
        await backend.read(_plan("Query", "P"), limit=None, start_key=None, projection=["sk", "n"])
    )
    for segment in (0, 1):
        scan = await backend.read(
            _plan("Scan"), limit=None, start_key=None, segment=segment, total_segments=2
        )
        out.append(sorted(json.dumps(i, default=repr, sort_keys=True) for i in scan.items))
    # transactions: applied; cancelled with reasons; refused as invalid
    applied = [
        Put(TABLE.name, _item("T", "1"), attr("pk").not_exists(), _meaning("T")),
        Update(
            TABLE.name, _key("Q"), [SetValue(("s",), {"S": "x"})], attr("n") == 3, _meaning("Q")
        ),
        Check(TABLE.name, _key("P", "S0"), attr("pk").exists(), _meaning("P")),
    ]
    out.append(await _outcome(backend.transact_write(applied, TOKEN)))
    cancelled = [
        Put(TABLE.name, _item("T", "1"), attr("pk").not_exists(), _meaning("T")),
        Delete(TABLE.name, _key("P", "S1"), None, _meaning("P")),
    ]
    out.append(await _outcome(backend.transact_write(cancelled, TOKEN + "-2")))
    # ValidationException (a key without its sort key)
    out.append(await _outcome(backend.get_item(TABLE.name, {"pk": {"S": "Q"}}, True)))
    out.append(
        await _outcome(backend.write(Put(TABLE.name, {"pk": {"S": "Q"}}, None, _meaning("Q"))))
    )
    # batch writes, and what is left after them
    puts: list[Put | Delete] = [
        Put(TABLE.name, _item("B", str(i)), None, _meaning("B")) for i in range(3)
    ]
    out.append(
        await _outcome(
            backend.batch_write(
                {TABLE.name: [*puts, Delete(TABLE.name, _key("P", "S1"), None, _meaning("P"))]}
            )
        )
    )
    everything = await backend.read(
        _plan("Scan"), limit=None, start_key=None, return_consumed_capacity=True
    )
    out.append(sorted(json.dumps(i, default=repr, sort_keys=True) for i in everything.items))
    return out


async def _run_both(
    moto: MotoServer, sync_client: Any, aio_client: Any
) -> tuple[list[Any], list[Any], RequestLog, RequestLog]:
    sync_log = record_requests(sync_client)
    aio_log = record_requests(aio_client)
    sync_client.create_table(**create_table_request(TABLE))
    sync_out = await _scenario(Awaited(DynamoDBBackend(sync_client)))
    moto.reset()
    await aio_client.create_table(**create_table_request(TABLE))
    aio_out = await _scenario(AsyncDynamoDBBackend(aio_client))
    return sync_out, aio_out, sync_log, aio_log


async def test_every_method_gives_the_same_results_requests_and_errors(
    moto: MotoServer, dynamodb_client: Any, aio_dynamodb_client: Any
) -> None:
    sync_out, aio_out, sync_log, aio_log = await _run_both(
        moto, dynamodb_client, aio_dynamodb_client
    )
    assert aio_out == sync_out
    assert aio_log.calls == sync_log.calls
    kinds = [entry[0] for entry in aio_out if isinstance(entry, tuple)]
    assert "ConditionalCheckFailed" in kinds
    conditional = next(
        e for e in aio_out if isinstance(e, tuple) and e[0] == "ConditionalCheckFailed"
    )
    assert conditional[1]["blob"] == {"B": b"\x00\xffbytes"}  # the stored item, bytes decoded
    cancelled = next(e for e in aio_out if isinstance(e, tuple) and e[0] == "Cancelled")
    assert [code for code, _, _ in cancelled[1]] == ["ConditionalCheckFailed", "None"]
    assert cancelled[1][0][2] == _item("T", "1")
    refusals = [e for e in aio_out if isinstance(e, tuple) and e[0] == "ValidationError"]
    assert len(refusals) == 2
    assert all(
        e[1].startswith("DynamoDB refused the request (ValidationException)") for e in refusals
    )
    assert all(e[2] == "ClientError" for e in refusals)
    names = aio_log.names()
    assert {
        "GetItem",
        "BatchGetItem",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
        "BatchWriteItem",
    } <= set(names)
    transactions = aio_log.of("TransactWriteItems")
    assert transactions[0]["ClientRequestToken"] == TOKEN
    assert len(transactions[0]["TransactItems"]) == 3  # the swapped-in body, not the placeholder


async def test_unprocessed_batch_items_and_keys_are_handed_back_alike(
    moto: MotoServer, dynamodb_client: Any, aio_dynamodb_client: Any
) -> None:
    async def scenario(backend: Any) -> list[Any]:
        backend.register(TABLE)
        puts: list[Put | Delete] = [
            Put(TABLE.name, _item("U", str(i)), None, _meaning("U")) for i in range(3)
        ]
        left = await backend.batch_write({TABLE.name: puts})
        assert all(a is b for a, b in zip(left[TABLE.name], puts[1:], strict=True))
        keys = [_key("U", "0"), _key("U", "1"), _key("U", "2")]
        found, unprocessed = await backend.batch_get({TABLE.name: keys}, True)
        return [left, found, unprocessed]

    results = []
    for client, backend in (
        (dynamodb_client, Awaited(DynamoDBBackend(dynamodb_client))),
        (aio_dynamodb_client, AsyncDynamoDBBackend(aio_dynamodb_client)),
    ):
        moto.reset()
        dynamodb_client.create_table(**create_table_request(TABLE))
        plan = faults.FaultPlan(
            faults.unprocessed("BatchWriteItem", keep=1), faults.unprocessed("BatchGetItem", keep=1)
        )
        with faults.inject(client, plan):
            results.append(await scenario(backend))
        assert plan.exhausted()
    assert results[0] == results[1]
    left, found, unprocessed = results[1]
    assert [a.item["sk"] for a in left[TABLE.name]] == [{"S": "1"}, {"S": "2"}]
    assert found == {TABLE.name: [_item("U", "0")]}
    assert unprocessed == {TABLE.name: [_key("U", "1"), _key("U", "2")]}


# ---------------------------------------------------------------------------------- fast paths


def _transaction(pk: str) -> list[Any]:
    return [Put(TABLE.name, _item(pk, str(i), i), None, _meaning(pk)) for i in range(3)]


async def test_the_transaction_body_is_swapped_in_on_aiobotocore(aio_dynamodb_client: Any) -> None:
    client = aio_dynamodb_client
    await client.create_table(**create_table_request(TABLE))
    fast = AsyncDynamoDBBackend(client)
    slow = AsyncDynamoDBBackend(client, fast_path=False)
    assert fast.fast_path and not slow.fast_path
    built: list[int] = []  # actions botocore validates and serialises itself
    sent: list[bytes] = []  # bodies as they go on the wire

    def after_fast_path(params: dict[str, Any], **_: Any) -> None:
        built.append(len(params["TransactItems"]))

    def before_send(request: Any, **_: Any) -> None:
        sent.append(request.body)

    # Registered after install, so they run after the fast path's own handlers.
    client.meta.events.register_last(
        "before-parameter-build.dynamodb.TransactWriteItems", after_fast_path
    )
    client.meta.events.register("before-send.dynamodb.TransactWriteItems", before_send)
    await slow.transact_write(_transaction("S"), "token-slow")
    await fast.transact_write(_transaction("F"), "token-fast")
    # The public path's handlers see every action; so do they on the fast path, where the
    # transport (aio_transport.py) hands them the parameters and writes the body itself
    # instead of swapping it in for botocore's placeholder.
    assert built == [3, 3]
    slow_body, fast_body = (json.loads(b) for b in sent)
    assert len(fast_body["TransactItems"]) == 3
    assert fast_body["ClientRequestToken"] == "token-fast"
    assert json.dumps(fast_body).replace('"F"', '"S"').replace("token-fast", "token-slow") == (
        json.dumps(slow_body)
    )
    stored = await slow.read(_plan("Scan"), limit=None, start_key=None)
    assert stored.count == 6


async def test_reads_skip_botocore_parsing_per_task_and_equal_the_slow_path(
    aio_dynamodb_client: Any,
) -> None:
    client = aio_dynamodb_client
    await client.create_table(**create_table_request(TABLE))
    fast = AsyncDynamoDBBackend(client)
    slow = AsyncDynamoDBBackend(client, fast_path=False)
    items = [_item("R", f"{i:02}", i, blob={"B": bytes([i, 255])}) for i in range(30)]
    await fast.batch_write({TABLE.name: [Put(TABLE.name, i, None, _meaning("R")) for i in items]})
    parsed: list[tuple[str, bool]] = []  # (task name, whether botocore still saw the items)

    def after_fast_path(response_dict: dict[str, Any], operation_model: Any, **_: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        key = {"Query": b'"Items"', "GetItem": b'"Item"', "BatchGetItem": b'"Responses"'}
        carried = key[operation_model.name] in response_dict["body"]
        parsed.append((task.get_name(), carried))

    client.meta.events.register_last("before-parse.dynamodb", after_fast_path)

    async def reads(backend: AsyncDynamoDBBackend) -> list[Any]:
        out: list[Any] = []
        for start in range(0, 30, 5):
            out.append(await backend.read(_plan("Query", "R"), limit=5 + start, start_key=None))
            out.append(await backend.get_item(TABLE.name, _key("R", f"{start:02}"), True))
            out.append(
                await backend.batch_get({TABLE.name: [_key("R", "07"), _key("R", "x")]}, True)
            )
            await asyncio.sleep(0)  # let the other tasks run between requests
        return out

    tasks = [
        asyncio.create_task(
            reads(fast if i % 2 else slow), name=f"{'fast' if i % 2 else 'slow'}-{i}"
        )
        for i in range(6)
    ]
    results = await asyncio.gather(*tasks)
    assert all(r == results[0] for r in results)
    assert results[0][0].items == items[:5]
    assert results[0][1] == items[0]  # bytes decoded as botocore does
    assert results[0][2] == ({TABLE.name: [items[7]]}, {})
    assert {name.split("-")[0] for name, _ in parsed} == {"fast", "slow"}
    for name, carried in parsed:
        assert carried == name.startswith("slow"), name


# ---------------------------------------------------------------------------------- retries


async def test_transact_write_retries_with_one_client_request_token(
    aio_dynamodb_client: Any,
) -> None:
    client = aio_dynamodb_client
    await client.create_table(**create_table_request(TABLE))
    backend = AsyncDynamoDBBackend(client)
    sent: list[bytes] = []
    client.meta.events.register(
        "before-send.dynamodb.TransactWriteItems", lambda request, **_: sent.append(request.body)
    )
    plan = faults.FaultPlan(
        faults.throttle("TransactWriteItems", 1), faults.lost_response("TransactWriteItems", 1)
    )
    # Attempt 1 is throttled; attempt 2 is applied and its answer lost; attempt 3 is answered
    # as DynamoDB answers a token it already applied (moto ignores tokens).
    with faults.inject(client, plan, emulate_idempotency=True):
        await backend.transact_write(_transaction("A"), "token-a")
        await backend.transact_write(_transaction("B"), "token-b")
    assert plan.exhausted()
    assert plan.tokens == ["token-a"] * 3 + ["token-b"]
    assert sent[0] == sent[1] == sent[2]  # botocore resends the swapped-in body
    assert len(json.loads(sent[0])["TransactItems"]) == 3
    stored = await backend.read(_plan("Scan"), limit=None, start_key=None)
    assert stored.count == 6


# ---------------------------------------------------------------------------------- packaging


def test_importing_the_library_and_the_async_backend_needs_no_aiobotocore() -> None:
    code = (
        "import sys; sys.modules['aiobotocore'] = None\n"
        "import persistence\n"
        "from persistence.backends.dynamodb.aio_backend import AsyncDynamoDBBackend\n"
        "print(AsyncDynamoDBBackend.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "AsyncDynamoDBBackend"


# ------------------------------------------------- error mapping, for errors moto cannot be made
# to send (a cancellation for an invalid action, throttling, a 500): a client that always fails


class Refusing:
    """Every operation raises `error`; `aio`: as coroutines, like aiobotocore's."""

    def __init__(self, error: Exception, aio: bool) -> None:
        self.error, self.aio = error, aio

    def __getattr__(self, operation: str) -> Any:
        def call(**_: Any) -> Any:
            raise self.error

        async def acall(**_: Any) -> Any:
            raise self.error

        return acall if self.aio else call


def _client_error(code: str, message: str, status: int = 400, **extra: Any) -> Any:
    from botocore.exceptions import ClientError

    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
        **extra,
    }
    return ClientError(response, "AnOperation")  # type: ignore[arg-type]


def _backend(error: Exception, aio: bool) -> Any:
    if aio:
        return AsyncDynamoDBBackend(Refusing(error, aio=True))
    return Awaited(DynamoDBBackend(Refusing(error, aio=False)))


_UPDATE = Update("t", {"pk": {"S": "a"}}, [SetValue(("x",), {"S": "y"})], None, _meaning("a"))


async def _every_call(backend: Any) -> list[Any]:
    calls = [
        backend.write(_UPDATE),
        backend.transact_write([_UPDATE], "token"),
        backend.get_item("t", {"pk": {"S": "a"}}, True),
        backend.batch_get({"t": [{"pk": {"S": "a"}}]}, True),
        backend.read(_plan("Scan"), limit=None, start_key=None),
        backend.batch_write({"t": [Delete("t", {"pk": {"S": "a"}}, None, _meaning("a"))]}),
    ]
    out = []
    for call in calls:
        try:
            await call
        except Exception as exc:
            # the same exception, message and chaining (a ValidationError chains the ClientError)
            cause = type(exc.__cause__).__name__ if exc.__cause__ is not None else None
            out.append((type(exc).__name__, str(exc), cause, exc.__suppress_context__))
    return out


@pytest.mark.parametrize(
    "error",
    [
        _client_error("ValidationException", "The document path provided is invalid for update"),
        _client_error("ResourceNotFoundException", "Requested resource not found"),
        _client_error("ProvisionedThroughputExceededException", "slow down"),
        _client_error("InternalServerError", "oops", 500),
        _client_error(
            "TransactionCanceledException",
            "Transaction cancelled [ValidationError]",
            CancellationReasons=[{"Code": "ValidationError", "Message": "invalid path"}],
        ),
        _client_error(
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[ConditionalCheckFailed, ValidationError]",
        ),
        _client_error(
            "ConditionalCheckFailedException",
            "The conditional request failed",
            Item={"pk": {"S": "a"}},
        ),
    ],
    ids=lambda e: e.response["Error"]["Code"] + ("-" + e.response["Error"]["Message"][-16:]),
)
async def test_the_same_client_error_maps_to_the_same_exception(error: Any) -> None:
    sync_out = await _every_call(_backend(error, aio=False))
    aio_out = await _every_call(_backend(error, aio=True))
    assert aio_out == sync_out
    assert len(aio_out) == 6  # every call failed
    code = error.response["Error"]["Code"]
    names = {entry[0] for entry in aio_out}
    if code == "ValidationException":
        assert names == {"ValidationError"}
    elif code == "TransactionCanceledException":
        assert aio_out[1][0] == (
            "ValidationError" if "CancellationReasons" in error.response else "Cancelled"
        )
    elif code == "ConditionalCheckFailedException":
        assert aio_out[0][0] == "ConditionalCheckFailed"
    else:
        assert names == {"ClientError"}


async def test_a_condition_check_alone_is_refused_alike() -> None:
    check = Check("t", {"pk": {"S": "a"}}, attr("pk").exists(), _meaning("a"))
    for aio in (False, True):
        backend = _backend(_client_error("X", "never sent"), aio)
        with pytest.raises(TypeError, match="ConditionCheck only exists inside a transaction"):
            await backend.write(check)
