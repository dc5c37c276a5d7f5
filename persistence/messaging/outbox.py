"""Transactional outbox: events written in the same transaction as the change that raised them.

A unit of work with an Outbox adds one Put per event to its TransactWriteItems (they count toward
the 100 actions). A relay later publishes pending records in creation order and marks each one
done, so an event is never lost when the process dies right after the commit: delivery is at
least once, and a record is marked done only after its publish returned.
"""

from __future__ import annotations

import base64
import logging
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..backends.actions import Meaning, Put
from ..backends.base import Backend
from ..model.keys import Key
from ..model.mapping import Mapping, Table
from ..query.specification import NotExists, attr
from ..session.unit_of_work import UnitOfWork
from .event_codec import EventCodec

# The logger keeps the name it had before the modules moved into layers (docs/api.md).
log = logging.getLogger("persistence.outbox")

PENDING = "pending"
DONE = "done"


@dataclass
class OutboxRecord:
    """One stored event of the outbox: when and as what it was raised, its encoded payload,
    and whether a relay published it (`status` "pending" or "done").
    """

    created_at: str
    message_id: str
    event_type: str
    payload: str
    status: str = PENDING
    published_at: str | None = None
    expires_at: datetime | None = None


class Outbox:
    """Where outbox records live: a table of the application (single-table friendly).

    Give it to a unit of work (`DynamoDBUnitOfWork(client, mappings, outbox=outbox)`): each
    commit then writes its events as outbox records in the same transaction.

    Args:
        table: the table to store records in.
        event_types: the event dataclasses that may be written (and decoded by a relay).
        retention: how long a published record is kept, when the table's TTL attribute is
            "expires_at".
        type_name: the records' type attribute value.
    """

    def __init__(
        self,
        table: Table,
        *,
        event_types: Iterable[type] = (),
        retention: timedelta = timedelta(days=7),
        type_name: str = "OutboxRecord",
    ) -> None:
        self.table = table
        self.codec = EventCodec(event_types)
        self.retention = retention
        if table.sort_key is not None:
            key = Key(pk="OUTBOX", sk="{created_at}#{message_id}")
        else:
            key = Key(pk="OUTBOX#{created_at}#{message_id}")
        self.mapping: Mapping[OutboxRecord] = Mapping(
            OutboxRecord,
            table,
            key=key,
            ttl="expires_at" if table.ttl_attribute == "expires_at" else None,
            events=None,
            type_name=type_name,
        )

    def actions(self, events: Sequence[Any], now: datetime) -> list[Put]:
        """One Put per event, for the commit that raised them (the unit of work calls this);
        the events of one commit keep the order they were raised in.
        """
        out = []
        stamp = now.astimezone(UTC).isoformat()
        for position, event in enumerate(events):
            name, payload = self.codec.encode(event)
            # The position keeps the events of one commit in the order they were raised.
            record = OutboxRecord(stamp, f"{position:05d}-{uuid.uuid4().hex}", name, payload)
            key_fields = {"created_at": stamp, "message_id": record.message_id}
            out.append(
                Put(
                    self.table.name,
                    self.mapping.to_item(record),
                    NotExists((self.table.partition_key,)),
                    Meaning(self.mapping.name, key_fields, "outbox"),
                    self.mapping.key_of(record),
                )
            )
        return out

    # --- streams helper's minimal event_from_image (issue 16 item 3) -------------------------
    # The outbox helper is adding the real `Outbox.event_from_image`: at merge keep THEIR
    # version and drop this one and `_lambda_value` below (persistence/messaging/streams.py
    # only calls the method).
    def event_from_image(self, image: dict[str, Any]) -> Any | None:
        """The event a stream image holds when it is a pending record of this outbox, else None.

        `image` is a stream record's `NewImage` as Lambda delivers it (B values as base64 text).
        A record of this outbox whose event type the codec does not know raises: it must never
        be skipped silently.
        """
        if image.get(self.table.type_attribute) != {"S": self.mapping.type_name}:
            return None
        record = self.mapping.from_item({k: _lambda_value(v) for k, v in image.items()})
        if record.status != PENDING:
            return None
        return self.codec.decode(record.event_type, record.payload)

    # --- end of the streams helper's block ---------------------------------------------------

    def relay(self, backend: Backend, publish: Callable[[Any], None]) -> OutboxRelay:
        """An `OutboxRelay` publishing this outbox's pending events from `backend`."""
        return OutboxRelay(self, backend, publish)


class OutboxRelay:
    """Publishes an outbox's pending events and marks each one done after `publish`
    returned: delivery is at least once, in creation order.

    Args:
        outbox: the outbox to relay.
        backend: the store holding it (`DynamoDBBackend`, `InMemoryStore`).
        publish: called with each decoded event; raising means "not published, try again".
    """

    def __init__(self, outbox: Outbox, backend: Backend, publish: Callable[[Any], None]) -> None:
        self.outbox = outbox
        self.backend = backend
        self.publish = publish

    def run_once(self, limit: int = 100) -> int:
        """Publish up to `limit` pending events, oldest first; returns how many were published."""
        # Cursors never leave this loop, so a throwaway key is right (and warns nobody).
        uow = UnitOfWork(self.backend, [self.outbox.mapping], cursor_secret=secrets.token_bytes(32))
        published = 0
        with uow:
            repo = uow.repository(OutboxRecord)
            pending = []
            for record in repo.iterate(attr("status") == PENDING, consistent=True):
                pending.append(record)
                if len(pending) >= limit:
                    break
        for record in pending:
            event = self.outbox.codec.decode(record.event_type, record.payload)
            self.publish(event)
            with uow:
                stored = uow.repository(OutboxRecord).get(
                    created_at=record.created_at, message_id=record.message_id, consistent=True
                )
                if stored.status != PENDING:
                    continue  # another relay got there first
                now = datetime.now(UTC)
                stored.status = DONE
                stored.published_at = now.isoformat()
                if self.outbox.mapping.ttl:
                    stored.expires_at = now + self.outbox.retention
                key = {"created_at": record.created_at, "message_id": record.message_id}
                uow.check(OutboxRecord, key, attr("status") == PENDING)
                uow.commit()
            published += 1
        if published:
            log.info("outbox_relayed", extra={"events": published})
        return published


# --- streams helper's block (see Outbox.event_from_image) ------------------------------------
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


# --- end of the streams helper's block -------------------------------------------------------
