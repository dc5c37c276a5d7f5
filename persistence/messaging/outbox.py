"""Transactional outbox: events written in the same transaction as the change that raised them.

A unit of work with an Outbox adds one Put per event to its TransactWriteItems (they count toward
the 100 actions). The records are spread over `shards` partition keys, the shard chosen from the
key of the aggregate that raised the event, so one aggregate's events stay in one partition in
the order they were committed (adr/0021).

A relay (`OutboxRelay`, outbox_relay.py) later publishes the pending records of a shard oldest
first and, once `publish` returned, deletes each pending record and puts an archive copy with a
TTL in one transaction (delete-on-publish): a shard's pending partition holds only what is still
to publish, so a relay's reads follow the work pending, never the history published.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..backends.actions import Meaning, Put
from ..errors import ValidationError
from ..model.keys import Key
from ..model.mapping import Mapping, Table
from ..model.marshal import Item, Wire
from ..query.specification import NotExists
from .event_codec import EventCodec

if TYPE_CHECKING:
    from .outbox_relay import OutboxRelay as OutboxRelay

# The logger keeps the name it had before the modules moved into layers (docs/api.md).
log = logging.getLogger("persistence.outbox")

PENDING = "pending"
DONE = "done"
# 16 partitions take about 16 x 1,000 write units a second before one of them throttles (an
# event costs a Put, then a transactional Delete on its pending partition), while an idle relay
# pays one strongly consistent Query per shard and poll: adr/0021.
DEFAULT_SHARDS = 16
MAX_SHARDS = 1000
# The TTL attribute the outbox declares on a table that has none (archive records expire).
DEFAULT_TTL_ATTRIBUTE = "expires_at"
# Fixed width, so the text order of the sort key is the time order.
_STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"

# Where the aggregate's key is unknown (events handed to `actions` without their aggregates).
Source = tuple[str, MappingABC[str, Wire]]


@dataclass
class OutboxRecord:
    """One stored event of the outbox: when and as what it was raised, its encoded payload,
    its shard and its position among the events of its commit, and whether a relay published it
    (`status` "pending", or "done" in an archive record).
    """

    created_at: str
    message_id: str
    event_type: str
    payload: str
    status: str = PENDING
    published_at: str | None = None
    expires_at: datetime | None = None
    shard: int = 0
    position: int = 0


def shard_of(source: Source, shards: int) -> int:
    """The shard of an aggregate: a stable hash (not Python's salted `hash`) of its table and
    wire key, so every process puts one aggregate's events in the same shard."""
    table, key = source
    parts: list[Any] = [table]
    for name in sorted(key):
        ((tag, inner),) = key[name].items()
        if tag == "B":
            inner = base64.b64encode(bytes(inner)).decode("ascii")
        parts.append([name, tag, inner])
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


class Outbox:
    """Where outbox records live: a table of the application (single-table friendly; the table
    needs a sort key).

    Give it to a unit of work (`DynamoDBUnitOfWork(client, mappings, outbox=outbox)`): each
    commit then writes its events as outbox records in the same transaction, each in the shard
    of the aggregate that raised it. Relay them with `OutboxRelay` (or, on AWS Lambda, with the
    table's stream and `outbox_stream_handler`).

    What the outbox needs it declares on `table`: without a TTL attribute the table gets
    `expires_at` (archive records expire through it), so `create_table`, `ensure_table`, the
    CloudFormation export and the IAM policy include it without it being named.

    Args:
        table: the table to store records in (it needs a sort key).
        event_types: the event dataclasses that may be written (and decoded by a relay).
        shards: how many partition keys the records are spread over (default 16: adr/0021).
            Change it only with no record pending: an aggregate may move to another shard,
            and records pending in a shard beyond the new count are no longer relayed.
        retention: how long the archive copy of a published record is kept (through the
            table's TTL attribute); None keeps no archive (a published record is just deleted).
        type_name: the records' type attribute value; two outboxes on one table need two names.
    """

    def __init__(
        self,
        table: Table,
        *,
        event_types: Iterable[type] = (),
        shards: int = DEFAULT_SHARDS,
        retention: timedelta | None = timedelta(days=7),
        type_name: str = "OutboxRecord",
    ) -> None:
        if table.sort_key is None:
            raise ValidationError(
                f"an Outbox needs a table with a sort key (table {table.name!r} has none): its "
                "records are queried per shard, oldest first; give it a table declared with "
                "partition_key and sort_key"
            )
        if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= MAX_SHARDS:
            raise ValidationError(
                f"Outbox shards must be an int from 1 to {MAX_SHARDS}, got {shards!r}"
            )
        if not type_name or any(c in type_name for c in "{}#"):
            raise ValidationError(
                "Outbox type_name must be non-empty text without '{', '}' or '#', got "
                + repr(type_name)
            )
        if retention is not None and retention <= timedelta(0):
            raise ValidationError(f"Outbox retention must be positive (or None), got {retention!r}")
        self.table = table
        self.codec = EventCodec(event_types)
        self.shards = shards
        self.retention = retention
        self.type_name = type_name
        if retention is not None and table.ttl_attribute is None:
            # The declaration the outbox makes on its table (adr/0021): archive records expire.
            table.ttl_attribute = DEFAULT_TTL_ATTRIBUTE
        self.pending_prefix = f"OUTBOX#{type_name}#P#"
        self.archive_prefix = f"OUTBOX#{type_name}#A#"
        self.mapping: Mapping[OutboxRecord] = Mapping(
            OutboxRecord,
            table,
            key=Key(
                pk=self.pending_prefix + "{shard}",
                sk="{created_at}#{position:05d}#{message_id}",
            ),
            events=None,
            type_name=type_name,
        )
        # Per outbox: the stamps it hands out only go up, so one process's commits of an
        # aggregate keep their order even with a coarse or frozen clock.
        self._last_stamp = ""

    # ------------------------------------------------------------------ writing

    def shard_of(self, source: Source) -> int:
        """The shard of the aggregate stored in `source` = (table name, wire key)."""
        return shard_of(source, self.shards)

    def shards_for(self, worker: int, workers: int) -> list[int]:
        """The shards relay `worker` of `workers` takes (shard s goes to worker s % workers):
        give them to `OutboxRelay.run_once(shards=...)` so parallel relays never share one."""
        if not (isinstance(workers, int) and workers >= 1 and isinstance(worker, int)):
            raise ValidationError(f"workers must be an int >= 1, got {workers!r}")
        if not 0 <= worker < workers:
            raise ValidationError(f"worker must be in 0..{workers - 1}, got {worker!r}")
        return [s for s in range(self.shards) if s % workers == worker]

    def _stamp(self, now: datetime) -> str:
        stamp = now.astimezone(UTC).strftime(_STAMP)
        if stamp <= self._last_stamp:
            last = datetime.strptime(self._last_stamp, _STAMP).replace(tzinfo=UTC)
            stamp = (last + timedelta(microseconds=1)).strftime(_STAMP)
        self._last_stamp = stamp
        return stamp

    def actions(
        self,
        events: Sequence[Any],
        now: datetime,
        sources: Sequence[Source | None] | None = None,
    ) -> list[Put]:
        """One Put per event, for the commit that raised them (the unit of work calls this).

        `sources[i]` is (table name, wire key) of the aggregate that raised `events[i]`: its
        shard holds the record. Events without one go to one shard chosen for this commit.
        The sort key (creation time, position in the commit, id) keeps the events of one commit
        in the order they were raised, and one aggregate's commits in the order they were made.
        """
        if not events:
            return []
        out = []
        stamp = self._stamp(now)
        commit_shard = shard_of(("", {"commit": {"S": uuid.uuid4().hex}}), self.shards)
        for position, event in enumerate(events):
            source = sources[position] if sources is not None else None
            shard = commit_shard if source is None else self.shard_of(source)
            name, payload = self.codec.encode(event)
            record = OutboxRecord(
                stamp, uuid.uuid4().hex, name, payload, shard=shard, position=position
            )
            key = self.mapping.key_of(record)
            key_fields = {"shard": shard, "created_at": stamp, "message_id": record.message_id}
            out.append(
                Put(
                    self.table.name,
                    self.mapping.to_item(record),
                    NotExists((self.table.partition_key,)),
                    Meaning(self.mapping.name, key_fields, "outbox"),
                    key,
                )
            )
        return out

    # ------------------------------------------------------------------ relaying

    def pending_key(self, shard: int) -> Wire:
        """The partition key value of a shard's pending records."""
        return {"S": f"{self.pending_prefix}{shard}"}

    def archive_item(self, pending: Item, published_at: datetime) -> Item:
        """The archive copy of a pending record: another partition, status done, the time it
        was published and its expiry in the table's TTL attribute."""
        item = dict(pending)
        pk_value = pending[self.table.partition_key]["S"]
        item[self.table.partition_key] = {
            "S": self.archive_prefix + pk_value[len(self.pending_prefix) :]
        }
        item["status"] = {"S": DONE}
        item["published_at"] = {"S": published_at.astimezone(UTC).strftime(_STAMP)}
        if self.retention is not None and self.table.ttl_attribute:
            expiry = published_at + self.retention
            item[self.table.ttl_attribute] = {"N": str(int(expiry.timestamp()))}
        return item

    def is_pending(self, item: MappingABC[str, Any]) -> bool:
        """Whether a wire item (or stream image) is a pending record of this outbox."""
        if item.get(self.table.type_attribute) != {"S": self.type_name}:
            return False
        if item.get("status") != {"S": PENDING}:
            return False
        pk = item.get(self.table.partition_key)
        return isinstance(pk, dict) and str(pk.get("S", "")).startswith(self.pending_prefix)

    def event_from_image(self, image: MappingABC[str, Any]) -> object | None:
        """The event a stream record's image holds when it is a pending record of this outbox,
        else None (an archive record, another aggregate's item, another outbox's record).

        `image` is the `NewImage` of a DynamoDB stream record as Lambda delivers it (DynamoDB
        JSON; B values as base64 text). A pending record of this outbox whose event type is
        unknown raises ValidationError: it must never be skipped silently.
        """
        if not self.is_pending(image):
            return None
        record = self.mapping.from_item({k: _lambda_value(v) for k, v in image.items()})
        event: object = self.codec.decode(record.event_type, record.payload)
        return event

    def relay(self, backend: Any, publish: Callable[[Any], None]) -> OutboxRelay:
        """An `OutboxRelay` publishing this outbox's pending events from `backend`."""
        from .outbox_relay import OutboxRelay

        return OutboxRelay(self, backend, publish)


def _lambda_value(value: Any) -> Any:
    """A stream image's attribute value with base64 text (how Lambda delivers B and BS) turned
    into bytes, the library's wire form."""
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": inner if isinstance(inner, bytes) else base64.b64decode(inner)}
    if tag == "BS":
        return {"BS": [v if isinstance(v, bytes) else base64.b64decode(v) for v in inner]}
    if tag == "L":
        return {"L": [_lambda_value(v) for v in inner]}
    if tag == "M":
        return {"M": {k: _lambda_value(v) for k, v in inner.items()}}
    return value


def __getattr__(name: str) -> Any:
    # `from persistence.messaging.outbox import OutboxRelay` keeps working; the relay lives in
    # its own module (it imports this one).
    if name == "OutboxRelay":
        from .outbox_relay import OutboxRelay

        return OutboxRelay
    raise AttributeError(name)
