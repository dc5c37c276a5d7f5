"""persistence.aio (issue #17, item 4): the async library against the sync library and raw
aiobotocore on the same work, and 64 concurrent gets on one event loop against 64 threads.

Per operation, answered in-process as the sync suites are (bench/stub.py): aiobotocore emits
the same `before-send` event as botocore and awaits the content of the response a handler
answers with, so an `AioAWSResponse` over the prepared body skips only HTTP; validation,
serialisation, signing, parsing (or the library's fast paths) and the CRC check run as in
production. Each contender does the same `REPEAT` operations per call: the async ones inside one
`loop.run_until_complete`, so the loop's own start-up per call is not what is measured.

Concurrency is measured against the moto server over real HTTP: 64 GetItems as 64 tasks of one
event loop (one aiobotocore client, 64 pooled connections) against the same 64 GetItems on 64
threads of the sync library (one boto3 client, 64 pooled connections). The moto server answers
one request at a time, so both are bounded by it; the ratio says what each client side adds.
"""

from __future__ import annotations

import asyncio
import binascii
import importlib
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from typing import Any

import persistence as p
from persistence import aio

from . import peers
from .model import ORDERS, Order, hand_from_item, hand_to_item, json_ready, make_order
from .stub import Stub, new_client
from .suites import SPEC, Row, Settings, _page, versus

TARGET = 1.2  # async within 1.2x of sync per operation
CONCURRENCY = 64


class _AioRaw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    async def read(self) -> bytes:
        return self.body


class AioStub:
    """`bench.stub.Stub` for an aiobotocore client: answers by operation name, in-process."""

    def __init__(self, client: Any, answers: dict[str, Callable[[bytes], bytes]]) -> None:
        self.answers = answers
        self.requests: dict[str, int] = {}
        self._response = importlib.import_module("aiobotocore.awsrequest").AioAWSResponse
        client.meta.events.register("before-send.dynamodb", self._send)

    def _send(self, request: Any, **_: Any) -> Any:
        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).split(".")[-1]
        self.requests[operation] = self.requests.get(operation, 0) + 1
        raw = request.body or b""
        body: bytes = raw if isinstance(raw, bytes) else raw.encode()
        answer = self.answers.get(operation)
        data = answer(body) if answer is not None else b"{}"
        headers = {
            "x-amz-crc32": str(binascii.crc32(data) & 0xFFFFFFFF),
            "content-type": "application/x-amz-json-1.0",
            "x-amzn-requestid": "bench",
        }
        return self._response(
            "https://dynamodb.us-east-1.amazonaws.com/", 200, headers, _AioRaw(data)
        )


class Loop:
    """One event loop for the suite, and the aiobotocore clients entered on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.stack = AsyncExitStack()
        # one session: its loader reads the service model once for every client
        self.session = importlib.import_module("aiobotocore.session").get_session()

    def client(self, **options: Any) -> Any:
        session = self.session
        config = importlib.import_module("aiobotocore.config").AioConfig(
            retries={"mode": "standard", "max_attempts": 1},
            **options.pop("config", {}),
        )
        created = session.create_client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            config=config,
            **options,
        )
        return self.run(self.stack.enter_async_context(created))

    def run(self, awaitable: Awaitable[Any]) -> Any:
        return self.loop.run_until_complete(awaitable)

    def repeat(self, times: int, work: Callable[[], Awaitable[Any]]) -> Callable[[], None]:
        """A contender: `work` awaited `times` times in a row, in one run of the loop."""

        async def many() -> None:
            for _ in range(times):
                await work()

        return lambda: self.run(many())

    def close(self) -> None:
        self.run(self.stack.aclose())
        self.loop.close()


def _per_operation(rows: list[Row], times: int) -> list[Row]:
    """Seconds per operation (each contender ran `times` operations per call); ratios stand."""
    for row in rows:
        row.value /= times
        if row.floor is not None:
            row.floor /= times
    return rows


def _sync_times(times: int, work: Callable[[], Any]) -> Callable[[], None]:
    def many() -> None:
        for _ in range(times):
            work()

    return many


def per_operation(s: Settings, skipped: list[str]) -> list[Row]:
    loop = Loop()
    try:
        return _get(s, loop) + _page_rows(s, loop) + _commit(s, loop)
    finally:
        loop.close()


def _get(s: Settings, loop: Loop) -> list[Row]:
    times = 50
    order = make_order(7)
    body = json.dumps({"Item": hand_to_item(order)}, default=json_ready).encode()
    key = {"pk": {"S": "ORDER#o000007"}, "sk": {"S": "ORDER"}}

    sync_client = new_client()
    Stub(sync_client, {"GetItem": lambda _: body})
    sync_repo = p.DynamoDBRepository(sync_client, ORDERS)
    # The sync library's GetItem without its lean transport (adr/0018: botocore only, no
    # aiobotocore twin yet): botocore's whole request path, as aiobotocore's.
    full_client = new_client()
    Stub(full_client, {"GetItem": lambda _: body})
    full_repo = p.DynamoDBRepository(full_client, ORDERS)
    full_repo.backend._transport = None  # type: ignore[attr-defined]

    aio_client = loop.client()
    AioStub(aio_client, {"GetItem": lambda _: body})
    aio_repo = aio.DynamoDBRepository(aio_client, ORDERS)

    raw_client = loop.client()
    AioStub(raw_client, {"GetItem": lambda _: body})

    async def raw_get() -> Order:
        response = await raw_client.get_item(TableName="orders", Key=key)
        return hand_from_item(response["Item"])

    assert sync_repo.get(order_id="o000007") == full_repo.get(order_id="o000007") == order
    assert loop.run(aio_repo.get(order_id="o000007")) == order
    assert loop.run(raw_get()) == order
    rows = versus(
        s,
        "17 async get",
        (
            "persistence repo.get, sync (floor)",
            _sync_times(times, lambda: sync_repo.get(order_id="o000007")),
        ),
        [
            (
                "persistence.aio await repo.get",
                loop.repeat(times, lambda: aio_repo.get(order_id="o000007")),
                TARGET,
                "",
            ),
            (
                "aiobotocore await client.get_item + hand-written",
                loop.repeat(times, raw_get),
                None,
                "",
            ),
            (
                "persistence repo.get, sync, without the lean transport",
                _sync_times(times, lambda: full_repo.get(order_id="o000007")),
                None,
                "",
            ),
        ],
    )
    return _per_operation(rows, times)


def _page_rows(s: Settings, loop: Loop) -> list[Row]:
    size = 200 if s.quick else 1000  # quick (CI smoke): the same ratio, a fifth of the time
    body = _page(size)
    sync_client = new_client()
    Stub(sync_client, {"Query": lambda _: body})
    sync_repo = p.DynamoDBRepository(sync_client, ORDERS)

    aio_client = loop.client()
    AioStub(aio_client, {"Query": lambda _: body})
    aio_repo = aio.DynamoDBRepository(aio_client, ORDERS)

    raw_client = loop.client()
    AioStub(raw_client, {"Query": lambda _: body})
    _, from_b3 = peers.boto3_serializer()

    async def raw_query() -> list[Order]:
        response = await raw_client.query(
            TableName="orders",
            IndexName="by_customer",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": {"S": "CUSTOMER#customer-1"}},
        )
        return [from_b3(i) for i in response["Items"]]

    expected = sync_repo.find(SPEC).items
    assert len(expected) == size
    assert loop.run(aio_repo.find(SPEC)).items == expected
    assert loop.run(raw_query()) == expected
    return versus(
        s,
        "17 async page",
        (f"persistence repo.find {size} items, sync (floor)", lambda: sync_repo.find(SPEC)),
        [
            (
                "persistence.aio await repo.find",
                loop.repeat(1, lambda: aio_repo.find(SPEC)),
                TARGET,
                "",
            ),
            (
                "aiobotocore await client.query + TypeDeserializer + constructor",
                loop.repeat(1, raw_query),
                None,
                "",
            ),
        ],
    )


def _commit(s: Settings, loop: Loop) -> list[Row]:
    orders = [make_order(i) for i in range(100)]
    sent: list[int] = []

    def record(body: bytes) -> bytes:
        if not sent:
            sent.append(len(json.loads(body)["TransactItems"]))
        return b"{}"

    sync_client = new_client()
    Stub(sync_client, {"TransactWriteItems": record})
    sync_uow = p.DynamoDBUnitOfWork(sync_client, [ORDERS])

    def sync_commit() -> None:
        with sync_uow:
            repo = sync_uow.repository(Order)
            for o in orders:
                repo.add(o)
            sync_uow.commit()

    aio_client = loop.client()
    AioStub(aio_client, {"TransactWriteItems": record})
    aio_uow = aio.DynamoDBUnitOfWork(aio_client, [ORDERS])

    async def aio_commit() -> None:
        async with aio_uow:
            repo = aio_uow.repository(Order)
            for o in orders:
                repo.add(o)
            await aio_uow.commit()

    raw_client = loop.client()
    AioStub(raw_client, {"TransactWriteItems": lambda _: b"{}"})
    to_b3, _ = peers.boto3_serializer()

    async def raw_commit() -> None:
        await raw_client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "orders",
                        "Item": to_b3(o),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for o in orders
            ]
        )

    sync_commit()
    loop.run(aio_commit())
    assert sent == [100]
    return versus(
        s,
        "17 async commit",
        ("persistence commit of 100 puts, sync (floor)", sync_commit),
        [
            ("persistence.aio await uow.commit", loop.repeat(1, aio_commit), TARGET, ""),
            (
                "aiobotocore await client.transact_write_items + TypeSerializer",
                loop.repeat(1, raw_commit),
                None,
                "",
            ),
        ],
    )


# ---------------------------------------------------------------------------- concurrency


class _FewRounds(Settings):
    """A round here is two batches of 64 requests to the moto server, not microseconds."""

    @property
    def rounds(self) -> int:
        return 3 if self.quick else 9


def concurrency(s: Settings, skipped: list[str]) -> list[Row]:
    """64 GetItems at once against the moto server: tasks on one loop vs threads."""
    from persistence.tables import ensure_table
    from persistence.testing.moto_server import moto_server

    with moto_server() as server, ThreadPoolExecutor(CONCURRENCY) as threads:
        client = server.client(max_pool_connections=CONCURRENCY)
        ensure_table(client, ORDERS.table, poll_interval=0.05)
        return _concurrency(s, server, client, threads)


def _concurrency(s: Settings, server: Any, client: Any, threads: ThreadPoolExecutor) -> list[Row]:
    sync_repo = p.DynamoDBRepository(client, ORDERS)
    sync_repo.put_many(make_order(i) for i in range(CONCURRENCY))
    ids = [f"o{i:06d}" for i in range(CONCURRENCY)]

    def with_threads() -> None:
        found = list(threads.map(lambda order_id: sync_repo.get(order_id=order_id), ids))
        assert len(found) == CONCURRENCY

    loop = Loop()
    try:
        aio_client = loop.run(
            loop.stack.enter_async_context(server.aio_client(max_pool_connections=CONCURRENCY))
        )
        aio_repo = aio.DynamoDBRepository(aio_client, ORDERS)

        async def gets() -> None:
            found = await asyncio.gather(*(aio_repo.get(order_id=i) for i in ids))
            assert len(found) == CONCURRENCY

        def with_tasks() -> None:
            loop.run(gets())

        rows = versus(
            _FewRounds(s.quick),
            "17 async 64",
            (f"{CONCURRENCY} GetItems on {CONCURRENCY} threads, sync (floor)", with_threads),
            [(f"{CONCURRENCY} GetItems as tasks of one event loop", with_tasks, None, "")],
        )
    finally:
        loop.close()
    for row in rows:  # the throughput in the label: the table has no column for it
        row.label += f": {CONCURRENCY / row.value:,.0f} gets/s"
    return rows


def suite_aio(s: Settings, skipped: list[str]) -> list[Row]:
    """Per operation in-process, then 64 concurrent gets against the moto server."""
    try:
        importlib.import_module("aiobotocore")
    except ImportError:
        skipped.append("aiobotocore")
        return []
    return per_operation(s, skipped) + concurrency(s, skipped)
