"""BatchWriteItem without losing items: chunks of 25, retries of UnprocessedItems, a full report.

Every request is validated before the first one is sent (nothing is written on bad input).
Unprocessed requests are retried with bounded exponential backoff and full jitter; what is still
unprocessed after the last attempt, together with what was never sent, is reported in
`BatchIncomplete.unprocessed` (the caller's own objects: aggregates or key dicts), so a batch
never silently drops an item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import limits
from .actions import Delete, Meaning, Put
from .backend import Backend
from .errors import BatchIncomplete, ValidationError
from .keyid import key_id
from .logs import get_logger
from .mapping import Mapping
from .retry import Backoff
from .unit_of_work import checked_item, new_item_assign

log = get_logger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Request:
    """One write of a batch and what the caller knows it by (an aggregate or a key dict)."""

    action: Put | Delete
    origin: Any


def check_unique(requests: Sequence[Request], what: str) -> None:
    """DynamoDB refuses a BatchWriteItem naming one key twice; across chunks the outcome would
    depend on retry order, so one key appears at most once in the whole batch."""
    seen: dict[tuple[Any, ...], Any] = {}
    for request in requests:
        ident = key_id(request.action.key)
        if ident in seen:
            raise ValidationError(
                f"{what}: the key {request.action.meaning.key} appears twice in one batch; "
                "DynamoDB refuses duplicate keys in a BatchWriteItem: de-duplicate the input"
            )
        seen[ident] = request.origin


def write_batch(
    backend: Backend,
    table: str,
    requests: Sequence[Request],
    *,
    backoff: Backoff,
    progress: Progress | None = None,
) -> None:
    """Send `requests` (already validated) in chunks of 25; raise BatchIncomplete with the
    origins of everything not written when a chunk stays unprocessed after the last attempt."""
    total = len(requests)
    written = [0]

    def on_written(n: int) -> None:
        written[0] += n
        if n and progress is not None:
            progress(written[0], total)

    for start in range(0, total, limits.MAX_BATCH_WRITE):
        chunk = list(requests[start : start + limits.MAX_BATCH_WRITE])
        left = _write_chunk(backend, table, chunk, backoff, on_written)
        if left:
            never_sent = requests[start + len(chunk) :]
            raise BatchIncomplete(
                f"BatchWriteItem on {table!r}: {len(left)} requests still unprocessed after "
                f"{backoff.attempts} attempts and {len(never_sent)} not sent; {written[0]} of "
                f"{total} were written. Retry the listed ones later (throttling: raise capacity "
                "or slow down)",
                [r.origin for r in left] + [r.origin for r in never_sent],
            )


def _write_chunk(
    backend: Backend,
    table: str,
    chunk: list[Request],
    backoff: Backoff,
    on_written: Callable[[int], None],
) -> list[Request]:
    """Write one chunk, retrying its unprocessed requests; returns those never written."""
    pending = chunk
    for attempt in range(backoff.attempts):
        if attempt:
            backoff.wait(attempt - 1)
        by_action = {id(r.action): r for r in pending}
        unprocessed = backend.batch_write({table: [r.action for r in pending]}).get(table, [])
        left = [by_action[id(a)] for a in unprocessed if id(a) in by_action]
        if len(left) != len(unprocessed):
            raise AssertionError("the backend returned requests that were not sent")
        on_written(len(pending) - len(left))
        if not left:
            return []
        log.debug("batch_write_retry", table=table, unprocessed=len(left), attempt=attempt)
        pending = left
    return pending


def put_requests(mapping: Mapping[Any], aggregates: Iterable[Any], now: datetime) -> list[Request]:
    """Validated Puts, stamped like an add (created_at when missing, updated_at, version + 1).

    BatchWriteItem takes no conditions, so these replace whatever is stored under the key.
    """
    requests: list[Request] = []
    for aggregate in aggregates:
        assign = new_item_assign(mapping, aggregate, now)
        item = checked_item(mapping, aggregate, assign)
        key = {a: item[a] for a in mapping.table.key_attributes()}
        meaning = Meaning(mapping.name, mapping.key_fields_of(aggregate), "put")
        requests.append(
            Request(Put(mapping.table.name, item, None, meaning, key), (aggregate, assign))
        )
    return requests


def put_all(
    backend: Backend,
    mapping: Mapping[Any],
    aggregates: Iterable[Any],
    *,
    backoff: Backoff,
    progress: Progress | None,
) -> None:
    requests = put_requests(mapping, aggregates, datetime.now(UTC))
    check_unique(requests, f"{mapping.name} put_many")
    try:
        write_batch(backend, mapping.table.name, requests, backoff=backoff, progress=progress)
    except BatchIncomplete as incomplete:
        failed = {id(origin) for origin in incomplete.unprocessed}
        _assign([r for r in requests if id(r.origin) not in failed])
        incomplete.unprocessed[:] = [aggregate for aggregate, _ in incomplete.unprocessed]
        raise
    _assign(requests)


def _assign(requests: Sequence[Request]) -> None:
    """What was stored is now true of the objects (only of those written)."""
    for request in requests:
        aggregate, assign = request.origin
        for name, value in assign.items():
            object.__setattr__(aggregate, name, value)


def delete_all(
    backend: Backend,
    mapping: Mapping[Any],
    keys: Iterable[MappingABC[str, Any]],
    *,
    backoff: Backoff,
    progress: Progress | None,
) -> None:
    """Hard deletes by key fields (no conditions: BatchWriteItem takes none)."""
    requests = []
    for fields in keys:
        key = mapping.key_from_fields(fields)
        meaning = Meaning(mapping.name, dict(fields), "delete")
        requests.append(Request(Delete(mapping.table.name, key, None, meaning), fields))
    check_unique(requests, f"{mapping.name} delete_many")
    write_batch(backend, mapping.table.name, requests, backoff=backoff, progress=progress)
