"""Bounded exponential backoff with full jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    attempts: int = 8
    base: float = 0.05
    cap: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform between 0 and min(cap, base * 2**attempt)."""
        return random.uniform(0, min(self.cap, self.base * (2**attempt)))

    def wait(self, attempt: int) -> None:
        self.sleep(self.delay(attempt))


def retry_on_conflict(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    backoff: Backoff | None = None,
    on_retry: Callable[[int, Exception], None] | None = None,
) -> T:
    """Run `fn` (a whole unit of work: load, change, commit) again when it loses a race.

    Only ConcurrencyConflict and retryable TransactionCanceled are retried; `fn` must reload what
    it changes, so a retry never re-applies a stale version. The last error propagates.
    """
    from .errors import ConcurrencyConflict, TransactionCanceled

    policy = backoff or Backoff(attempts=attempts)
    for attempt in range(attempts):
        try:
            return fn()
        except (ConcurrencyConflict, TransactionCanceled) as exc:
            retryable = isinstance(exc, ConcurrencyConflict) or exc.retryable
            if not retryable or attempt == attempts - 1:
                raise
            if on_retry is not None:
                on_retry(attempt + 1, exc)
            policy.wait(attempt)
    raise AssertionError("unreachable")  # pragma: no cover
