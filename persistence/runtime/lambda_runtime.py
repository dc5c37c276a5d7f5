"""Running on AWS Lambda: a client sized for the function, resources reused across warm
invocations, deadlines from the invocation context, and cold-start measurements.

Nothing here runs at import time beyond defining names: the client is built on first use (or by
`prewarm()` during the init phase, which Lambda does not bill at the invocation's timeout).
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

from botocore.config import Config

from .retry import Backoff

# The logger keeps the name it had before the modules moved into layers (docs/api.md).
log = logging.getLogger("persistence.lambda_runtime")

T = TypeVar("T")
RetryMode = Literal["standard", "adaptive", "legacy"]

MEMORY_ENV = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
DEADLINE_BUFFER_SECONDS = 1.0

__all__ = [
    "ColdStart",
    "Deadline",
    "DeadlineExceeded",
    "LambdaContext",
    "Lazy",
    "client_config",
    "dynamodb_client",
    "measure_cold_start",
    "memory_size_mb",
    "memory_stats",
    "pool_size",
    "prewarm",
    "shared_client",
]


# ---------------------------------------------------------------------------------- client


def memory_size_mb(environ: Mapping[str, str] | None = None) -> int | None:
    """The function's configured memory, or None outside Lambda (or when unreadable)."""
    raw = (os.environ if environ is None else environ).get(MEMORY_ENV)
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def pool_size(memory_mb: int | None) -> int:
    """Connections to keep open. CPU share grows with memory (one full vCPU at 1769 MB), and so
    does the number of threads a function can usefully run; more connections than threads only
    cost TLS handshakes."""
    if memory_mb is None:
        return 10  # botocore's default, for code that is not on Lambda
    if memory_mb <= 512:
        return 5
    if memory_mb <= 1769:
        return 10
    return 20


def client_config(
    memory_mb: int | None = None,
    *,
    retry_mode: RetryMode = "standard",
    max_attempts: int = 3,
    connect_timeout: float = 1.0,
    read_timeout: float = 3.0,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """A botocore Config for a DynamoDB client on Lambda.

    Short timeouts: DynamoDB answers in milliseconds, and a hung connection should be retried on
    a fresh one long before the function times out (botocore's defaults are 60 s). TCP
    keep-alive keeps pooled connections alive between invocations of a warm container.
    `retry_mode="adaptive"` adds client-side rate limiting for functions that hit throttling.
    """
    memory = memory_mb if memory_mb is not None else memory_size_mb(environ)
    return Config(
        max_pool_connections=pool_size(memory),
        tcp_keepalive=True,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": retry_mode, "max_attempts": max_attempts},
    )


def dynamodb_client(config: Config | None = None, **kwargs: Any) -> Any:
    """A low-level boto3 DynamoDB client with `client_config()` unless told otherwise.

    A private session: the default session is not thread-safe to create clients from.
    """
    import boto3

    session = boto3.session.Session()
    return session.client("dynamodb", config=config or client_config(), **kwargs)


class Lazy(Generic[T]):
    """A module-level resource built on first use, then reused by every warm invocation.

    Thread-safe: concurrent first uses build it once.
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: T | None = None
        self._built = False

    def get(self) -> T:
        """The resource, built by the factory on the first call."""
        if not self._built:
            with self._lock:
                if not self._built:
                    self._value = self._factory()
                    self._built = True
        return self._value  # type: ignore[return-value]

    @property
    def built(self) -> bool:
        """Whether the resource was built already."""
        return self._built

    def reset(self) -> None:
        """Forget the resource (tests; or after a fork)."""
        with self._lock:
            self._value = None
            self._built = False


_client: Lazy[Any] = Lazy(dynamodb_client)


def shared_client() -> Any:
    """The process-wide DynamoDB client with the Lambda-sized config."""
    return _client.get()


def prewarm(client: Any | None = None) -> float:
    """Open the client's first connection (DNS, TCP, TLS) now, e.g. during Lambda init.

    DescribeEndpoints needs no table and no item permissions. A failure is logged and ignored:
    prewarming is an optimisation and must never fail the init phase. Returns seconds spent.
    """
    started = time.perf_counter()
    target = client if client is not None else shared_client()
    try:
        target.describe_endpoints()
    except Exception as error:  # any failure only means "not prewarmed"
        log.warning("prewarm_failed", extra={"error": str(error)})
    spent = time.perf_counter() - started
    log.debug("prewarm", extra={"seconds": round(spent, 4)})
    return spent


# ---------------------------------------------------------------------------------- deadlines


class LambdaContext(Protocol):
    """What this module reads of the Lambda context object: the invocation's remaining time."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops the invocation."""
        ...


class DeadlineExceeded(TimeoutError):
    """Not enough of the invocation's time is left to start (or wait for) more work."""


class Deadline:
    """When the work must be over: the invocation's remaining time minus a safety buffer.

    Bound retries with `Backoff(sleep=deadline.sleep)` (or `deadline.backoff()`): a wait that
    would cross the deadline raises DeadlineExceeded instead of sleeping. Bound pagination with
    `collect()`, which stops early and returns the cursor to continue from.
    """

    def __init__(self, at: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.at = at
        self._clock = clock

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """A deadline `seconds` from now."""
        return cls(clock() + seconds, clock)

    @classmethod
    def from_context(
        cls,
        context: LambdaContext | None,
        buffer: float = DEADLINE_BUFFER_SECONDS,
        *,
        default: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> Deadline:
        """From a Lambda context (`default` seconds without one, e.g. locally)."""
        if context is None:
            return cls.after(max(0.0, default - buffer), clock)
        remaining = context.get_remaining_time_in_millis() / 1000.0
        return cls.after(max(0.0, remaining - buffer), clock)

    def remaining(self) -> float:
        """Seconds left (0 once expired)."""
        return max(0.0, self.at - self._clock())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self._clock() >= self.at

    def check(self, what: str = "the work") -> None:
        """Raise DeadlineExceeded (naming `what`) if the deadline has passed."""
        if self.expired():
            raise DeadlineExceeded(f"no time left for {what}")

    def sleep(self, seconds: float) -> None:
        """Sleep, or raise DeadlineExceeded if the wait would cross the deadline."""
        if seconds >= self.remaining():
            raise DeadlineExceeded(f"a {seconds:.3f}s wait would cross the deadline")
        time.sleep(seconds)

    def backoff(self, attempts: int = 8, base: float = 0.05, cap: float = 2.0) -> Backoff:
        """A `Backoff` whose waits respect this deadline (`sleep=self.sleep`)."""
        return Backoff(attempts=attempts, base=base, cap=cap, sleep=self.sleep)

    def bounded(self, items: Iterable[T]) -> Iterator[T]:
        """Items until the deadline (checked before each)."""
        for item in items:
            if self.expired():
                return
            yield item

    def collect(
        self,
        fetch: Callable[[str | None], tuple[list[T], str | None]],
        cursor: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[T], str | None]:
        """Fetch pages (`fetch(cursor) -> (items, next_cursor)`) until the last page, enough
        items, or the deadline; returns the items and the cursor to continue from (None when
        every page was read). The first page is always fetched."""
        out: list[T] = []
        while True:
            items, cursor = fetch(cursor)
            out.extend(items)
            if cursor is None or (max_items is not None and len(out) >= max_items):
                return out, cursor
            if self.expired():
                return out, cursor


# ---------------------------------------------------------------------------------- cold start


def memory_stats() -> dict[str, float]:
    """Peak resident memory of the process, and Python allocations when tracemalloc traces."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is KiB on Linux (Lambda) and bytes on macOS.
    peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    stats = {"max_rss_mb": round(peak_mb, 1)}
    if tracemalloc.is_tracing():
        current, top = tracemalloc.get_traced_memory()
        stats["traced_current_mb"] = round(current / (1024 * 1024), 2)
        stats["traced_peak_mb"] = round(top / (1024 * 1024), 2)
    return stats


def _process_age() -> float | None:
    """Seconds since this process started (Linux), to see the runtime's own start-up."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        ticks = os.sysconf("SC_CLK_TCK")
        return uptime - int(fields[19]) / ticks  # field 22 (starttime), after pid and comm
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class ColdStart:
    """Phases of a cold start, each measured from the end of the previous one.

    Create it first thing in the handler module (`measure_cold_start()`), `mark("import")` after
    the imports, `mark("container")` after building the application, `mark("first_request")`
    after the first invocation. A phase is recorded once; later marks of it are ignored, so the
    handler can mark on every invocation.
    """

    started: float = field(default_factory=time.perf_counter)
    before_start: float | None = field(default_factory=_process_age)
    phases: dict[str, float] = field(default_factory=dict)
    _last: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._last = self.started

    def mark(self, phase: str) -> bool:
        """Record the phase that just ended; False when it was already recorded."""
        if phase in self.phases:
            return False
        now = time.perf_counter()
        self.phases[phase] = now - self._last
        self._last = now
        return True

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Measure a block as one phase (resets the start to the block's start)."""
        self._last = time.perf_counter()
        yield
        self.mark(name)

    def report(self) -> dict[str, Any]:
        """The measurements as a dict for a log line: each phase and the total in
        milliseconds, memory (`memory_stats()`), and the time before measuring began when known.
        """
        phases = {name: round(seconds * 1000, 1) for name, seconds in self.phases.items()}
        out: dict[str, Any] = {
            "phases_ms": phases,
            "total_ms": round(sum(self.phases.values()) * 1000, 1),
            "memory": memory_stats(),
        }
        if self.before_start is not None:
            # Interpreter start-up and imports done before measuring began.
            out["before_measuring_ms"] = round(self.before_start * 1000, 1)
        return out


def measure_cold_start() -> ColdStart:
    """Start measuring a cold start now: call it first thing in the handler module, then
    `mark()` each phase as it ends.
    """
    return ColdStart()
