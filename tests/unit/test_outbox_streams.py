"""`outbox_stream_handler` on stream records built as Lambda delivers them, the in-memory stream
log, and the local poller's reading of a partial batch response.

The record shape is the one in the Lambda developer guide ("Using AWS Lambda with Amazon
DynamoDB", example event; with-ddb.html) and the DynamoDB Streams API reference (Record,
StreamRecord): eventID, eventName, eventVersion, eventSource "aws:dynamodb", awsRegion,
dynamodb {ApproximateCreationDateTime (epoch seconds), Keys, NewImage, OldImage,
SequenceNumber, SizeBytes, StreamViewType}, eventSourceARN; a TTL deletion adds userIdentity
{"type": "Service", "principalId": "dynamodb.amazonaws.com"} (developer guide, "DynamoDB Streams
and Time to Live", time-to-live-ttl-streams.html). Binary values are base64 text in the JSON
Lambda sends.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

import persistence as p
from persistence.backends.memory.stream import MemoryStreamsClient
from persistence.testing.contract_streams import Ledger, Recorded
from persistence.testing.stream_poller import StreamPoller, _checkpoint, lambda_event

ARN = "arn:aws:dynamodb:eu-west-1:123456789012:table/app/stream/2026-11-30T10:00:00.000"


def _setup() -> tuple[p.Outbox, p.Mapping[Ledger], p.InMemoryStore]:
    table = p.Table("app", partition_key="pk", sort_key="sk")
    ledgers = p.Mapping(Ledger, table, key=p.Key(pk="LEDGER#{ledger_id}", sk="LEDGER"))
    outbox = p.Outbox(table, event_types=[Recorded])
    store = p.InMemoryStore()
    store.register(table)
    return outbox, ledgers, store


def _committed(*ns: int) -> tuple[p.Outbox, list[dict[str, Any]], dict[str, Any]]:
    """(outbox, the outbox's stored items in commit order, the ledger's stored item)."""
    outbox, ledgers, store = _setup()
    uow = p.InMemoryUnitOfWork([ledgers], store=store, outbox=outbox)
    with uow:
        ledger = Ledger("L1")
        uow.repository(Ledger).add(ledger)
        for n in ns:
            ledger.record(n)
        uow.commit()
    items = store.items("app")
    records = [i for i in items if i.get("_type") == {"S": outbox.mapping.type_name}]
    (ledger_item,) = [i for i in items if i.get("_type") == {"S": "Ledger"}]
    return outbox, sorted(records, key=lambda i: i["sk"]["S"]), ledger_item


def _b64(value: Any) -> Any:
    """A wire value as it appears in Lambda's JSON: B and BS base64 text."""
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": base64.b64encode(inner).decode()}
    if tag == "BS":
        return {"BS": [base64.b64encode(v).decode() for v in inner]}
    if tag == "L":
        return {"L": [_b64(v) for v in inner]}
    if tag == "M":
        return {"M": {k: _b64(v) for k, v in inner.items()}}
    return value


def _record(
    name: str,
    sequence: int,
    new: dict[str, Any] | None = None,
    old: dict[str, Any] | None = None,
    view: str = "NEW_IMAGE",
) -> dict[str, Any]:
    source = new if new is not None else old
    assert source is not None
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": 1764496800,
        "Keys": {k: source[k] for k in ("pk", "sk")},
        "SequenceNumber": f"{sequence:021d}",
        "SizeBytes": 120,
        "StreamViewType": view,
    }
    if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        change["NewImage"] = {k: _b64(v) for k, v in new.items()}
    if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        change["OldImage"] = {k: _b64(v) for k, v in old.items()}
    return {
        "eventID": f"{sequence:032x}",
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": change,
        "eventSourceARN": ARN,
    }


def _done(item: dict[str, Any]) -> dict[str, Any]:
    marked = copy.deepcopy(item)
    marked["status"] = {"S": "done"}
    return marked


def test_publishes_outbox_inserts_in_order_and_ignores_every_other_record() -> None:
    outbox, (r1, r2), ledger = _committed(1, 2)
    other = {"pk": {"S": "FILE#1"}, "sk": {"S": "FILE"}, "blob": {"B": b"\x00\xff"}}
    ttl_removal = _record("REMOVE", 8, old=_done(r1), view="NEW_AND_OLD_IMAGES")
    ttl_removal["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    event = {
        "Records": [
            _record("INSERT", 1, new=ledger, view="NEW_AND_OLD_IMAGES"),
            _record("INSERT", 2, new=r1, view="NEW_AND_OLD_IMAGES"),
            _record("INSERT", 3, new=other, view="NEW_AND_OLD_IMAGES"),
            _record("INSERT", 4, new=r2, view="NEW_AND_OLD_IMAGES"),
            # A polling relay marking a record done, the ledger changing, deletes, TTL expiry.
            _record("MODIFY", 5, new=_done(r1), old=r1, view="NEW_AND_OLD_IMAGES"),
            _record("MODIFY", 6, new=ledger, old=ledger, view="NEW_AND_OLD_IMAGES"),
            _record("REMOVE", 7, old=ledger, view="NEW_AND_OLD_IMAGES"),
            ttl_removal,
        ]
    }
    published: list[Any] = []
    handler = p.outbox_stream_handler(outbox, published.append)
    assert handler(event, None) == {"batchItemFailures": []}
    assert published == [Recorded("L1", 1), Recorded("L1", 2)]


def test_an_insert_of_a_record_already_done_is_not_published() -> None:
    # A table restored or copied with published records: their INSERTs are not new events.
    outbox, (r1,), _ = _committed(1)
    published: list[Any] = []
    handler = p.outbox_stream_handler(outbox, published.append)
    assert handler({"Records": [_record("INSERT", 1, new=_done(r1))]}, None) == {
        "batchItemFailures": []
    }
    assert published == []


def test_a_failed_publish_stops_the_batch_and_reports_it_and_the_later_outbox_records() -> None:
    outbox, (r1, r2, r3), ledger = _committed(1, 2, 3)
    event = {
        "Records": [
            _record("INSERT", 10, new=r1),
            _record("INSERT", 11, new=r2),
            _record("MODIFY", 12, new=ledger),
            _record("INSERT", 13, new=r3),
        ]
    }
    calls: list[Any] = []

    def publish(e: Recorded) -> None:
        calls.append(e)
        if e.n == 2:
            raise ConnectionError("the broker is down")

    response = p.outbox_stream_handler(outbox, publish)(event, None)
    # Lambda checkpoints at the lowest reported number: publishing 3 now would publish it
    # twice and before 2.
    assert calls == [Recorded("L1", 1), Recorded("L1", 2)]
    assert response == {
        "batchItemFailures": [
            {"itemIdentifier": f"{11:021d}"},
            {"itemIdentifier": f"{13:021d}"},
        ]
    }


def test_a_record_of_an_unknown_event_type_is_reported_not_skipped() -> None:
    outbox, (r1, r2), _ = _committed(1, 2)
    r1 = copy.deepcopy(r1)
    r1["event_type"] = {"S": "no.such.Event"}
    published: list[Any] = []
    handler = p.outbox_stream_handler(outbox, published.append)
    event = {"Records": [_record("INSERT", 1, new=r1), _record("INSERT", 2, new=r2)]}
    assert handler(event, None) == {
        "batchItemFailures": [{"itemIdentifier": f"{1:021d}"}, {"itemIdentifier": f"{2:021d}"}]
    }
    assert published == []


@pytest.mark.parametrize("view", ["KEYS_ONLY", "OLD_IMAGE"])
def test_a_stream_without_new_images_is_refused_before_anything_is_published(view: str) -> None:
    outbox, (r1,), _ = _committed(1)
    good = _record("INSERT", 1, new=r1)
    bad = _record("REMOVE", 2, old=r1, view=view)
    published: list[Any] = []
    handler = p.outbox_stream_handler(outbox, published.append)
    with pytest.raises(p.ValidationError, match="NEW_IMAGE or NEW_AND_OLD_IMAGES"):
        handler({"Records": [good, bad]}, None)
    assert published == []


def test_an_event_that_is_not_a_dynamodb_stream_batch_is_refused() -> None:
    outbox, _, _ = _committed()
    handler = p.outbox_stream_handler(outbox, lambda e: None)
    sqs = {"Records": [{"messageId": "1", "eventSource": "aws:sqs", "body": "{}"}]}
    with pytest.raises(p.ValidationError, match="not a DynamoDB stream record"):
        handler(sqs, None)
    with pytest.raises(p.ValidationError, match="DynamoDB stream event"):
        handler({"detail": {}}, None)


def test_an_empty_batch_succeeds() -> None:
    outbox, _, _ = _committed()
    assert p.outbox_stream_handler(outbox, lambda e: None)({"Records": []}, None) == {
        "batchItemFailures": []
    }


def test_event_from_image_reads_lambda_images_with_base64_binaries() -> None:
    outbox, (r1,), ledger = _committed(1)
    image = {k: _b64(v) for k, v in r1.items()}
    image["extra"] = {"M": {"b": {"B": base64.b64encode(b"\x01").decode()}}}
    assert outbox.event_from_image(image) == Recorded("L1", 1)
    assert outbox.event_from_image({k: _b64(v) for k, v in ledger.items()}) is None
    assert outbox.event_from_image({k: _b64(v) for k, v in _done(r1).items()}) is None


# ----------------------------------------------------------------------- the in-memory stream


def test_the_memory_stream_logs_each_change_with_the_images_of_its_view() -> None:
    _, ledgers, store = _setup()
    repo = p.InMemoryRepository(ledgers, store=store)
    repo.put(Ledger("L0"))  # before the stream is enabled: not logged
    arn = store.enable_stream("app", "NEW_AND_OLD_IMAGES")
    assert arn.startswith("arn:aws:dynamodb:") and ":table/app/stream/" in arn
    repo.put(Ledger("L1"))
    repo.put(Ledger("L1"))  # changes nothing: DynamoDB writes no record
    repo.put(Ledger("L1", entries=2))
    repo.delete(ledger_id="L1")
    repo.delete(ledger_id="L1")  # nothing to delete: no record
    stream = store.stream("app")
    assert stream is not None
    names = [r["eventName"] for r in stream.records]
    assert names == ["INSERT", "MODIFY", "REMOVE"]
    numbers = [r["dynamodb"]["SequenceNumber"] for r in stream.records]
    assert all(21 <= len(n) <= 40 and n.isdigit() for n in numbers)
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})
    modify = stream.records[1]["dynamodb"]
    assert modify["OldImage"]["entries"] == {"N": "0"} and modify["NewImage"]["entries"] == {
        "N": "2"
    }
    assert store.stream_tables() == ["app"]


@pytest.mark.parametrize(
    ("view", "images"),
    [
        ("KEYS_ONLY", set()),
        ("NEW_IMAGE", {"NewImage"}),
        ("OLD_IMAGE", {"OldImage"}),
        ("NEW_AND_OLD_IMAGES", {"NewImage", "OldImage"}),
    ],
)
def test_the_memory_stream_view_type_decides_the_images(view: str, images: set[str]) -> None:
    _, ledgers, store = _setup()
    store.enable_stream("app", view)
    repo = p.InMemoryRepository(ledgers, store=store)
    repo.put(Ledger("L1"))
    repo.put(Ledger("L1", entries=1))
    stream = store.stream("app")
    assert stream is not None
    modify = stream.records[1]["dynamodb"]
    assert {k for k in modify if k.endswith("Image")} == images
    assert modify["StreamViewType"] == view
    assert modify["Keys"] == {"pk": {"S": "LEDGER#L1"}, "sk": {"S": "LEDGER"}}


def test_the_memory_streams_client_reads_by_iterator_like_dynamodb_streams() -> None:
    _, ledgers, store = _setup()
    arn = store.enable_stream("app", "NEW_IMAGE")
    repo = p.InMemoryRepository(ledgers, store=store)
    for i in range(3):
        repo.put(Ledger(f"L{i}"))
    client = MemoryStreamsClient(store)
    assert client.list_streams(TableName="app")["Streams"][0]["StreamArn"] == arn
    (shard,) = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    it = client.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    first = client.get_records(ShardIterator=it, Limit=2)
    assert len(first["Records"]) == 2
    rest = client.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["dynamodb"]["NewImage"]["ledger_id"] for r in rest["Records"]] == [{"S": "L2"}]
    at = client.get_shard_iterator(
        StreamArn=arn,
        ShardId=shard["ShardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=first["Records"][1]["dynamodb"]["SequenceNumber"],
    )["ShardIterator"]
    assert len(client.get_records(ShardIterator=at)["Records"]) == 2
    latest = client.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
    )["ShardIterator"]
    assert client.get_records(ShardIterator=latest)["Records"] == []


# ------------------------------------------------------------------------------ the poller


def test_the_poller_reads_a_partial_batch_response_as_lambda_does() -> None:
    numbers = ["100000000000000000011", "100000000000000000012", "100000000000000000013"]
    assert _checkpoint({"batchItemFailures": []}, numbers) is None
    assert _checkpoint(None, numbers) is None
    assert _checkpoint({}, numbers) is None
    lowest = {"batchItemFailures": [{"itemIdentifier": numbers[2]}, {"itemIdentifier": numbers[1]}]}
    assert _checkpoint(lowest, numbers) == numbers[1]
    # An empty, missing or unknown identifier fails the whole batch.
    for bad in ("", None, "999"):
        assert _checkpoint({"batchItemFailures": [{"itemIdentifier": bad}]}, numbers) == numbers[0]
    assert _checkpoint({"batchItemFailures": [{"id": numbers[2]}]}, numbers) == numbers[0]


def test_the_poller_builds_lambda_json_and_gives_up_after_the_retries() -> None:
    _, ledgers, store = _setup()
    arn = store.enable_stream("app", "NEW_IMAGE")
    del ledgers
    store.write(_put("app", {"pk": {"S": "F"}, "sk": {"S": "F"}, "blob": {"B": b"\x00\xff"}}))
    calls: list[dict[str, Any]] = []

    def failing(event: Any, context: Any) -> Any:
        calls.append(event)
        raise RuntimeError("always")

    poller = StreamPoller(MemoryStreamsClient(store), arn, failing, maximum_retry_attempts=2)
    assert poller.drain() == 3  # the first attempt and two retries
    assert len(poller.discarded) == 1 and poller.drain() == 0
    record = calls[0]["Records"][0]
    assert record["eventSourceARN"] == arn
    assert record["dynamodb"]["NewImage"]["blob"] == {"B": "AP8="}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
    assert lambda_event([], arn) == {"Records": []}


def _put(table: str, item: dict[str, Any]) -> Any:
    from persistence.backends.actions import Meaning, Put

    return Put(table, item, None, Meaning(None, {}, "put"))


def test_the_poller_from_latest_skips_what_was_there_when_it_started() -> None:
    _, ledgers, store = _setup()
    arn = store.enable_stream("app", "NEW_IMAGE")
    repo = p.InMemoryRepository(ledgers, store=store)
    repo.put(Ledger("before"))
    seen: list[str] = []

    def handler(event: Any, context: Any) -> None:
        seen.extend(r["dynamodb"]["NewImage"]["ledger_id"]["S"] for r in event["Records"])

    poller = StreamPoller(MemoryStreamsClient(store), arn, handler, starting_position="LATEST")
    assert poller.drain() == 0
    repo.put(Ledger("after"))
    assert poller.drain() == 1
    assert seen == ["after"]
