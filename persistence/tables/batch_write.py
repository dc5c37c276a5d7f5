"""BatchWriteItem of raw items: chunks of at most 25, retries, and an exact report."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .. import limits
from ..errors import BatchIncomplete, ValidationError
from ..model.keyid import key_id
from ..model.marshal.wire import Item
from ..runtime.retry import Backoff, error_code, is_transient, retry_unprocessed
from .schema import Client

BATCH_WRITE_LIMIT = limits.MAX_BATCH_WRITE  # the old public name of the limit


def batch_chunks(items: Sequence[Item], key_attrs: tuple[str, ...]) -> Iterator[list[Item]]:
    # BatchWriteItem refuses two requests for one key in a call; a transform may produce that,
    # so a repeated key starts a new chunk and the later item still wins.
    chunk: list[Item] = []
    keys: set[tuple[Any, ...]] = set()
    for item in items:
        # The library's one key identity: {"N": "1"} and {"N": "1.0"} are one key to DynamoDB.
        key = key_id({a: item[a] for a in key_attrs if a in item})
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
    bounded exponential backoff and full jitter: `backoff.attempts` calls in all, the first
    included, through the same retry loop as `put_many` (`runtime.retry.retry_unprocessed`).

    When items are still not written after that, BatchIncomplete (chained to the last error,
    if any) lists them in `unprocessed` as raw items: the caller's own for a failed call, as
    DynamoDB echoed them for UnprocessedItems. The others were written. A failure that will not
    pass (a refused request, a missing table) is not retried; it propagates unchanged when
    nothing was written yet, and as BatchIncomplete otherwise."""
    if len(items) > limits.MAX_BATCH_WRITE:
        raise ValidationError(
            f"BatchWriteItem takes at most {limits.MAX_BATCH_WRITE} items, got {len(items)}"
        )
    sends = 0

    def send(pending: list[Item]) -> list[Item]:
        nonlocal sends
        sends += 1
        requests = [{"PutRequest": {"Item": item}} for item in pending]
        response = client.batch_write_item(RequestItems={table: requests})
        left = (response.get("UnprocessedItems") or {}).get(table, [])
        return [entry["PutRequest"]["Item"] for entry in left]

    pending, error = retry_unprocessed(send, list(items), backoff or Backoff())
    if not pending:
        return
    if error is not None and not is_transient(error) and len(pending) == len(items):
        raise error
    why = "the last attempt failed with " + error_code(error) if error else "the table is throttled"
    raise BatchIncomplete(
        f"{len(pending)} of {len(items)} item(s) were not written by BatchWriteItem on "
        f"{table!r} after {sends} attempt(s) ({why}): raise the table's write capacity and "
        "rerun (a copy with a checkpoint resumes)",
        pending,
    ) from error
