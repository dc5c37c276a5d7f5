"""`retry_on_conflict` for asyncio: the synchronous library's loop, awaited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..runtime.retry import Backoff, retry_on_conflict_steps
from .driver import run_async

T = TypeVar("T")

__all__ = ["retry_on_conflict"]


async def retry_on_conflict(
    fn: Callable[[], Awaitable[T]],
    *,
    attempts: int = 5,
    backoff: Backoff | None = None,
    on_retry: Callable[[int, Exception], None] | None = None,
) -> T:
    """Await `fn()` (a whole unit of work: load, change, commit) again when it loses a race;
    the waits are `asyncio.sleep`. Only ConcurrencyConflict and retryable TransactionCanceled
    are retried; `fn` must reload what it changes. The last error propagates (see
    `persistence.retry_on_conflict`)."""
    steps = retry_on_conflict_steps(fn, attempts=attempts, backoff=backoff, on_retry=on_retry)
    result: T = await run_async(None, steps)
    return result
