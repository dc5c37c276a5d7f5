"""Table operations against the moto server: lifecycle, diff/update, TTL, copy, CloudFormation."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from persistence import tables as ops
from persistence.errors import BatchIncomplete, TableError
from persistence.model.keys import Key
from persistence.model.mapping import GlobalIndex, LocalIndex, Mapping, Table
from persistence.retry import Backoff
from persistence.testing.harness import capture

pytestmark = pytest.mark.dynamodb

FAST: dict[str, Any] = {"poll_interval": 0.01, "timeout": 5.0}


@dataclass
class Order:
    customer: str
    order_id: str
    total: int = 0
    status: str = "new"


def orders_table(name: str = "orders", indexes: list[Any] | None = None, **kw: Any) -> Table:
    table = Table(
        name,
        partition_key="pk",
        sort_key="sk",
        indexes=indexes if indexes is not None else [],
        **kw,
    )
    Mapping(
        Order,
        table,
        key=Key(pk="CUSTOMER#{customer}", sk="ORDER#{order_id}"),
        index_keys={
            n: Key(pk="{status}", sk="{total}")
            for n, i in table.indexes.items()
            if isinstance(i, GlobalIndex)
        },
        events=None,
    )
    return table


def gsi(name: str, projection: Any = "ALL") -> GlobalIndex:
    return GlobalIndex(
        name, partition_key=f"{name}_pk", sort_key=f"{name}_sk", projection=projection
    )


# ---------------------------------------------------------------------------------- lifecycle


def test_create_describe_ensure_delete(dynamodb_client: Any) -> None:
    table = orders_table(
        indexes=[
            gsi("by_status"),
            LocalIndex("by_total", sort_key="total", projection="KEYS_ONLY"),
        ],
        ttl_attribute="expires_at",
        attribute_types={"by_status_pk": "S", "by_status_sk": "N", "total": "N"},
    )
    ops.create_table(dynamodb_client, table, tags={"team": "payments"}, **FAST)

    described = ops.describe_table(dynamodb_client, table)
    assert described.status == "ACTIVE"
    assert (described.partition_key, described.sort_key) == ("pk", "sk")
    assert described.billing == "PAY_PER_REQUEST"
    assert described.ttl_attribute == "expires_at"
    assert {(i.name, i.kind, i.status, i.projection) for i in described.indexes} == {
        ("by_status", "global", "ACTIVE", "ALL"),
        ("by_total", "local", "ACTIVE", "KEYS_ONLY"),
    }
    with pytest.raises(TableError, match=r"already exists.*ensure_table"):
        ops.create_table(dynamodb_client, table, **FAST)
    assert ops.ensure_table(dynamodb_client, table, **FAST).status == "ACTIVE"

    assert ops.delete_table(dynamodb_client, table, **FAST) is True
    with pytest.raises(TableError, match="does not exist"):
        ops.describe_table(dynamodb_client, table)
    assert ops.delete_table(dynamodb_client, table, **FAST) is False


def test_ensure_creates_a_missing_table_with_ttl_and_provisioned_billing(
    dynamodb_client: Any,
) -> None:
    table = orders_table("ledger", indexes=[gsi("by_day")], ttl_attribute="expires_at")
    described = ops.ensure_table(dynamodb_client, table, ops.Provisioned(3, 4), **FAST)
    assert described.billing == "PROVISIONED"
    assert (described.read_capacity, described.write_capacity) == (3, 4)
    ttl = dynamodb_client.describe_time_to_live(TableName="ledger")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert ops.diff_table(dynamodb_client, table, billing=ops.Provisioned(3, 4)).in_sync


def test_key_types_are_inferred_from_the_mappings(dynamodb_client: Any) -> None:
    @dataclass
    class Reading:
        sensor: str
        at: int
        raw: bytes = b""

    table = Table(
        "readings",
        partition_key="sensor",
        sort_key="at",
        indexes=[GlobalIndex("by_raw", partition_key="raw")],
    )
    Mapping(Reading, table, events=None)
    ops.create_table(dynamodb_client, table, **FAST)
    live = dynamodb_client.describe_table(TableName="readings")["Table"]["AttributeDefinitions"]
    assert {d["AttributeName"]: d["AttributeType"] for d in live} == {
        "sensor": "S",
        "at": "N",
        "raw": "B",
    }


# ---------------------------------------------------------------------------------- diff/update


def test_update_adds_and_removes_two_indexes_one_call_at_a_time(dynamodb_client: Any) -> None:
    ops.create_table(dynamodb_client, orders_table(indexes=[gsi("old_a"), gsi("old_b")]), **FAST)
    declared = orders_table(indexes=[gsi("new_c"), gsi("new_d", ["total"])])

    diff = ops.diff_table(dynamodb_client, declared)
    assert [(c.kind, c.index) for c in diff.changes] == [
        ("remove_index", "old_a"),
        ("remove_index", "old_b"),
        ("add_index", "new_c"),
        ("add_index", "new_d"),
    ]
    assert not diff.needs_recreate

    calls = capture(dynamodb_client, "UpdateTable")
    applied = ops.update_table(dynamodb_client, declared, **FAST)

    assert applied.changes == diff.changes
    assert len(calls) == 4
    assert all(len(call["GlobalSecondaryIndexUpdates"]) == 1 for call in calls)
    assert [next(iter(c["GlobalSecondaryIndexUpdates"][0])) for c in calls] == [
        "Delete",
        "Delete",
        "Create",
        "Create",
    ]
    live = ops.describe_table(dynamodb_client, declared)
    assert {i.name: i.projection for i in live.indexes} == {"new_c": "ALL", "new_d": "INCLUDE"}
    assert ops.diff_table(dynamodb_client, declared).in_sync
    # The table's own key definitions survive every index change.
    raw = dynamodb_client.describe_table(TableName="orders")["Table"]
    assert {"pk", "sk"} <= {d["AttributeName"] for d in raw["AttributeDefinitions"]}


def test_changed_projection_rebuilds_the_index(dynamodb_client: Any) -> None:
    ops.create_table(dynamodb_client, orders_table(indexes=[gsi("by_status")]), **FAST)
    declared = orders_table(indexes=[gsi("by_status", "KEYS_ONLY")])
    diff = ops.diff_table(dynamodb_client, declared)
    assert [(c.kind, c.destructive) for c in diff.changes] == [("replace_index", True)]
    assert "ALL" in diff.changes[0].description and "KEYS_ONLY" in diff.changes[0].description

    calls = capture(dynamodb_client, "UpdateTable")
    ops.update_table(dynamodb_client, declared, **FAST)
    assert [next(iter(c["GlobalSecondaryIndexUpdates"][0])) for c in calls] == ["Delete", "Create"]
    assert ops.describe_table(dynamodb_client, declared).indexes[0].projection == "KEYS_ONLY"


def test_key_mismatch_needs_a_new_table(dynamodb_client: Any) -> None:
    ops.create_table(dynamodb_client, orders_table(), **FAST)
    declared = Table(
        "orders",
        partition_key="pk",
        sort_key="sk",
        attribute_types={"sk": "N"},
        indexes=[LocalIndex("by_total", sort_key="total")],
    )
    diff = ops.diff_table(dynamodb_client, declared)
    assert diff.needs_recreate
    assert {c.kind for c in diff.errors} == {"recreate_table"}
    assert any("sk:S" in c.description and "sk:N" in c.description for c in diff.errors)
    assert any("local index 'by_total' is missing" in c.description for c in diff.errors)

    calls = capture(dynamodb_client, "UpdateTable")
    with pytest.raises(TableError, match=r"cannot be updated in place.*must be recreated"):
        ops.update_table(dynamodb_client, declared, **FAST)
    assert calls == []


def test_billing_and_ttl_differences(dynamodb_client: Any) -> None:
    ops.create_table(dynamodb_client, orders_table(ttl_attribute="expires_at"), **FAST)
    declared = orders_table()  # no TTL declared any more
    diff = ops.diff_table(dynamodb_client, declared, billing=ops.Provisioned(2, 2))
    assert [c.kind for c in diff.changes] == ["billing", "ttl"]
    assert "disable TTL on 'expires_at'" in diff.changes[1].description

    ops.update_table(dynamodb_client, declared, billing=ops.Provisioned(2, 2), **FAST)
    described = ops.describe_table(dynamodb_client, declared)
    assert (described.billing, described.read_capacity, described.ttl_attribute) == (
        "PROVISIONED",
        2,
        None,
    )
    assert ops.diff_table(dynamodb_client, declared, billing=ops.Provisioned(2, 2)).in_sync


def test_update_creates_a_missing_table(dynamodb_client: Any) -> None:
    table = orders_table(indexes=[gsi("by_status")], ttl_attribute="expires_at")
    assert [c.kind for c in ops.diff_table(dynamodb_client, table).changes] == ["create_table"]
    ops.update_table(dynamodb_client, table, **FAST)
    assert ops.diff_table(dynamodb_client, table).in_sync


def test_auto_migrate_only_adds(dynamodb_client: Any) -> None:
    ops.create_table(dynamodb_client, orders_table(indexes=[gsi("legacy")]), **FAST)
    declared = orders_table(indexes=[gsi("by_status")], ttl_attribute="expires_at")
    other = orders_table("invoices")

    applied = ops.auto_migrate(dynamodb_client, *declared.mappings, *other.mappings, **FAST)

    assert [d.table for d in applied] == ["orders", "invoices"]
    assert [(c.kind, c.index) for c in applied[0].changes] == [("add_index", "by_status")]
    live = ops.describe_table(dynamodb_client, declared)
    assert {i.name for i in live.indexes} == {"legacy", "by_status"}  # nothing removed
    assert live.ttl_attribute == "expires_at"
    assert ops.describe_table(dynamodb_client, "invoices").status == "ACTIVE"


def test_migrate_points_at_infrastructure_as_code() -> None:
    with pytest.raises(TableError, match=r"infrastructure-as-code.*to_cloudformation"):
        ops.migrate()


# ---------------------------------------------------------------------------------- waiting


class StubClient:
    """describe_table answers from a script; the last answer repeats."""

    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.describes = 0
        self.created: list[dict[str, Any]] = []

    def create_table(self, **params: Any) -> dict[str, Any]:
        self.created.append(params)
        return {}

    def describe_table(self, TableName: str) -> dict[str, Any]:
        status = self.statuses[min(self.describes, len(self.statuses) - 1)]
        self.describes += 1
        return {"Table": {"TableName": TableName, "TableStatus": status}}


def test_create_waits_until_the_table_is_active() -> None:
    client = StubClient(["CREATING", "CREATING", "ACTIVE"])
    sleeps: list[float] = []
    ops.create_table(client, orders_table(), poll_interval=1.0, sleep=sleeps.append)
    assert client.describes == 3
    assert len(sleeps) == 2 and all(s > 0 for s in sleeps)
    assert client.created[0]["TableName"] == "orders"


def test_waiting_times_out_with_a_table_error() -> None:
    client = StubClient(["CREATING"])
    sleeps: list[float] = []
    with pytest.raises(TableError, match=r"timed out after 10s waiting for table 'orders'"):
        ops.wait_for_active(client, "orders", timeout=10, poll_interval=1.0, sleep=sleeps.append)
    assert sum(sleeps) == pytest.approx(10.0)
    assert max(sleeps) <= ops.MAX_POLL_INTERVAL


# ---------------------------------------------------------------------------------- copy


def fill(client: Any, name: str, count: int) -> None:
    items = [
        {"pk": {"S": f"CUSTOMER#{n % 50}"}, "sk": {"S": f"ORDER#{n:05d}"}, "n": {"N": str(n)}}
        for n in range(count)
    ]
    for start in range(0, count, 25):
        ops.write_batch(client, name, items[start : start + 25])


def add_flag(item: dict[str, Any]) -> dict[str, Any] | None:
    if int(item["n"]["N"]) % 10 == 0:
        return None  # skipped
    return {**item, "copied": {"BOOL": True}}


@pytest.fixture
def two_tables(dynamodb_client: Any) -> Iterator[tuple[Table, Table]]:
    source = orders_table("src")
    target = ops.renamed(source, "dst")
    ops.create_table(dynamodb_client, source, **FAST)
    ops.create_table(dynamodb_client, target, **FAST)
    yield source, target


def test_copy_resumes_from_its_checkpoint_after_a_failure(
    dynamodb_client: Any, two_tables: tuple[Table, Table], tmp_path: Path
) -> None:
    source, target = two_tables
    fill(dynamodb_client, "src", 2000)
    checkpoint = tmp_path / "copy.json"
    calls = {"n": 0}
    lock = threading.Lock()

    def fail_after_30(**_: Any) -> None:
        with lock:
            calls["n"] += 1
            if calls["n"] > 30:
                raise ConnectionError("injected failure")

    dynamodb_client.meta.events.register("before-call.dynamodb.BatchWriteItem", fail_after_30)
    with pytest.raises(ConnectionError, match="injected"):
        ops.copy_table(
            dynamodb_client,
            source,
            target,
            add_flag,
            segments=4,
            checkpoint=checkpoint,
            page_size=100,
        )
    dynamodb_client.meta.events.unregister("before-call.dynamodb.BatchWriteItem", fail_after_30)

    saved = json.loads(checkpoint.read_text())
    assert (saved["source"], saved["target"], len(saved["segments"])) == ("src", "dst", 4)
    assert not all(s["done"] for s in saved["segments"])
    written_before = sum(s["written"] for s in saved["segments"])
    assert 0 < written_before < 1800
    assert any(s["last_evaluated_key"] for s in saved["segments"])

    resumed_writes = capture(dynamodb_client, "BatchWriteItem")
    seen: list[ops.CopyProgress] = []
    result = ops.copy_table(
        dynamodb_client,
        source,
        target,
        add_flag,
        segments=4,
        checkpoint=checkpoint,
        progress=seen.append,
        page_size=100,
    )

    # Pages finished before the failure are not copied again.
    assert sum(len(c["RequestItems"]["dst"]) for c in resumed_writes) == 1800 - written_before
    assert result.resumed
    assert (result.scanned, result.written, result.skipped, result.target_count) == (
        2000,
        1800,
        200,
        1800,
    )
    assert seen[-1].segments_done == 4 and seen[-1].written == 1800
    assert all(s["done"] for s in json.loads(checkpoint.read_text())["segments"])
    item = dynamodb_client.get_item(
        TableName="dst", Key={"pk": {"S": "CUSTOMER#1"}, "sk": {"S": "ORDER#00001"}}
    )["Item"]
    assert item["copied"] == {"BOOL": True}
    assert "Item" not in dynamodb_client.get_item(
        TableName="dst", Key={"pk": {"S": "CUSTOMER#0"}, "sk": {"S": "ORDER#00000"}}
    )


def test_copy_with_a_mapping_pair_transforms_aggregates(
    dynamodb_client: Any, two_tables: tuple[Table, Table]
) -> None:
    source, target = two_tables
    src_orders = source.mappings[0]
    dst_orders = Mapping(
        Order, target, key=Key(pk="CUSTOMER#{customer}", sk="ORDER#{order_id}"), events=None
    )
    for n in range(30):
        dynamodb_client.put_item(TableName="src", Item=src_orders.to_item(Order("c1", f"o{n}", n)))

    def double(order: Order) -> Order:
        order.total *= 2
        return order

    result = ops.copy_table(dynamodb_client, src_orders, dst_orders, double, segments=2)
    assert (result.written, result.target_count, result.resumed) == (30, 30, False)
    raw = dynamodb_client.get_item(
        TableName="dst", Key={"pk": {"S": "CUSTOMER#c1"}, "sk": {"S": "ORDER#o7"}}
    )["Item"]
    assert dst_orders.from_item(raw) == Order("c1", "o7", 14)


def test_copy_refuses_a_checkpoint_of_another_copy(
    dynamodb_client: Any, two_tables: tuple[Table, Table], tmp_path: Path
) -> None:
    source, target = two_tables
    checkpoint = tmp_path / "copy.json"
    ops.copy_table(dynamodb_client, source, target, checkpoint=checkpoint, segments=2)
    with pytest.raises(TableError, match="belongs to another copy"):
        ops.copy_table(dynamodb_client, source, target, checkpoint=checkpoint, segments=3)


class Throttled:
    """A client whose BatchWriteItem leaves the last request unprocessed `times` times."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        requests = RequestItems["t"]
        self.calls.append(len(requests))
        if len(self.calls) <= self.times:
            return {"UnprocessedItems": {"t": requests[-1:]}}
        return {"UnprocessedItems": {}}


def test_unprocessed_items_are_retried_then_reported() -> None:
    items = [{"pk": {"S": str(n)}} for n in range(25)]
    delays: list[float] = []
    backoff = Backoff(attempts=3, base=0.1, cap=1.0, sleep=delays.append)

    client = Throttled(times=2)
    ops.write_batch(client, "t", items, backoff=backoff)
    assert client.calls == [25, 1, 1]
    assert len(delays) == 2 and all(0 <= d <= 1.0 for d in delays)

    stuck = Throttled(times=99)
    with pytest.raises(BatchIncomplete, match="1 of 25 item") as error:
        ops.write_batch(stuck, "t", items, backoff=backoff)
    assert error.value.unprocessed == [{"pk": {"S": "24"}}]  # the raw item, not the request
    assert len(stuck.calls) == 3  # three attempts in all, the first included, as put_many


class Failing:
    """A client whose BatchWriteItem leaves `unprocessed` requests back once, then raises
    `error` on the next `times` calls."""

    def __init__(self, error: Exception, times: int, unprocessed: int = 0) -> None:
        self.error, self.times, self.unprocessed = error, times, unprocessed
        self.calls: list[int] = []

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        requests = RequestItems["t"]
        self.calls.append(len(requests))
        if len(self.calls) == 1 and self.unprocessed:
            return {"UnprocessedItems": {"t": requests[-self.unprocessed :]}}
        if len(self.calls) - bool(self.unprocessed) <= self.times:
            raise self.error
        return {"UnprocessedItems": {}}


def _aws_error(code: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    response: Any = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "BatchWriteItem")


def test_transient_failures_of_a_batch_write_are_retried_then_reported() -> None:
    from botocore.exceptions import EndpointConnectionError

    items = [{"pk": {"S": str(n)}} for n in range(25)]
    delays: list[float] = []
    backoff = Backoff(attempts=3, base=0.1, cap=1.0, sleep=delays.append)

    recovering = Failing(EndpointConnectionError(endpoint_url="http://x"), times=2)
    ops.write_batch(recovering, "t", items, backoff=backoff)
    assert recovering.calls == [25, 25, 25] and len(delays) == 2

    error = _aws_error("InternalServerError", 500)
    down = Failing(error, times=99, unprocessed=3)
    with pytest.raises(BatchIncomplete, match=r"3 of 25 item.*InternalServerError") as raised:
        ops.write_batch(down, "t", items, backoff=backoff)
    assert raised.value.unprocessed == items[-3:]  # exactly what the first call left
    assert raised.value.__cause__ is error
    assert down.calls == [25, 3, 3]  # three attempts in all, the first included

    throttled = Failing(_aws_error("ThrottlingException", 400), times=99)
    with pytest.raises(BatchIncomplete, match="25 of 25") as raised:
        ops.write_batch(throttled, "t", items, backoff=backoff)
    assert raised.value.unprocessed == items and len(throttled.calls) == 3


def test_a_final_failure_of_a_batch_write_is_not_retried() -> None:
    from botocore.exceptions import ClientError

    items = [{"pk": {"S": str(n)}} for n in range(25)]
    backoff = Backoff(attempts=3, sleep=lambda _: None)
    missing = _aws_error("ResourceNotFoundException", 400)
    client = Failing(missing, times=99)
    with pytest.raises(ClientError) as raised:  # nothing written: the AWS error as it is
        ops.write_batch(client, "t", items, backoff=backoff)
    assert raised.value is missing and client.calls == [25]

    partly = Failing(missing, times=99, unprocessed=4)
    with pytest.raises(BatchIncomplete) as incomplete:  # part written: what is left is listed
        ops.write_batch(partly, "t", items, backoff=backoff)
    assert incomplete.value.unprocessed == items[-4:] and incomplete.value.__cause__ is missing
    assert partly.calls == [25, 4]


# ---------------------------------------------------------------------------------- CloudFormation


def test_cloudformation_matches_what_create_table_sends(dynamodb_client: Any) -> None:
    table = orders_table(
        indexes=[gsi("by_status", ["total"]), LocalIndex("by_total", sort_key="total")],
        ttl_attribute="expires_at",
        attribute_types={"total": "N", "by_status_sk": "N"},
    )
    sent = capture(dynamodb_client, "CreateTable")
    ops.create_table(dynamodb_client, table, **FAST)
    document = ops.to_cloudformation(table)

    resource = document["Resources"]["OrdersTable"]
    assert resource["Type"] == "AWS::DynamoDB::Table"
    props = resource["Properties"]
    for key in (
        "TableName",
        "AttributeDefinitions",
        "KeySchema",
        "BillingMode",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
    ):
        assert props[key] == sent[0][key], key
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}

    live = dynamodb_client.describe_table(TableName="orders")["Table"]
    live_types = {d["AttributeName"]: d["AttributeType"] for d in live["AttributeDefinitions"]}
    assert {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]} == (
        live_types
    )
    assert props["KeySchema"] == live["KeySchema"]
    live_gsi = {g["IndexName"]: g["Projection"] for g in live["GlobalSecondaryIndexes"]}
    assert live_gsi == {g["IndexName"]: g["Projection"] for g in props["GlobalSecondaryIndexes"]}


def test_cloudformation_yaml_is_the_same_document() -> None:
    yaml = pytest.importorskip("yaml")
    table = orders_table(indexes=[gsi("by_status", ["total", "on: off"])], ttl_attribute="ttl")
    provisioned = ops.to_cloudformation(table, billing=ops.Provisioned(5, 5), stream="NEW_IMAGE")
    text = ops.to_cloudformation(
        table, format="yaml", billing=ops.Provisioned(5, 5), stream="NEW_IMAGE"
    )
    assert isinstance(text, str)
    assert yaml.safe_load(text) == provisioned
    props = provisioned["Resources"]["OrdersTable"]["Properties"]
    assert props["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}


def test_terminal_progress_draws_one_line() -> None:
    stream = io.StringIO()
    bar = ops.TerminalProgress(stream, width=10)
    bar(ops.CopyProgress("src", "dst", 50, 45, 5, 1, 4, 100))
    bar(ops.CopyProgress("src", "dst", 100, 90, 10, 4, 4, 100))
    first, second = stream.getvalue().split("\r")[1:]
    assert first == "src -> dst [#####-----] 50/~100 scanned, 45 written (1/4 segments done)"
    assert second.startswith("src -> dst [##########] 100/~100") and second.endswith("\n")
