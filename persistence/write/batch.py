"""BatchWriteItem without losing items: chunks of 25, retries, and an exact report.

Every request is validated before the first one is sent (nothing is written on bad input).
Each chunk gets `backoff.attempts` calls in all, the first included, with bounded exponential
backoff and full jitter between them (`persistence.retry.Backoff`): the library's one batch
retry loop, `runtime.retry.retry_unprocessed`, which the table copy uses too. A call is
retried for what DynamoDB left unprocessed, and for a failure that may pass
(`persistence.retry.is_transient`: throttling, 5xx, a connection error or timeout, once
botocore's own retries are spent). When a chunk is still not written
after its last attempt, the batch stops and raises `BatchIncomplete`, chained (`from`) to the
last error if there was one. `BatchIncomplete.unprocessed` lists, as the caller's own objects
(the aggregates given to `put_many`, the key dicts given to `delete_many`), that chunk's
requests not written followed by everything never sent: what was written and what is listed
are together exactly the input, and never overlap. (One caveat DynamoDB imposes: when the
connection drops after the server applied a call, the listed requests may have been written;
puts and deletes are idempotent, so writing them again is safe.)

A failure that will not pass (a refused request, a missing table, access denied) is not
retried. Before anything was written it propagates unchanged, as any AWS error does; once part
of the batch is written it raises `BatchIncomplete` as above, so the caller still learns what
is left.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from datetime import UTC, datetime
from typing import Any

from .. import limits
from ..backends.actions import Delete, Meaning, Put
from ..backends.base import Backend, BatchRequests
from ..errors import BatchIncomplete, ValidationError
from ..model.keyid import key_id
from ..model.mapping import Mapping
from ..records import frozen
from ..runtime.retry import Backoff, error_code, is_transient, retry_unprocessed_steps
from ..runtime.steps import Call, Steps, run_sync
from .stamps import checked_item, new_item_assign

# The logger keeps the name it had before the modules moved into layers (docs/api.md).
log = logging.getLogger("persistence.batch")

Progress = Callable[[int, int], None]


@frozen
class Request:
    """One write of a batch and what the caller knows it by (an aggregate or a key dict)."""

    action: Put | Delete
    origin: Any

    def __init__(self, action: Put | Delete, origin: Any) -> None:
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "origin", origin)


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
    origins of everything not written when a chunk cannot be written (see the module's doc)."""
    run_sync(backend, write_batch_steps(table, requests, backoff=backoff, progress=progress))


def write_batch_steps(
    table: str,
    requests: Sequence[Request],
    *,
    backoff: Backoff,
    progress: Progress | None = None,
) -> Steps[None]:
    """`write_batch` for the sans-I/O core (`runtime.steps`)."""
    total = len(requests)
    written = [0]

    def on_written(n: int) -> None:
        written[0] += n
        if n and progress is not None:
            progress(written[0], total)

    for start in range(0, total, limits.MAX_BATCH_WRITE):
        chunk = list(requests[start : start + limits.MAX_BATCH_WRITE])
        left, error = yield from _write_chunk(table, chunk, backoff, on_written)
        if not left:
            continue
        if error is not None and not is_transient(error) and written[0] == 0:
            raise error
        never_sent = requests[start + len(chunk) :]
        why = (
            f"still unprocessed after {backoff.attempts} attempts"
            if error is None
            else f"not written: the last attempt failed with {error_code(error)}"
        )
        raise BatchIncomplete(
            f"BatchWriteItem on {table!r}: {len(left)} requests {why}, and {len(never_sent)} "
            f"not sent; {written[0]} of {total} were written. `unprocessed` lists the others; "
            "retry them later (throttling: raise capacity or slow down)",
            [r.origin for r in left] + [r.origin for r in never_sent],
        ) from error


def _write_chunk(
    table: str,
    chunk: list[Request],
    backoff: Backoff,
    on_written: Callable[[int], None],
) -> Steps[tuple[list[Request], Exception | None]]:
    """Write one chunk through the library's one batch retry loop
    (`runtime.retry.retry_unprocessed`); returns the requests never written, and the error of
    the last attempt if it failed."""

    def send(pending: list[Request]) -> Steps[list[Request]]:
        by_action = {id(r.action): r for r in pending}
        result: BatchRequests = yield Call("batch_write", {table: [r.action for r in pending]})
        unprocessed = result.get(table, [])
        left = [by_action[id(a)] for a in unprocessed if id(a) in by_action]
        if len(left) != len(unprocessed):
            raise AssertionError("the backend returned requests that were not sent")
        return left

    def on_retry(attempt: int, pending: int, error: BaseException | None) -> None:
        if error is not None:
            log.debug(
                "batch_write_error",
                extra={"table": table, "error": error_code(error), "attempt": attempt},
            )
        else:
            log.debug(
                "batch_write_retry",
                extra={"table": table, "unprocessed": pending, "attempt": attempt},
            )

    return (
        yield from retry_unprocessed_steps(
            send, chunk, backoff, on_written=on_written, on_retry=on_retry
        )
    )


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
    """`put_many`: validated Puts in chunks of 25 (see the module's doc)."""
    run_sync(backend, put_all_steps(mapping, aggregates, backoff=backoff, progress=progress))


def put_all_steps(
    mapping: Mapping[Any],
    aggregates: Iterable[Any],
    *,
    backoff: Backoff,
    progress: Progress | None,
) -> Steps[None]:
    """`put_all` for the sans-I/O core (`runtime.steps`)."""
    requests = put_requests(mapping, aggregates, datetime.now(UTC))
    check_unique(requests, f"{mapping.name} put_many")
    try:
        yield from write_batch_steps(
            mapping.table.name, requests, backoff=backoff, progress=progress
        )
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
    run_sync(backend, delete_all_steps(mapping, keys, backoff=backoff, progress=progress))


def delete_all_steps(
    mapping: Mapping[Any],
    keys: Iterable[MappingABC[str, Any]],
    *,
    backoff: Backoff,
    progress: Progress | None,
) -> Steps[None]:
    """`delete_all` for the sans-I/O core (`runtime.steps`)."""
    requests = []
    for fields in keys:
        key = mapping.key_from_fields(fields)
        meaning = Meaning(mapping.name, dict(fields), "delete")
        requests.append(Request(Delete(mapping.table.name, key, None, meaning), fields))
    check_unique(requests, f"{mapping.name} delete_many")
    yield from write_batch_steps(mapping.table.name, requests, backoff=backoff, progress=progress)
