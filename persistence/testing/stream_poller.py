"""A local stand-in for Lambda's DynamoDB stream event source mapping, for tests and local runs.

`StreamPoller` reads a table's stream through the DynamoDB Streams API (a boto3
"dynamodbstreams" client, e.g. on the moto server, or `MemoryStreamsClient` over an
`InMemoryStore`), builds the event Lambda would deliver (records with `eventSourceARN`, B values
as base64 text, `ApproximateCreationDateTime` in epoch seconds: the JSON Lambda sends) and calls
the handler with it, honouring its `batchItemFailures` as Lambda does with
ReportBatchItemFailures: the next batch starts AT the lowest reported sequence number; an
unusable report or a raised exception retries the whole batch (Lambda developer guide,
services-ddb-batchfailurereporting.html). After `maximum_retry_attempts` retries of one
starting record, the batch is skipped and kept in `discarded` (Lambda's on-failure
destination). Like the real mapping, it is at least once: a retried batch is delivered again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

Handler = Callable[[Mapping[str, Any], Any], Any]


class StreamPoller:
    """Feeds the records of one table's stream to a Lambda handler, batch by batch, in order.

    Args:
        streams: a boto3 "dynamodbstreams" client (`streams_client_for(dynamodb_client)`) or a
            `MemoryStreamsClient(store)`.
        stream_arn: the stream's ARN (`stream_arn_of(...)`).
        handler: the Lambda handler, called as `handler(event, None)`.
        batch_size: records per invocation (the mapping's BatchSize, at most 1000).
        starting_position: "TRIM_HORIZON" (every record still in the stream) or "LATEST".
        maximum_retry_attempts: retries of a failing batch before it is discarded; None
            retries until it succeeds (Lambda's default of -1).
    """

    def __init__(
        self,
        streams: Any,
        stream_arn: str,
        handler: Handler,
        *,
        batch_size: int = 100,
        starting_position: str = "TRIM_HORIZON",
        maximum_retry_attempts: int | None = None,
    ) -> None:
        if not 1 <= batch_size <= 1000:
            raise ValueError("batch_size must be between 1 and 1000, as for a DynamoDB stream")
        if starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError("starting_position must be TRIM_HORIZON or LATEST")
        self.streams = streams
        self.stream_arn = stream_arn
        self.handler = handler
        self.batch_size = batch_size
        self.maximum_retry_attempts = maximum_retry_attempts
        self.invocations: list[dict[str, Any]] = []  # every event delivered, for tests
        self.discarded: list[dict[str, Any]] = []  # batches given up after their retries
        # Per shard: the iterator the next batch is read with (LATEST is resolved once, when
        # polling starts, as the mapping does when it is created).
        self._iterators: dict[str, str] = {}
        self._start = starting_position
        self._attempts: dict[tuple[str, str], int] = {}

    def poll_once(self) -> int:
        """Deliver at most one batch per shard; returns the number of records delivered."""
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        delivered = 0
        for shard in description["Shards"]:
            delivered += self._poll_shard(shard["ShardId"])
        return delivered

    def drain(self, max_batches: int = 1000) -> int:
        """Poll until a poll delivers nothing; returns the number of records delivered (counting
        redeliveries). Raises RuntimeError after `max_batches` polls that all delivered records
        (a handler that never succeeds, with unlimited retries)."""
        total = 0
        for _ in range(max_batches):
            delivered = self.poll_once()
            if not delivered:
                return total
            total += delivered
        raise RuntimeError(f"the stream still had records after {max_batches} batches")

    def _iterator(self, shard_id: str, kind: str, sequence: str | None = None) -> str:
        request: dict[str, Any] = {
            "StreamArn": self.stream_arn,
            "ShardId": shard_id,
            "ShardIteratorType": kind,
        }
        if sequence is not None:
            request["SequenceNumber"] = sequence
        return str(self.streams.get_shard_iterator(**request)["ShardIterator"])

    def _poll_shard(self, shard_id: str) -> int:
        iterator = self._iterators.get(shard_id) or self._iterator(shard_id, self._start)
        answer = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
        records = answer["Records"]
        if not records:
            self._iterators[shard_id] = answer["NextShardIterator"]
            return 0
        event = lambda_event(records, self.stream_arn)
        self.invocations.append(event)
        numbers = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        try:
            failed_at = _checkpoint(self.handler(event, None), numbers)
        except Exception:
            failed_at = numbers[0]  # a raised error fails the whole batch
        if failed_at is None:
            self._iterators[shard_id] = answer["NextShardIterator"]
            return len(records)
        attempts = self._attempts.get((shard_id, failed_at), 0) + 1
        self._attempts[(shard_id, failed_at)] = attempts
        if self.maximum_retry_attempts is not None and attempts > self.maximum_retry_attempts:
            self.discarded.append(event)
            self._iterators[shard_id] = answer["NextShardIterator"]
        else:
            self._iterators[shard_id] = self._iterator(shard_id, "AT_SEQUENCE_NUMBER", failed_at)
        return len(records)


def _checkpoint(response: Any, numbers: list[str]) -> str | None:
    """The sequence number to retry from, or None when the batch succeeded, read as Lambda
    reads a partial batch response: no list (or an empty one) is a success; an item identifier
    that is empty, missing or not in the batch fails the whole batch; otherwise the lowest one."""
    if not isinstance(response, Mapping) or not response.get("batchItemFailures"):
        return None
    reported = []
    for failure in response["batchItemFailures"]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in numbers:
            return numbers[0]
        reported.append(identifier)
    return str(min(reported, key=int))


def lambda_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """The event Lambda delivers for these GetRecords records: each with `eventSourceARN`, as
    the JSON Lambda sends (binary values base64 text, times in epoch seconds)."""
    shaped = [{**record, "eventSourceARN": stream_arn} for record in records]
    loaded: dict[str, Any] = json.loads(json.dumps({"Records": shaped}, default=_json_value))
    return loaded


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot put {type(value).__name__} in a Lambda event")


def streams_client_for(dynamodb_client: Any) -> Any:
    """A boto3 "dynamodbstreams" client on the same endpoint and region as `dynamodb_client`
    (credentials from the default chain)."""
    import boto3

    return boto3.session.Session().client(
        "dynamodbstreams",
        endpoint_url=dynamodb_client.meta.endpoint_url,
        region_name=dynamodb_client.meta.region_name,
    )


def stream_arn_of(dynamodb_client: Any, table_name: str) -> str:
    """The table's latest stream ARN (DescribeTable's LatestStreamArn); ValueError when the
    table has no stream."""
    table = dynamodb_client.describe_table(TableName=table_name)["Table"]
    arn = table.get("LatestStreamArn")
    if not arn:
        raise ValueError(f"table {table_name!r} has no stream: create it with a StreamViewType")
    return str(arn)
