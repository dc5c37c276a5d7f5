"""BatchWriteItem of raw items: chunks of at most 25, retries, and an exact report."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from ..errors import BatchIncomplete, ValidationError
from ..model.marshal.wire import Item
from ..runtime.retry import Backoff, error_code, is_transient
from .schema import Client

BATCH_WRITE_LIMIT = 25  # BatchWriteItem: at most 25 put/delete requests per call


def batch_chunks(items: Sequence[Item], key_attrs: tuple[str, ...]) -> Iterator[list[Item]]:
    # BatchWriteItem refuses two requests for one key in a call; a transform may produce that,
    # so a repeated key starts a new chunk and the later item still wins.
    chunk: list[Item] = []
    keys: set[str] = set()
    for item in items:
        key = json.dumps([item.get(a) for a in key_attrs], sort_keys=True, default=repr)
        if len(chunk) == BATCH_WRITE_LIMIT or key in keys:
            yield chunk
            chunk, keys = [], set()
        chunk.append(item)
        keys.add(key)
    if chunk:
        yield chunk


def write_batch(
    client: Client, table: str, items: Sequence[Item], *, backoff: Backoff | None = None
) -> None:
    """Put up to 25 raw items with one BatchWriteItem, retrying UnprocessedItems and transient
    failures (throttling, 5xx, connection errors: `persistence.retry.is_transient`) with
    bounded exponential backoff and full jitter: the first call and `backoff.attempts` retries.

    When items are still not written after that, BatchIncomplete (chained to the last error,
    if any) lists them in `unprocessed` as raw items: the caller's own for a failed call, as
    DynamoDB echoed them for UnprocessedItems. The others were written. A failure that will not
    pass (a refused request, a missing table) is not retried; it propagates unchanged when
    nothing was written yet, and as BatchIncomplete otherwise."""
    if len(items) > BATCH_WRITE_LIMIT:
        raise ValidationError(
            f"BatchWriteItem takes at most {BATCH_WRITE_LIMIT} items, got {len(items)}"
        )
    backoff = backoff or Backoff()
    pending: list[Item] = list(items)
    error: Exception | None = None
    for attempt in range(backoff.attempts + 1):
        if attempt:
            backoff.wait(attempt - 1)
        requests = [{"PutRequest": {"Item": item}} for item in pending]
        try:
            response = client.batch_write_item(RequestItems={table: requests})
        except Exception as exc:  # a client's errors vary; only transient ones are retried
            error = exc
            if is_transient(exc):
                continue
            if len(pending) == len(items):
                raise
            break
        error = None
        left = (response.get("UnprocessedItems") or {}).get(table, [])
        pending = [entry["PutRequest"]["Item"] for entry in left]
        if not pending:
            return
    why = "the last attempt failed with " + error_code(error) if error else "the table is throttled"
    raise BatchIncomplete(
        f"{len(pending)} of {len(items)} item(s) were not written by BatchWriteItem on "
        f"{table!r} after {attempt} retries ({why}): raise the table's write capacity and "
        "rerun (a copy with a checkpoint resumes)",
        pending,
    ) from error
