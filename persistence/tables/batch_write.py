"""BatchWriteItem of raw items: chunks of at most 25 and retries of unprocessed items."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import BatchIncomplete, ValidationError
from ..retry import Backoff
from .schema import Client

Item = dict[str, Any]


BATCH_WRITE_LIMIT = 25  # BatchWriteItem: at most 25 put/delete requests per call


def _chunks(items: Sequence[Item], key_attrs: tuple[str, ...]) -> Iterator[list[Item]]:
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
    """Put up to 25 raw items with one BatchWriteItem, retrying UnprocessedItems with bounded
    exponential backoff and full jitter; BatchIncomplete lists what still failed."""
    if len(items) > BATCH_WRITE_LIMIT:
        raise ValidationError(
            f"BatchWriteItem takes at most {BATCH_WRITE_LIMIT} items, got {len(items)}"
        )
    backoff = backoff or Backoff()
    requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in items]
    for attempt in range(backoff.attempts + 1):
        response = client.batch_write_item(RequestItems={table: requests})
        requests = (response.get("UnprocessedItems") or {}).get(table, [])
        if not requests:
            return
        if attempt < backoff.attempts:
            backoff.wait(attempt)
    raise BatchIncomplete(
        f"{len(requests)} of {len(items)} item(s) were still unprocessed by BatchWriteItem on "
        f"{table!r} after {backoff.attempts} retries: the table is throttled; raise its write "
        "capacity and rerun (a copy with a checkpoint resumes)",
        requests,
    )
