"""The measurements, one function per goal of issue #8. Each returns rows for the report."""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import persistence as p
from persistence.backends.actions import Delete, Meaning, Put

from . import peers
from .model import (
    ORDERS,
    TABLE,
    Order,
    hand_from_item,
    hand_to_item,
    json_ready,
    make_order,
)
from .stub import Stub, new_client
from .timing import best


@dataclass
class Row:
    goal: str
    label: str
    value: float  # seconds, or a count / megabytes when `unit` says so
    floor: float | None = None  # the hand-written floor, same unit
    target: float | None = None  # the goal: at most target x floor (our rows only)
    unit: str = "s"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if not self.floor else self.value / self.floor

    @property
    def ours(self) -> bool:
        return self.target is not None

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        ratio = self.ratio if self.floor is not None else self.value
        return ratio is not None and ratio <= self.target


@dataclass
class Settings:
    quick: bool

    @property
    def repeat(self) -> int:
        return 3 if self.quick else 7

    def n(self, full: int) -> int:
        return max(1, full // 5) if self.quick else full


def _peer(name: str, build: Callable[[], Any], skipped: list[str]) -> Any:
    try:
        return build()
    except ImportError:
        skipped.append(name)
        return None


# ---------------------------------------------------------------------------- goal 1


def marshalling(s: Settings, skipped: list[str]) -> list[Row]:
    order = make_order(7)
    item = hand_to_item(order)
    assert ORDERS.to_item(order) == item and ORDERS.from_item(item) == order
    n, r = s.n(20000), s.repeat
    floor_to = best(lambda: hand_to_item(order), number=n, repeat=r)
    floor_from = best(lambda: hand_from_item(item), number=n, repeat=r)
    rows = [
        Row("1 to_item", "hand-written converter (floor)", floor_to, floor_to),
        Row(
            "1 to_item",
            "persistence Mapping.to_item",
            best(lambda: ORDERS.to_item(order), number=n, repeat=r),
            floor_to,
            2.0,
        ),
        Row(
            "1 to_item",
            "persistence converter alone (no keys)",
            best(lambda: ORDERS.converter.to_item(order), number=n, repeat=r),
            floor_to,
        ),
        Row("1 from_item", "hand-written converter (floor)", floor_from, floor_from),
        Row(
            "1 from_item",
            "persistence Mapping.from_item",
            best(lambda: ORDERS.from_item(item), number=n, repeat=r),
            floor_from,
            2.0,
        ),
    ]
    to_b3, from_b3 = peers.boto3_serializer()
    rows.append(
        Row(
            "1 to_item",
            "asdict + boto3 TypeSerializer",
            best(lambda: to_b3(order), number=n // 4, repeat=r),
            floor_to,
        )
    )
    rows.append(
        Row(
            "1 from_item",
            "boto3 TypeDeserializer + constructor",
            best(lambda: from_b3(item), number=n // 4, repeat=r),
            floor_from,
        )
    )
    dcj = _peer("dataclasses-json", peers.dataclasses_json, skipped)
    if dcj is not None:
        (to_dcj, convert), from_dcj = dcj
        dj_order = convert(order)
        dj_item = to_dcj(dj_order)
        rows.append(
            Row(
                "1 to_item",
                "dataclasses-json to_dict + TypeSerializer",
                best(lambda: to_dcj(dj_order), number=n // 20, repeat=r),
                floor_to,
            )
        )
        rows.append(
            Row(
                "1 from_item",
                "dataclasses-json from_dict + TypeDeserializer",
                best(lambda: from_dcj(dj_item), number=n // 20, repeat=r),
                floor_from,
            )
        )
    pyn = _peer("pynamodb", peers.pynamodb, skipped)
    if pyn is not None:
        convert_p, to_p, from_p = pyn
        model = convert_p(order)
        raw = to_p(model)
        rows.append(
            Row(
                "1 to_item",
                "PynamoDB Model.serialize",
                best(lambda: to_p(model), number=n // 10, repeat=r),
                floor_to,
            )
        )
        rows.append(
            Row(
                "1 from_item",
                "PynamoDB Model.from_raw_data",
                best(lambda: from_p(raw), number=n // 10, repeat=r),
                floor_from,
            )
        )
    return rows


# ---------------------------------------------------------------------------- goal 2


def _page(count: int, last_key: dict[str, Any] | None = None) -> bytes:
    items = [hand_to_item(make_order(i)) for i in range(count)]
    document: dict[str, Any] = {"Items": items, "Count": count, "ScannedCount": count}
    if last_key is not None:
        document["LastEvaluatedKey"] = last_key
    return json.dumps(document, default=json_ready).encode("utf-8")


SPEC = p.attr("customer") == "customer-1"


def reading(s: Settings, skipped: list[str]) -> list[Row]:
    body = _page(1000)
    n, r = s.n(15), s.repeat

    def floor() -> list[Order]:
        return [hand_from_item(i) for i in json.loads(body)["Items"]]

    expected = floor()
    floor_s = best(floor, number=n, repeat=r)
    rows = [Row("2 read 1000", "json.loads + hand-written (floor)", floor_s, floor_s)]

    fast_client, plain_client = new_client(), new_client()
    for client in (fast_client, plain_client):
        Stub(client, {"Query": lambda _: body})
    fast = p.DynamoDBRepository(fast_client, ORDERS)
    plain = p.DynamoDBRepository(plain_client, ORDERS)
    plain.backend.fast_path = False  # type: ignore[attr-defined]
    assert ORDERS and fast.explain(SPEC) == "Query orders.by_customer"
    assert fast.find(SPEC).items == expected == plain.find(SPEC).items
    rows.append(
        Row(
            "2 read 1000",
            "persistence repo.find",
            best(lambda: fast.find(SPEC), number=n, repeat=r),
            floor_s,
            2.0,
        )
    )
    uow = p.DynamoDBUnitOfWork(fast_client, [ORDERS])

    def in_uow() -> None:
        with uow:
            uow.repository(Order).find(SPEC)

    rows.append(
        Row(
            "2 read 1000",
            "persistence repo.find in a unit of work",
            best(in_uow, number=n, repeat=r),
            floor_s,
            note="identity map + snapshots",
        )
    )
    rows.append(
        Row(
            "2 read 1000",
            "persistence, botocore parsing (fast_path=False)",
            best(lambda: plain.find(SPEC), number=max(1, n // 3), repeat=r),
            floor_s,
        )
    )
    rows.append(
        Row(
            "2 read 1000",
            "botocore client.query alone (no aggregates)",
            best(
                lambda: plain_client.query(
                    TableName="orders",
                    KeyConditionExpression="pk = :p",
                    ExpressionAttributeValues={":p": {"S": "x"}},
                ),
                number=max(1, n // 3),
                repeat=r,
            ),
            floor_s,
        )
    )

    import boto3

    resource = boto3.session.Session().resource(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    Stub(resource.meta.client, {"Query": lambda _: body})
    table = resource.Table("orders")
    from boto3.dynamodb.conditions import Key

    rows.append(
        Row(
            "2 read 1000",
            "boto3 resource Table.query (dicts, no aggregates)",
            best(
                lambda: table.query(KeyConditionExpression=Key("pk").eq("x")),
                number=max(1, n // 3),
                repeat=r,
            ),
            floor_s,
        )
    )
    pyn = _peer("pynamodb", peers.pynamodb, skipped)
    if pyn is not None:
        convert_p, to_p, from_p = pyn
        # Its own item format (its datetime text differs): the same page written by PynamoDB.
        p_body = json.dumps(
            {"Items": [to_p(convert_p(make_order(i))) for i in range(1000)], "Count": 1000}
        ).encode()

        def pynamodb_page() -> list[Any]:
            # PynamoDB reads the raw JSON itself (no botocore parsing): json.loads + models.
            return [from_p(i) for i in json.loads(p_body)["Items"]]

        rows.append(
            Row(
                "2 read 1000",
                "PynamoDB json.loads + from_raw_data",
                best(pynamodb_page, number=max(1, n // 3), repeat=r),
                floor_s,
            )
        )
    return rows


# ---------------------------------------------------------------------------- goal 3


def committing(s: Settings, skipped: list[str]) -> list[Row]:
    orders = [make_order(i) for i in range(100)]
    n, r = s.n(30), s.repeat

    def floor() -> bytes:
        actions = [
            {
                "Put": {
                    "TableName": "orders",
                    "Item": hand_to_item(o),
                    "ConditionExpression": "attribute_not_exists(#n0)",
                    "ExpressionAttributeNames": {"#n0": "pk"},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for o in orders
        ]
        request = {"TransactItems": actions, "ClientRequestToken": "0" * 32}
        return json.dumps(request, default=json_ready).encode("utf-8")

    floor_s = best(floor, number=n, repeat=r)
    rows = [Row("3 commit 100", "hand-written + json.dumps (floor)", floor_s, floor_s)]
    sent: list[bytes] = []

    def record(body: bytes) -> bytes:
        sent.append(body)  # parsed after timing, not inside it
        return b"{}"

    for fast in (True, False):
        client = new_client()
        stub = Stub(client, {"TransactWriteItems": record})
        uow = p.DynamoDBUnitOfWork(client, [ORDERS])
        uow.backend.fast_path = fast  # type: ignore[attr-defined]

        def commit(uow: p.DynamoDBUnitOfWork = uow) -> None:
            with uow:
                repo = uow.repository(Order)
                for o in orders:
                    repo.add(o)
                uow.commit()

        seconds = best(commit, number=n if fast else max(1, n // 3), repeat=r)
        label = "persistence unit of work commit" + ("" if fast else " (fast_path=False)")
        rows.append(Row("3 commit 100", label, seconds, floor_s, 2.5 if fast else None))
        assert stub.requests["TransactWriteItems"] >= 1
    assert len(json.loads(sent[0])["TransactItems"]) == 100

    to_b3, _ = peers.boto3_serializer()
    client = new_client()
    Stub(client, {"TransactWriteItems": lambda _: b"{}"})

    def boto3_commit() -> None:
        client.transact_write_items(
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

    rows.append(
        Row(
            "3 commit 100",
            "asdict + TypeSerializer + client.transact_write_items",
            best(boto3_commit, number=max(1, n // 3), repeat=r),
            floor_s,
        )
    )
    return rows


# ---------------------------------------------------------------------------- goal 4


def requests(s: Settings, skipped: list[str]) -> list[Row]:
    items = {f"ORDER#o{i:06d}": hand_to_item(make_order(i)) for i in range(250)}

    def batch_get(body: bytes) -> bytes:
        keys = json.loads(body)["RequestItems"]["orders"]["Keys"]
        found = [items[k["pk"]["S"]] for k in keys if k["pk"]["S"] in items]
        return json.dumps({"Responses": {"orders": found}}).encode()

    def get_item(body: bytes) -> bytes:
        return json.dumps({"Item": items[json.loads(body)["Key"]["pk"]["S"]]}).encode()

    client = new_client()
    stub = Stub(client, {"BatchGetItem": batch_get, "GetItem": get_item})
    uow = p.DynamoDBUnitOfWork(client, [ORDERS])
    rows = []
    with uow:
        repo = uow.repository(Order)
        for o in (make_order(i) for i in range(1000, 1100)):
            repo.add(o)
        uow.commit()
    rows.append(
        Row(
            "4 requests",
            "requests per commit of 100",
            stub.requests.total(),
            1,
            1.0,
            unit="requests",
        )
    )
    before = stub.requests.total()
    with uow:
        got = uow.repository(Order).get_many([{"order_id": f"o{i:06d}"} for i in range(250)])
    assert len(got) == 250
    rows.append(
        Row(
            "4 requests",
            "BatchGetItem for get_many(250) (ceil(250/100)=3)",
            stub.requests["BatchGetItem"],
            3,
            1.0,
            unit="requests",
        )
    )
    assert stub.requests.total() - before == stub.requests["BatchGetItem"]
    with uow:
        found = uow.repository(Order).find(p.attr("order_id") == "o000007")
    assert found.items == [make_order(7)]
    rows.append(
        Row(
            "4 requests",
            "GetItem for a spec fixing the whole key (Query: 0)",
            stub.requests["GetItem"] + stub.requests["Query"],
            1,
            1.0,
            unit="requests",
        )
    )
    rows.append(
        Row(
            "4 requests",
            "DescribeTable on any read or write path",
            stub.requests["DescribeTable"],
            None,
            0.0,
            unit="requests",
        )
    )
    return rows


# ---------------------------------------------------------------------------- goal 5

# Time to the first completed GetItem in a fresh process, plain boto3 against persistence (import,
# a mapping, DynamoDBRepository, repo.get). The response is answered in-process (botocore's
# before-send hook), so the figure is client CPU, not a network.
# Creating a boto3 client leaves the cyclic collector a full pass to do over its ~10^5 new
# objects (about 30-50 ms here); whatever allocates next pays it. Charging that pass to whichever
# import happens to come next would measure boto3's heap, not us: with "collect" both sides end
# the client's creation with the pass it owes, without it they do not (both are reported).
_COLD = """
import gc, sys, time
t0 = time.perf_counter()
import binascii, boto3
from botocore.awsrequest import AWSResponse
client = boto3.session.Session().client(
    "dynamodb", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
BODY = (b'{"Item": {"pk": {"S": "ACCOUNT#a1"}, "sk": {"S": "ACCOUNT"}, "account_id": {"S": "a1"},'
        b' "owner": {"S": "ann"}, "balance": {"N": "10.5"}, "version": {"N": "3"}}}')
class Raw:
    def stream(self, **_):
        yield BODY
def send(request, **_):
    headers = {"x-amz-crc32": str(binascii.crc32(BODY) & 0xFFFFFFFF),
               "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "cold"}
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 200, headers, Raw())
client.meta.events.register("before-send.dynamodb", send)
if sys.argv[2] == "collect":
    gc.collect()
t1 = time.perf_counter()
if sys.argv[1] == "boto3":
    key = {"pk": {"S": "ACCOUNT#a1"}, "sk": {"S": "ACCOUNT"}}
    owner = client.get_item(TableName="bank", Key=key)["Item"]["owner"]["S"]
    t2 = t1
else:
    from dataclasses import dataclass
    from decimal import Decimal
    from persistence import DynamoDBRepository, Key, Mapping, Table
    t2 = time.perf_counter()
    @dataclass
    class Account:
        account_id: str
        owner: str
        balance: Decimal = Decimal("0")
        version: int = 0
    table = Table("bank", partition_key="pk", sort_key="sk")
    accounts = Mapping(Account, table, key=Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT"),
                       version="version")
    owner = DynamoDBRepository(client, accounts).get(account_id="a1").owner
t3 = time.perf_counter()
assert owner == "ann", owner
print(t1 - t0, t2 - t1, t3 - t1)
"""


def _cold_run(env: dict[str, str], *args: str) -> list[float]:
    out = subprocess.run(
        [sys.executable, "-c", _COLD, *args], capture_output=True, text=True, check=True, env=env
    ).stdout
    return [float(x) for x in out.split()]


def cold_start(s: Settings, skipped: list[str]) -> list[Row]:
    runs = 5 if s.quick else 11
    # As deployed: bytecode cached (a Lambda package ships .pyc). The cache goes to a temporary
    # prefix, not into the source tree; the first round fills it and is not counted.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base: list[float] = []
    imports: list[float] = []
    added: dict[str, list[float]] = {"collect": [], "": []}
    with tempfile.TemporaryDirectory() as cache:
        env["PYTHONPYCACHEPREFIX"] = cache
        for i in range(runs + 1):
            for gc_mode, into in added.items():
                # Paired and interleaved: each difference is taken between neighbouring runs, so
                # a machine whose speed drifts during the suite does not bias it.
                plain = _cold_run(env, "boto3", gc_mode)
                ours = _cold_run(env, "persistence", gc_mode)
                if i:
                    into.append(ours[2] - plain[2])
                    if gc_mode:
                        base.append(plain[0] + plain[2])
                        imports.append(ours[1])
    return [
        Row(
            "5 cold start",
            "boto3: import, client, its GC pass, first GetItem (baseline)",
            statistics.median(base),
            unit="s",
        ),
        Row(
            "5 cold start",
            "persistence: import, mapping, repository, first get, added (ms, goal <= 30)",
            statistics.median(added["collect"]) * 1000,
            None,
            30.0,
            unit="ms",
        ),
        Row(
            "5 cold start",
            "of which import persistence (ms)",
            statistics.median(imports) * 1000,
            unit="ms",
        ),
        Row(
            "5 cold start",
            "added when persistence also pays boto3's pending GC pass (ms)",
            statistics.median(added[""]) * 1000,
            unit="ms",
        ),
    ]


# ---------------------------------------------------------------------------- goal 6


def memory(s: Settings, skipped: list[str]) -> list[Row]:
    pages = 10
    size = 1000
    bodies = [
        _page(
            size,
            {
                "pk": {"S": f"ORDER#{k}"},
                "sk": {"S": "ORDER"},
                "gsi1pk": {"S": "CUSTOMER#customer-1"},
                "gsi1sk": {"S": f"ORDER#{k}"},
            },
        )
        for k in range(pages - 1)
    ] + [_page(size)]
    calls = {"n": 0}

    def query(_: dict[str, Any]) -> bytes:
        body = bodies[calls["n"] % pages]
        calls["n"] += 1
        return body

    repo = p.DynamoDBRepository(new_client(), ORDERS)
    Stub(repo.backend.client, {"Query": query})  # type: ignore[attr-defined]

    def peak(fn: Callable[[], Any]) -> float:
        calls["n"] = 0
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1] / 1e6
        finally:
            tracemalloc.stop()

    def one_page() -> None:
        repo.find(SPEC)

    def stream() -> None:
        count = sum(1 for _ in repo.iterate(SPEC))
        assert count == pages * size, count

    page_mb = peak(one_page)
    stream_mb = peak(stream)
    alone_mb, held_mb = _retained_by_unit_of_work()
    return [
        Row("6 memory", "peak MB, one 1000-item page (floor)", page_mb, page_mb, unit="MB"),
        Row(
            "6 memory",
            "peak MB, iterate over 10,000 items (goal: bounded, <= 2x one page)",
            stream_mb,
            page_mb,
            2.0,
            unit="MB",
        ),
        Row(
            "6 memory",
            "retained MB, the aggregates of one 1000-item page (floor)",
            alone_mb,
            alone_mb,
            unit="MB",
        ),
        Row(
            "6 memory",
            "retained MB, a unit of work holding that page (goal: <= 1.5x the aggregates)",
            held_mb,
            alone_mb,
            1.5,
            unit="MB",
            note="identity map + packed snapshots",
        ),
    ]


def _retained_by_unit_of_work() -> tuple[float, float]:
    """MB still allocated while a page's aggregates are held: alone, and by a unit of work (its
    identity map and snapshots on top)."""
    body = _page(1000)
    client = new_client()
    Stub(client, {"Query": lambda _: body})
    repo = p.DynamoDBRepository(client, ORDERS)
    uow = p.DynamoDBUnitOfWork(client, [ORDERS])

    def retained(build: Callable[[], Any]) -> float:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            _kept = build()  # alive until measured
            gc.collect()
            return (tracemalloc.get_traced_memory()[0] - before) / 1e6
        finally:
            tracemalloc.stop()

    def held() -> Any:
        uow.__enter__()
        return uow.repository(Order).find(SPEC).items

    repo.find(SPEC)  # warm: converters and caches built before measuring
    with uow:
        uow.repository(Order).find(SPEC)
    alone = retained(lambda: repo.find(SPEC).items)
    try:
        in_uow = retained(held)
    finally:
        uow.__exit__(None, None, None)
    return alone, in_uow


# ---------------------------------------------------------------------------- in-memory query


def in_memory_query(s: Settings, skipped: list[str]) -> list[Row]:
    """A 10-item Query on an InMemoryStore of 1,000 and of 100,000 items: the store keeps its
    items by partition, so the bigger table must not cost more than a few times the smaller.
    Only the 10 orders read are whole; the other items carry just their keys, which keeps the
    100,000-item build to a few seconds."""
    spec = p.attr("customer") == "customer-bench"
    meaning = Meaning(None, {}, "put")
    timings = {}
    for size in (1_000, 100_000):
        store = p.InMemoryStore()
        repo = p.InMemoryRepository(ORDERS, store=store)
        puts: list[Put | Delete] = []
        for i in range(size):
            if i < 10:
                item = hand_to_item(make_order(i))
                item["customer"] = {"S": "customer-bench"}
                item["gsi1pk"] = {"S": "CUSTOMER#customer-bench"}
            else:
                item = {
                    "pk": {"S": f"ORDER#o{i:06d}"},
                    "sk": {"S": "ORDER"},
                    "gsi1pk": {"S": f"CUSTOMER#customer-{i % 97}"},
                    "gsi1sk": {"S": f"ORDER#o{i:06d}"},
                    "_type": {"S": "Order"},
                }
            puts.append(Put(TABLE.name, item, None, meaning))
        for start in range(0, size, 25):
            store.batch_write({TABLE.name: puts[start : start + 25]})
        assert repo.explain(spec) == "Query orders.by_customer"
        assert len(repo.find(spec).items) == 10
        timings[size] = best(partial(repo.find, spec), number=s.n(50), repeat=s.repeat)
    small, large = timings[1_000], timings[100_000]
    return [
        Row("7 in-memory", "10-item Query, InMemoryStore of 1,000 items (floor)", small, small),
        Row(
            "7 in-memory",
            "the same Query on 100,000 items (goal: <= 3x the 1,000-item one)",
            large,
            small,
            3.0,
        ),
    ]


SUITES = [marshalling, reading, committing, requests, cold_start, memory, in_memory_query]
