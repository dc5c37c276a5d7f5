"""Idempotent commands: a retried request never moves money twice.

The record of the first answer is added in the same transaction as the money movement, with
`attribute_not_exists` on its key. So either both are written or neither, and of two concurrent
copies of one request exactly one commits; the other fails on the record (AlreadyExists) or on
an account version, reruns, finds the record and returns its answer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import persistence as p
from persistence import aio

from ..domain.errors import IdempotencyKeyReused
from ..domain.model import IdempotencyRecord


def scoped_key(command: Any) -> str | None:
    request_id: str | None = getattr(command, "request_id", None)
    if not request_id:
        return None
    return f"{type(command).__name__}#{request_id}"


def fingerprint(command: Any) -> str:
    """A digest of what the request asks for (without its request id)."""
    fields = {k: str(v) for k, v in dataclasses.asdict(command).items() if k != "request_id"}
    payload = json.dumps([type(command).__name__, fields], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def replay(uow: p.UnitOfWork, command: Any) -> dict[str, str] | None:
    """The stored answer when this request was already handled, else None."""
    key = scoped_key(command)
    if key is None:
        return None
    return answer_of(uow.repository(IdempotencyRecord).find_one(p.attr("key") == key), command)


async def replay_async(uow: aio.UnitOfWork, command: Any) -> dict[str, str] | None:
    """`replay` on an async unit of work."""
    key = scoped_key(command)
    if key is None:
        return None
    found = await uow.repository(IdempotencyRecord).find_one(p.attr("key") == key)
    return answer_of(found, command)


def answer_of(record: IdempotencyRecord | None, command: Any) -> dict[str, str] | None:
    """The answer `record` remembers for `command`; a key reused for another request is a 409."""
    if record is None:
        return None
    if record.fingerprint != fingerprint(command):
        raise IdempotencyKeyReused(
            f"request id {command.request_id!r} was used for a different {record.command}"
        )
    return dict(record.response)


def remember(
    uow: p.UnitOfWork | aio.UnitOfWork, command: Any, response: dict[str, str], now: datetime
) -> None:
    """Add the record to this unit of work; it commits with the money movement."""
    key = scoped_key(command)
    if key is None:
        return
    record = IdempotencyRecord.remember(
        key, type(command).__name__, fingerprint(command), response, now
    )
    uow.repository(IdempotencyRecord).add(record)


def once(work: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Run `work`; if a concurrent copy of the request committed first, run it again to replay.

    The rerun finds the record and returns the first answer without touching any account.
    """
    try:
        return work()
    except p.AlreadyExists as exc:
        if exc.aggregate_type != IdempotencyRecord.__name__:
            raise
        return work()


async def once_async(work: Callable[[], Awaitable[dict[str, str]]]) -> dict[str, str]:
    """`once` for async work."""
    try:
        return await work()
    except p.AlreadyExists as exc:
        if exc.aggregate_type != IdempotencyRecord.__name__:
            raise
        return await work()
