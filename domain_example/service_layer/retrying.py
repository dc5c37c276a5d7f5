"""Rerunning a unit of work that lost an optimistic-locking race, and counting how often."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import persistence as p
from persistence import aio
from persistence.retry import Backoff, retry_on_conflict

T = TypeVar("T")


class ConflictRetry:
    """Runs a whole unit of work through `retry_on_conflict`; shared by every handler.

    `conflicts` counts retries (for the demo summary and metrics); `gave_up` counts work that
    still conflicted after the last attempt (the error then reaches the caller as a 409).
    """

    def __init__(self, attempts: int = 8, backoff: Backoff | None = None) -> None:
        self.attempts = attempts
        self.backoff = backoff or Backoff(attempts=attempts, base=0.01, cap=0.25)
        self._lock = threading.Lock()
        self.conflicts = 0
        self.gave_up = 0

    def __call__(self, work: Callable[[], T]) -> T:
        try:
            return retry_on_conflict(
                work, attempts=self.attempts, backoff=self.backoff, on_retry=self._count
            )
        except (p.ConcurrencyConflict, p.TransactionCanceled):
            with self._lock:
                self.gave_up += 1
            raise

    async def run_async(self, work: Callable[[], Awaitable[T]]) -> T:
        """`self(work)` for async work (`persistence.aio.retry_on_conflict`, waiting with
        `asyncio.sleep`): the same attempts, backoff and counters."""
        try:
            return await aio.retry_on_conflict(
                work, attempts=self.attempts, backoff=self.backoff, on_retry=self._count
            )
        except (p.ConcurrencyConflict, p.TransactionCanceled):
            with self._lock:
                self.gave_up += 1
            raise

    def _count(self, attempt: int, error: Exception) -> None:
        with self._lock:
            self.conflicts += 1
