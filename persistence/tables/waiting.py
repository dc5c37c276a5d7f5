"""Waiting for a table or index to settle: hand-written polling with injectable `timeout`,
`poll_interval` and `sleep`, ending in a clear TableError instead of hanging.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import TableError, ValidationError
from ..model.mapping import Table
from .live import raw_describe
from .schema import Client, table_name_of

Sleep = Callable[[float], None]


DEFAULT_TIMEOUT = 900.0  # a GSI backfill on a large table takes minutes, not seconds
DEFAULT_POLL_INTERVAL = 2.0
MAX_POLL_INTERVAL = 20.0  # the interval botocore's own table waiters use


@dataclass(frozen=True)
class Waiter:
    timeout: float
    interval: float
    sleep: Sleep

    def until(self, what: str, done: Callable[[], bool]) -> None:
        # Time is counted both by the clock and by what was slept, so a stubbed `sleep` still
        # reaches the timeout and a slow DescribeTable cannot stretch it.
        start, slept, delay = time.monotonic(), 0.0, self.interval
        while not done():
            elapsed = max(slept, time.monotonic() - start)
            if elapsed >= self.timeout:
                raise TableError(
                    f"timed out after {self.timeout:g}s waiting for {what}; the operation may "
                    "still complete in AWS: check with `describe`, then rerun (or raise the "
                    "timeout)"
                )
            pause = max(min(delay, self.timeout - elapsed), 0.0)
            self.sleep(pause)
            slept += pause
            delay = min(delay * 1.5, max(self.interval, MAX_POLL_INTERVAL))


def new_waiter(timeout: float, poll_interval: float, sleep: Sleep) -> Waiter:
    if timeout < 0 or poll_interval <= 0:
        raise ValidationError("timeout must be >= 0 and poll_interval > 0")
    return Waiter(timeout, poll_interval, sleep)


def is_active(raw: dict[str, Any] | None, gone_index: str | None = None) -> bool:
    if raw is None or raw.get("TableStatus") != "ACTIVE":
        return False
    for gsi in raw.get("GlobalSecondaryIndexes") or []:
        if gsi["IndexName"] == gone_index or gsi.get("IndexStatus", "ACTIVE") != "ACTIVE":
            return False
    return True


def wait_for_active(
    client: Client,
    table: Table | str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    sleep: Sleep = time.sleep,
) -> None:
    """Wait until the table and every global index are ACTIVE (TableError on timeout)."""
    name = table_name_of(table)
    waiter = new_waiter(timeout, poll_interval, sleep)
    waiter.until(f"table {name!r} to become ACTIVE", lambda: is_active(raw_describe(client, name)))
