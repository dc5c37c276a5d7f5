"""Bounded exponential backoff with full jitter."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import field
from typing import Any, Protocol, TypeVar

from ..limits import TOKEN_WINDOW_SECONDS as TOKEN_WINDOW_SECONDS
from ..records import frozen
from .steps import Invoke, Sleep, Steps, no_steps, run_sync

T = TypeVar("T")


def full_jitter(attempt: int, base: float, cap: float) -> float:
    """The wait after failed attempt number `attempt` (0 for the first): uniform between 0 and
    min(cap, base * 2**attempt) seconds. `Backoff` and `RetryPolicy` both wait this long."""
    return random.uniform(0, min(cap, base * (2**attempt)))


@frozen
class Backoff:
    """Bounded exponential backoff with full jitter: attempt n waits a random time between 0
    and min(cap, base * 2**n) seconds.

    Args:
        attempts: how many attempts in all (the first included).
        base: the first wait's upper bound, in seconds.
        cap: the largest wait, in seconds.
        sleep: how to wait (replace it in tests).
    """

    attempts: int = 8
    base: float = 0.05
    cap: float = 2.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def __init__(
        self,
        attempts: int = 8,
        base: float = 0.05,
        cap: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        object.__setattr__(self, "attempts", attempts)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "cap", cap)
        object.__setattr__(self, "sleep", sleep)

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform between 0 and min(cap, base * 2**attempt) (`full_jitter`)."""
        return full_jitter(attempt, self.base, self.cap)

    def wait(self, attempt: int) -> None:
        """Sleep `delay(attempt)` seconds."""
        self.sleep(self.delay(attempt))


R = TypeVar("R")


def retry_unprocessed(
    send: Callable[[list[R]], list[R]],
    requests: list[R],
    backoff: Backoff,
    *,
    on_written: Callable[[int], None] | None = None,
    on_retry: Callable[[int, int, BaseException | None], None] | None = None,
) -> tuple[list[R], Exception | None]:
    """The one retry loop of batch writes (`put_many`, `delete_many`, the table copy).

    `send` makes one call with the requests still pending and returns those it left
    unprocessed. The pending requests are sent again after what is unprocessed and after a
    failure that may pass (`is_transient`), waiting `backoff` between sends, until none is left
    or `backoff.attempts` sends were made: attempts count every send, the first included, as
    everywhere in the library. A failure that will not pass ends the loop at once. Returns the
    requests never written and the error of the last send (None if it answered).
    `on_written(n)` hears how many a send wrote; `on_retry(attempt, pending, error)` hears about
    every send that left work (attempt counts from 0; error None for unprocessed requests)."""

    def send_steps(pending: list[R]) -> Steps[list[R]]:
        return no_steps(send(pending))

    return run_sync(
        None,
        retry_unprocessed_steps(
            send_steps, requests, backoff, on_written=on_written, on_retry=on_retry
        ),
    )


def retry_unprocessed_steps(
    send: Callable[[list[R]], Steps[list[R]]],
    requests: list[R],
    backoff: Backoff,
    *,
    on_written: Callable[[int], None] | None = None,
    on_retry: Callable[[int, int, BaseException | None], None] | None = None,
) -> Steps[tuple[list[R], Exception | None]]:
    """`retry_unprocessed` for the sans-I/O core (`runtime.steps`): `send` makes the steps of
    one call; the backoff waits are `Sleep` steps."""
    pending = list(requests)
    error: Exception | None = None
    for attempt in range(backoff.attempts):
        if attempt:
            yield Sleep(backoff.delay(attempt - 1), backoff.sleep)
        try:
            left = yield from send(pending)
        except AssertionError:
            raise  # a broken invariant is a bug, not a failed call
        except Exception as exc:  # what a send raises depends on the client, and varies
            error = exc
            if not is_transient(exc):
                return pending, exc
            if on_retry is not None:
                on_retry(attempt, len(pending), exc)
            continue
        error = None
        if on_written is not None:
            on_written(len(pending) - len(left))
        if not left:
            return [], None
        if on_retry is not None:
            on_retry(attempt, len(left), None)
        pending = left
    return pending, error


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
    steps = retry_on_conflict_steps(fn, attempts=attempts, backoff=backoff, on_retry=on_retry)
    result: T = run_sync(None, steps)
    return result


def retry_on_conflict_steps(
    fn: Callable[[], Any],
    *,
    attempts: int = 5,
    backoff: Backoff | None = None,
    on_retry: Callable[[int, Exception], None] | None = None,
) -> Steps[Any]:
    """`retry_on_conflict` for the sans-I/O core (`runtime.steps`): each run of `fn` is an
    `Invoke` (awaited by the async driver when `fn` is a coroutine function)."""
    from ..errors import ConcurrencyConflict, TransactionCanceled

    policy = backoff or Backoff(attempts=attempts)
    for attempt in range(attempts):
        try:
            return (yield Invoke(fn))
        except (ConcurrencyConflict, TransactionCanceled) as exc:
            retryable = isinstance(exc, ConcurrencyConflict) or exc.retryable
            if not retryable or attempt == attempts - 1:
                raise
            if on_retry is not None:
                on_retry(attempt + 1, exc)
            yield Sleep(policy.delay(attempt), policy.sleep)
    raise AssertionError("unreachable")  # pragma: no cover


# ------------------------------------------------------------------------------ commit retries

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        # The same token arrived while the first request with it is still being applied.
        "TransactionInProgressException",
    }
)
SERVER_ERROR_CODES = frozenset({"InternalServerError", "ServiceUnavailable"})
# Cancellation reasons that say "try again" rather than "your condition did not hold".
RETRYABLE_REASONS = frozenset(
    {"TransactionConflict", "ProvisionedThroughputExceeded", "ThrottlingError"}
)


def error_code(exc: BaseException) -> str:
    """A short, value-free name for an error (safe to log): the AWS error code, the
    cancellation reason codes, or the exception's class name."""
    from botocore.exceptions import ClientError

    from ..backends.base import Cancelled

    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    if isinstance(exc, Cancelled):
        return "TransactionCanceled[" + ",".join(r.code for r in exc.reasons) + "]"
    return type(exc).__name__


def is_transient(exc: BaseException) -> bool:
    """True for failures that may succeed when the same request is sent again: throttling,
    5xx, connection errors and timeouts, and transactions cancelled only because of a conflict
    with another transaction (or throttling). A ConditionalCheckFailed, a validation error or
    anything else is final."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    from ..backends.base import Cancelled

    if isinstance(exc, Cancelled):
        codes = {r.code for r in exc.reasons}
        return bool(codes & RETRYABLE_REASONS) and codes <= RETRYABLE_REASONS | {"None"}
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in THROTTLING_CODES or code in SERVER_ERROR_CODES or int(status or 0) >= 500
    return isinstance(exc, ConnectionError | HTTPClientError)


class _HasRemaining(Protocol):
    def remaining(self) -> float: ...


Deadline = float | Callable[[], float] | _HasRemaining


@frozen
class RetryPolicy:
    """How a unit of work retries one commit (the same request, the same ClientRequestToken).

    `attempts` counts every send, the first included (1 = no retry). Waits are full jitter,
    uniform in [0, min(cap, base * 2**n)]. A retry is never started when it would end past
    `max_elapsed` seconds after the first send (kept under DynamoDB's 10-minute token window),
    or when its wait plus `reserve` would cross the `deadline`: an epoch timestamp
    (`time.time()` scale), a callable returning the seconds left, or an object with
    `remaining()` such as `persistence.lambda_runtime.Deadline`. The error of the last attempt
    is what the caller sees.
    """

    attempts: int = 4
    base: float = 0.05
    cap: float = 1.0
    max_elapsed: float = 30.0
    deadline: Deadline | None = None
    reserve: float = 0.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    wall_clock: Callable[[], float] = field(default=time.time, compare=False)

    def __init__(
        self,
        attempts: int = 4,
        base: float = 0.05,
        cap: float = 1.0,
        max_elapsed: float = 30.0,
        deadline: Deadline | None = None,
        reserve: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        object.__setattr__(self, "attempts", attempts)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "cap", cap)
        object.__setattr__(self, "max_elapsed", max_elapsed)
        object.__setattr__(self, "deadline", deadline)
        object.__setattr__(self, "reserve", reserve)
        object.__setattr__(self, "sleep", sleep)
        object.__setattr__(self, "clock", clock)
        object.__setattr__(self, "wall_clock", wall_clock)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        if self.base < 0 or self.cap < 0 or self.reserve < 0:
            raise ValueError("base, cap and reserve must not be negative")
        if not 0 <= self.max_elapsed < TOKEN_WINDOW_SECONDS:
            raise ValueError(
                f"max_elapsed must be under {TOKEN_WINDOW_SECONDS:.0f} s: DynamoDB forgets a "
                "ClientRequestToken after 10 minutes, and a later retry could apply twice"
            )

    @classmethod
    def never(cls) -> RetryPolicy:
        """One attempt, no retry."""
        return cls(attempts=1)

    def remaining(self) -> float | None:
        """Seconds left before the deadline, or None without one."""
        deadline = self.deadline
        if deadline is None:
            return None
        if isinstance(deadline, int | float):
            return float(deadline) - self.wall_clock()
        remaining = getattr(deadline, "remaining", None)
        if callable(remaining):
            return float(remaining())
        assert callable(deadline)
        return float(deadline())

    def delay(self, attempt: int) -> float:
        """The wait before retry number `attempt + 1` (`full_jitter`)."""
        return full_jitter(attempt, self.base, self.cap)

    def run(
        self,
        fn: Callable[[], T],
        *,
        retryable: Callable[[BaseException], bool] = is_transient,
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> T:
        """Call `fn` until it returns, fails for good, or the policy's limits are reached."""
        started = self.clock()
        attempt = 0
        while True:
            try:
                return fn()
            except Exception as exc:
                wait = self._retry_wait(attempt, exc, started, retryable)
                attempt += 1
                if on_retry is not None:
                    on_retry(attempt, exc, wait)
                self.sleep(wait)

    def steps(
        self,
        call: Callable[[], Steps[T]],
        *,
        retryable: Callable[[BaseException], bool] = is_transient,
        on_retry: Callable[[int, BaseException, float], None] | None = None,
    ) -> Steps[T]:
        """`run` for the sans-I/O core (`runtime.steps`): `call()` makes the steps of one
        attempt; the waits are `Sleep` steps, so a sync or an async driver can run it."""
        started = self.clock()
        attempt = 0
        while True:
            try:
                return (yield from call())
            except Exception as exc:
                wait = self._retry_wait(attempt, exc, started, retryable)
                attempt += 1
                if on_retry is not None:
                    on_retry(attempt, exc, wait)
                yield Sleep(wait, self.sleep)

    def _retry_wait(
        self,
        attempt: int,
        exc: Exception,
        started: float,
        retryable: Callable[[BaseException], bool],
    ) -> float:
        """The wait before retrying after `exc`; re-raises `exc` when it must not be retried."""
        if attempt + 1 >= self.attempts or not retryable(exc):
            raise exc
        wait = self.delay(attempt)
        if self.clock() - started + wait > self.max_elapsed:
            raise exc
        left = self.remaining()
        if left is not None and wait + self.reserve >= left:
            raise exc
        return wait


DEFAULT_RETRY_POLICY = RetryPolicy()
