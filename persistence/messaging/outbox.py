"""Transactional outbox: events written in the same transaction as the change that raised them.

A unit of work with an Outbox adds one Put per event to its TransactWriteItems (they count toward
the 100 actions). The records are spread over `shards` partition keys, the shard chosen from the
key of the aggregate that raised the event, so one aggregate's events stay in one partition in
the order they were committed (adr/0021).

A relay (`OutboxRelay`) later publishes the pending records of a shard oldest first and, once
`publish` returned, deletes each pending record and puts an archive copy with a TTL in one
transaction (delete-on-publish): a shard's pending partition holds only what is still to
publish, so a relay's reads follow the work pending, never the history published.

Delivery is at least once. For each pending record, in the order of its shard's sort key
(creation time, position in the commit, id), the relay calls `publish(event)`; only once it
returned does it mark the record published, with a conditional write (the pending record is
deleted on condition that it still exists, and an archive copy with a TTL is put in the same
transaction). So:

- a process dying between `publish` and the mark publishes that event again on the next run
  (the published records of a shard are marked `mark_batch` at a time, default 10, so at most
  that many are published again);
- two relays reading the same shard may both publish an event, but only one of them marks it
  (the other's condition fails and it moves on): give parallel relays disjoint shards
  (`Outbox.shards_for(worker, workers)`) and duplicates only follow crashes;
- a `publish` that raises stops its shard for this run: nothing later in that shard overtakes
  the event, which is retried first on the next run. The other shards go on.

Consumers must therefore be idempotent (an event id, or a natural key, they remember).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .. import limits
from ..backends.actions import Delete, Meaning, Put
from ..backends.base import Backend, Cancelled, ConditionalCheckFailed
from ..errors import ValidationError
from ..model.keys import Key
from ..model.mapping import Mapping, Table
from ..model.marshal import Item, Wire
from ..query.planner import Plan, plan
from ..query.specification import NotExists, attr
from ..runtime.retry import DEFAULT_RETRY_POLICY, RetryPolicy
from ..validation import item_size
from .event_codec import EventCodec

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
        self._stamp_lock = threading.Lock()  # one outbox may serve units of work in threads

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
        with self._stamp_lock:
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


# ---------------------------------------------------------------------- the polling relay

# Ten records a transaction: a tenth of the requests (the relay's cost and its throughput),
# while a crash before the mark publishes again at most ten events.
DEFAULT_MARK_BATCH = 10


@dataclass(frozen=True)
class PublishFailure:
    """A shard stopped in the last run: the record whose `publish` (or decoding) raised."""

    shard: int
    message_id: str
    event_type: str
    error: BaseException


def as_backend(client_or_store: Any) -> Backend:
    """A `Backend` for a boto3 DynamoDB client, a `DynamoDBBackend` or an `InMemoryStore`."""
    if hasattr(client_or_store, "transact_write") and hasattr(client_or_store, "read"):
        backend: Backend = client_or_store
        return backend
    if hasattr(client_or_store, "transact_write_items"):
        # The messaging layer never imports a backend statically (the import-linter contract):
        # the DynamoDB backend is loaded by name only when a client is handed over.
        module = importlib.import_module("persistence.backends.dynamodb.backend")
        wrapped: Backend = module.DynamoDBBackend(client_or_store)
        return wrapped
    raise ValidationError(
        "OutboxRelay needs a boto3 DynamoDB client, a DynamoDBBackend or an InMemoryStore, got "
        f"{type(client_or_store).__name__}"
    )


class OutboxRelay:
    """Publishes an outbox's pending events, oldest first within each shard (so within each
    aggregate), and marks each one published after `publish` returned.

    Delivery is at least once (see the module's docstring): a crash between `publish` and the
    mark, or two relays on one shard, publish an event twice; a conditional write makes sure
    only one relay ever marks it. Run several relays at once by giving each its own shards:
    `relay.run_once(shards=outbox.shards_for(worker, workers))`.

    Args:
        outbox: the outbox to relay.
        client_or_store: a boto3 DynamoDB client, a `DynamoDBBackend` or an `InMemoryStore`.
        publish: called with each decoded event; raising means "not published, try again".
        retry_policy: how marking a record retries throttling and other transient errors.
        mark_batch: how many published records of a shard are marked in one transaction
            (default 10; at most 50, or 100 without retention). A crash publishes again at most
            that many events; 1 marks each record as soon as it is published.

    Attributes:
        items_read: the stored items the relay's Queries read so far (their ScannedCount):
            with delete-on-publish only pending records, never published history.
        failures: the shards the last `run_once` stopped, with the error.
    """

    def __init__(
        self,
        outbox: Outbox,
        client_or_store: Any,
        publish: Callable[[Any], None],
        *,
        retry_policy: RetryPolicy | None = None,
        mark_batch: int = DEFAULT_MARK_BATCH,
    ) -> None:
        self.outbox = outbox
        self.backend = as_backend(client_or_store)
        self.backend.register(outbox.table)
        self.publish = publish
        self.retry_policy = retry_policy or DEFAULT_RETRY_POLICY
        actions_per_record = 1 if outbox.retention is None else 2
        most = limits.MAX_TRANSACT_ACTIONS // actions_per_record
        if isinstance(mark_batch, bool) or not isinstance(mark_batch, int):
            raise ValidationError(f"mark_batch must be an int, got {mark_batch!r}")
        if not 1 <= mark_batch <= most:
            raise ValidationError(
                f"mark_batch must be from 1 to {most} (one transaction takes "
                f"{limits.MAX_TRANSACT_ACTIONS} actions, {actions_per_record} per record)"
            )
        self.mark_batch = mark_batch
        self.items_read = 0
        self.failures: list[PublishFailure] = []
        self._start = 0  # rotates, so a busy shard does not always take the whole limit
        self._stop: threading.Event | None = None  # set by `run`: stop after the event in hand

    def run_once(self, limit: int = 100, shards: Iterable[int] | None = None) -> int:
        """Publish at most `limit` pending events of `shards` (default: all the outbox's) and
        mark them; returns how many this relay marked (fewer than it published when another
        relay marked some first).

        The limit is shared fairly: each shard gets its part of what is left, in an order that
        rotates from one run to the next. A shard whose `publish` raised stops there for this
        run (listed in `failures`); the others go on.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(f"run_once limit must be an int >= 1, got {limit!r}")
        chosen = self._shards(shards)
        self.failures = []
        if chosen:
            at = self._start % len(chosen)
            chosen = chosen[at:] + chosen[:at]
            self._start += 1
        published = calls = 0  # marked by this relay; events handed to `publish`
        # Each shard gets its share of what is left; shards that filled their share may hold
        # more, and get what the others left over in another pass.
        active = chosen
        while active and calls < limit and not self._stopping():
            fuller = []
            for done, shard in enumerate(active):
                left = limit - calls
                if left <= 0 or self._stopping():
                    break
                quota = math.ceil(left / (len(active) - done))
                marked, handled = self._run_shard(shard, quota)
                published += marked
                calls += handled
                if handled == quota:
                    fuller.append(shard)
            active = fuller
        if published:
            log.info("outbox_relayed", extra={"events": published})
        return published

    def count(self, shards: Iterable[int] | None = None, *, published: bool = False) -> int:
        """How many records of `shards` (default: all) are pending — the backlog a stuck
        consumer leaves — or, with `published=True`, archived and not yet expired. Counted
        with strongly consistent `Select=COUNT` Queries of each shard's partition: the read
        cost is the records counted, nothing else."""
        prefix = self.outbox.archive_prefix if published else self.outbox.pending_prefix
        table = self.outbox.table
        total = 0
        for shard in self._shards(shards):
            read_plan = Plan(
                "Query",
                table.name,
                None,
                None,
                (attr(table.partition_key) == f"{prefix}{shard}",),
                None,
                None,
                False,
                True,
                None,
                table.key_attributes(),
            )
            start: dict[str, Wire] | None = None
            while True:
                page = self.backend.read(read_plan, limit=None, start_key=start, select_count=True)
                total += page.count
                start = page.last_key
                if start is None:
                    break
        return total

    def mark_published(self, images: Iterable[MappingABC[str, Any]]) -> int:
        """Mark records published elsewhere (e.g. by the stream handler, from the stream's
        images): each pending record of this outbox among `images` (wire items, or stream
        images with base64 B values) is deleted, and archived with a retention, in batches of
        `mark_batch`; anything else is ignored. Returns how many this call marked (a record
        already marked is not counted). Call it only after the events were published."""
        items = [
            {k: _lambda_value(v) for k, v in image.items()}
            for image in images
            if self.outbox.is_pending(image)
        ]
        marked = 0
        for at in range(0, len(items), self.mark_batch):
            marked += self._mark(items[at : at + self.mark_batch])
        return marked

    def run(
        self,
        stop: threading.Event,
        *,
        limit: int = 100,
        shards: Iterable[int] | None = None,
        idle_wait: float = 0.05,
        max_wait: float = 5.0,
    ) -> int:
        """Relay until `stop` is set: `run_once` in a loop, waiting `idle_wait` seconds after a
        run that published nothing and doubling up to `max_wait` while idle (a run that
        published something resets it). A run in progress always finishes, so the event in
        hand is published and marked before returning (the rest of the run is left for the
        next). Returns the number published."""
        chosen = self._shards(shards)
        total, wait = 0, idle_wait
        self._stop = stop
        try:
            while not stop.is_set():
                try:
                    count = self.run_once(limit, chosen)
                except Exception as error:  # DynamoDB unreachable, throttled...: wait, retry
                    log.warning("outbox_relay_error", extra={"error": type(error).__name__})
                    count = 0
                total += count
                if count and not self.failures:
                    wait = idle_wait
                    continue
                stop.wait(wait)
                wait = min(max_wait, wait * 2)
        finally:
            self._stop = None
        return total

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    # ------------------------------------------------------------------ one shard

    def _shards(self, shards: Iterable[int] | None) -> list[int]:
        if shards is None:
            return list(range(self.outbox.shards))
        out = list(shards)
        for shard in out:
            if isinstance(shard, bool) or not isinstance(shard, int):
                raise ValidationError(f"shards must be ints, got {shard!r}")
            if not 0 <= shard < self.outbox.shards:
                raise ValidationError(
                    f"shard {shard} is not one of this outbox's shards 0..{self.outbox.shards - 1}"
                )
        if len(set(out)) != len(out):
            raise ValidationError(f"shards lists a shard twice: {out}")
        return out

    def _pending(self, shard: int, quota: int) -> Iterable[Item]:
        """The shard's oldest pending records, at most `quota`, read with strongly consistent
        Queries of its pending partition (which holds nothing else)."""
        mapping = self.outbox.mapping
        read_plan = plan(mapping, attr("shard") == shard, consistent=True)
        start: dict[str, Wire] | None = None
        left = quota
        while left > 0:
            page = self.backend.read(read_plan, limit=left, start_key=start)
            self.items_read += page.scanned_count
            yield from page.items
            left -= len(page.items)
            start = page.last_key
            if start is None:
                return

    def _run_shard(self, shard: int, quota: int) -> tuple[int, int]:
        """Publish and mark up to `quota` of the shard's oldest records: (marked by this relay,
        handled without a failure or a stop). Published records are marked in batches of up
        to `mark_batch`, always before a failure or a stop ends the shard's run."""
        outbox = self.outbox
        marked = handled = 0
        batch: list[Item] = []
        for item in list(self._pending(shard, quota)):
            if self._stopping():
                break
            record: OutboxRecord = outbox.mapping.from_item(item)
            try:
                event = outbox.codec.decode(record.event_type, record.payload)
                self.publish(event)
            except Exception as error:
                # Later records of this shard must not overtake this one: stop the shard.
                self.failures.append(
                    PublishFailure(shard, record.message_id, record.event_type, error)
                )
                log.warning(
                    "outbox_publish_failed",
                    extra={
                        "shard": shard,
                        "event_type": record.event_type,
                        "error": type(error).__name__,
                    },
                )
                break
            handled += 1
            if batch and not self._fits(batch, item):
                marked += self._mark(batch)
                batch = []
            batch.append(item)
        if batch:
            marked += self._mark(batch)
        return marked, handled

    def _fits(self, batch: list[Item], item: Item) -> bool:
        if len(batch) >= self.mark_batch:
            return False
        # A transaction carries at most 4 MB of items: the archive copies are the Puts.
        size = sum(item_size(i) for i in batch) + item_size(item)
        return size + 4096 * (len(batch) + 1) <= limits.MAX_TRANSACT_BYTES

    def _mark(self, items: list[Item]) -> int:
        """Mark published records: delete each on condition it is still pending and, with a
        retention, put its archive copy, all in one transaction. When another relay marked one
        of them first (its condition failed, so nothing was written), they are marked one by
        one. Returns how many this relay marked."""
        now = datetime.now(UTC)
        actions: list[Delete | Put] = []
        for item in items:
            actions.extend(self._mark_actions(item, now))
        token = uuid.uuid4().hex  # the same for every retry: DynamoDB applies it once
        try:
            if len(actions) == 1:
                (delete,) = actions
                self.retry_policy.run(lambda: self.backend.write(delete))
            else:
                self.retry_policy.run(lambda: self.backend.transact_write(actions, token))
        except ConditionalCheckFailed:
            return 0  # another relay marked it first
        except Cancelled as cancelled:
            if not any(r.code == "ConditionalCheckFailed" for r in cancelled.reasons):
                raise
            if len(items) == 1:
                return 0  # another relay marked it first
            return sum(self._mark([item]) for item in items)
        return len(items)

    def _mark_actions(self, item: Item, now: datetime) -> list[Delete | Put]:
        outbox = self.outbox
        table = outbox.table
        key = {a: item[a] for a in table.key_attributes()}
        meaning_key = {"shard": item["shard"]["N"], "message_id": item["message_id"]["S"]}
        meaning = Meaning(outbox.mapping.name, meaning_key, "delete")
        delete = Delete(table.name, key, attr([table.partition_key]).exists(), meaning)
        if outbox.retention is None:
            return [delete]
        archive = outbox.archive_item(item, now)
        archive_key = {a: archive[a] for a in table.key_attributes()}
        put = Put(
            table.name,
            archive,
            NotExists((table.partition_key,)),
            Meaning(outbox.mapping.name, meaning_key, "outbox"),
            archive_key,
        )
        return [delete, put]
