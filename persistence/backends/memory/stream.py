"""A DynamoDB Streams change log for the in-memory store, and a client reading it through the
subset of the DynamoDB Streams API that a poller uses.

What it keeps of DynamoDB Streams (developer guide, "Change data capture for DynamoDB Streams",
Streams.html; API reference, StreamRecord and GetRecords):
- one record per item-level change, in the order of the changes: INSERT (no item before),
  MODIFY, REMOVE; a write that leaves the item exactly as it was writes no record;
- each record's Keys, plus NewImage and/or OldImage as the table's StreamViewType says
  (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES);
- sequence numbers are strings of digits (21 to 40 of them) that increase within a shard;
- the stream is enabled per table; its ARN is the table's ARN + "/stream/" + a label.
One shard holds every record: the store applies its writes one at a time under one lock, so a
single order exists (DynamoDB splits by partition; the order per item is what it guarantees).
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from ...errors import ValidationError
from ...model.marshal import Item
from ...validation import item_size

VIEWS = ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY")
SHARD_ID = "shardId-00000000000000000000-00000001"
# 21 digits, the shortest sequence number DynamoDB returns; fixed width keeps text order.
_FIRST_SEQUENCE = 100000000000000000000
REGION = "us-east-1"
ACCOUNT = "000000000000"


class TableStream:
    """The change log of one table: `record(old, new)` after each change, read by position."""

    def __init__(self, table_name: str, key_attributes: Sequence[str], view_type: str) -> None:
        if view_type not in VIEWS:
            raise ValidationError(f"StreamViewType must be one of {list(VIEWS)}, got {view_type!r}")
        self.table_name = table_name
        self.view_type = view_type
        self.key_attributes = tuple(key_attributes)
        self.label = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        self.arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_name}/stream/{self.label}"
        self.records: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def record(self, old: Item | None, new: Item | None) -> None:
        """Log one item-level change (`old` None: INSERT, `new` None: REMOVE)."""
        if old == new:
            return  # DynamoDB writes no stream record for a write that changed nothing
        source = new if new is not None else old
        assert source is not None
        name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        change: dict[str, Any] = {
            "ApproximateCreationDateTime": datetime.now(UTC).replace(microsecond=0),
            "Keys": {a: copy.deepcopy(source[a]) for a in self.key_attributes},
        }
        if new is not None and self.view_type in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            change["NewImage"] = copy.deepcopy(new)
        if old is not None and self.view_type in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            change["OldImage"] = copy.deepcopy(old)
        size = sum(item_size(change[k]) for k in ("Keys", "NewImage", "OldImage") if k in change)
        with self._lock:
            change["SequenceNumber"] = str(_FIRST_SEQUENCE + len(self.records))
            change["SizeBytes"] = max(size, 1)
            change["StreamViewType"] = self.view_type
            self.records.append(
                {
                    "eventID": uuid.uuid4().hex,
                    "eventName": name,
                    "eventVersion": "1.1",
                    "eventSource": "aws:dynamodb",
                    "awsRegion": REGION,
                    "dynamodb": change,
                }
            )

    def read(self, position: int, limit: int) -> list[dict[str, Any]]:
        """Copies of up to `limit` records from `position` (0 is the oldest)."""
        with self._lock:
            return copy.deepcopy(self.records[position : position + limit])

    def position_of(self, sequence_number: str) -> int:
        """The position of the record with this sequence number."""
        position = int(sequence_number) - _FIRST_SEQUENCE
        if not 0 <= position < len(self.records):
            raise ValidationError(f"sequence number {sequence_number} is not in this stream")
        return position


class _Streams(Protocol):
    def stream(self, table: str) -> TableStream | None: ...

    def stream_tables(self) -> list[str]: ...


class MemoryStreamsClient:
    """The DynamoDB Streams operations a poller sends (`list_streams`, `describe_stream`,
    `get_shard_iterator`, `get_records`), answered from an `InMemoryStore`'s streams in the
    shape boto3's "dynamodbstreams" client returns (B values as bytes, datetimes), so the same
    poller code reads both."""

    def __init__(self, store: _Streams) -> None:
        self.store = store

    def _by_arn(self, arn: str) -> TableStream:
        for name in self.store.stream_tables():
            stream = self.store.stream(name)
            if stream is not None and stream.arn == arn:
                return stream
        raise ValidationError(f"ResourceNotFoundException: no stream {arn}")

    def list_streams(self, TableName: str | None = None, **_: Any) -> dict[str, Any]:
        """ListStreams: the enabled streams (of one table when `TableName` is given)."""
        streams = []
        for name in self.store.stream_tables():
            stream = self.store.stream(name)
            if stream is not None and TableName in (None, name):
                streams.append(
                    {"StreamArn": stream.arn, "TableName": name, "StreamLabel": stream.label}
                )
        return {"Streams": streams}

    def describe_stream(self, StreamArn: str, **_: Any) -> dict[str, Any]:
        """DescribeStream: one open shard."""
        stream = self._by_arn(StreamArn)
        return {
            "StreamDescription": {
                "StreamArn": stream.arn,
                "StreamLabel": stream.label,
                "StreamStatus": "ENABLED",
                "StreamViewType": stream.view_type,
                "TableName": stream.table_name,
                "Shards": [
                    {
                        "ShardId": SHARD_ID,
                        "SequenceNumberRange": {"StartingSequenceNumber": str(_FIRST_SEQUENCE)},
                    }
                ],
            }
        }

    def get_shard_iterator(
        self,
        StreamArn: str,
        ShardId: str,
        ShardIteratorType: str,
        SequenceNumber: str | None = None,
    ) -> dict[str, Any]:
        """GetShardIterator: TRIM_HORIZON, LATEST, AT_ or AFTER_SEQUENCE_NUMBER."""
        stream = self._by_arn(StreamArn)
        if ShardId != SHARD_ID:
            raise ValidationError(f"ResourceNotFoundException: no shard {ShardId}")
        if ShardIteratorType == "TRIM_HORIZON":
            position = 0
        elif ShardIteratorType == "LATEST":
            position = len(stream.records)
        elif ShardIteratorType in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if SequenceNumber is None:
                raise ValidationError(f"{ShardIteratorType} needs a SequenceNumber")
            position = stream.position_of(SequenceNumber)
            position += ShardIteratorType == "AFTER_SEQUENCE_NUMBER"
        else:
            raise ValidationError(f"unknown ShardIteratorType {ShardIteratorType!r}")
        return {"ShardIterator": f"{stream.arn}|{position}"}

    def get_records(self, ShardIterator: str, Limit: int = 1000) -> dict[str, Any]:
        """GetRecords: up to `Limit` records (at most 1000) and the next iterator."""
        if not 1 <= Limit <= 1000:
            raise ValidationError("GetRecords Limit must be between 1 and 1000")
        arn, _, position_text = ShardIterator.rpartition("|")
        stream, position = self._by_arn(arn), int(position_text)
        records = stream.read(position, Limit)
        return {"Records": records, "NextShardIterator": f"{arn}|{position + len(records)}"}
