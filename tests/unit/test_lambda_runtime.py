"""Lambda helpers: client sizing, lazy resources, deadlines, cold-start phases."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from persistence.lambda_runtime import (
    ColdStart,
    Deadline,
    DeadlineExceeded,
    Lazy,
    client_config,
    memory_size_mb,
    memory_stats,
    pool_size,
    prewarm,
)
from persistence.retry import retry_on_conflict


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.mark.parametrize(
    ("memory", "pool"), [(None, 10), (128, 5), (512, 5), (1024, 10), (1769, 10), (3008, 20)]
)
def test_pool_size_grows_with_memory(memory: int | None, pool: int) -> None:
    assert pool_size(memory) == pool


def test_client_config_reads_the_function_memory() -> None:
    config = client_config(environ={"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "2048"})
    assert config.max_pool_connections == 20
    assert config.tcp_keepalive is True
    assert config.connect_timeout == 1.0 and config.read_timeout == 3.0
    assert config.retries == {"mode": "standard", "max_attempts": 3}
    assert client_config(retry_mode="adaptive").retries["mode"] == "adaptive"  # type: ignore[index]


def test_memory_size_is_none_outside_lambda_or_when_garbled() -> None:
    assert memory_size_mb({}) is None
    assert memory_size_mb({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"}) is None


def test_lazy_builds_once_even_under_concurrent_first_use() -> None:
    built: list[int] = []
    lazy = Lazy(lambda: built.append(1) or object())
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(lazy.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 1 and len({id(r) for r in results}) == 1
    lazy.reset()
    assert not lazy.built


def test_prewarm_opens_a_connection_and_never_fails() -> None:
    class Client:
        calls = 0

        def describe_endpoints(self) -> None:
            Client.calls += 1
            raise ConnectionError("no network")

    assert prewarm(Client()) >= 0
    assert Client.calls == 1


def test_deadline_keeps_a_buffer_from_the_context() -> None:
    clock = FakeClock()
    deadline = Deadline.from_context(Context(5000), clock=clock)
    assert deadline.remaining() == pytest.approx(4.0)
    clock.now += 4.0
    assert deadline.expired()
    with pytest.raises(DeadlineExceeded):
        deadline.check("a query")


def test_a_deadline_bounds_retries() -> None:
    deadline = Deadline.after(0.0)
    from persistence.errors import ConcurrencyConflict

    def always_conflicts() -> None:
        raise ConcurrencyConflict("A", {"id": "1"}, expected_version=1, stored_version=2)

    with pytest.raises(DeadlineExceeded):
        retry_on_conflict(always_conflicts, attempts=5, backoff=deadline.backoff())


def test_a_deadline_bounds_pagination_and_returns_where_to_continue() -> None:
    clock = FakeClock()
    deadline = Deadline.after(1.0, clock)
    pages = {None: ([1, 2], "c1"), "c1": ([3], "c2"), "c2": ([4], None)}

    def fetch(cursor: str | None) -> tuple[list[int], str | None]:
        items, following = pages[cursor]  # type: ignore[index]
        if cursor == "c1":
            clock.now += 2.0  # this page took the rest of the time
        return items, following

    assert deadline.collect(fetch) == ([1, 2, 3], "c2")
    assert Deadline.after(10.0).collect(fetch) == ([1, 2, 3, 4], None)
    assert Deadline.after(10.0).collect(fetch, max_items=2) == ([1, 2], "c1")
    assert list(Deadline.after(0.0).bounded([1, 2])) == []


def test_cold_start_records_each_phase_once() -> None:
    cold = ColdStart()
    assert cold.mark("import") is True
    with cold.phase("container"):
        pass
    assert cold.mark("first_request") is True
    assert cold.mark("first_request") is False
    report: dict[str, Any] = cold.report()
    assert list(report["phases_ms"]) == ["import", "container", "first_request"]
    assert report["memory"]["max_rss_mb"] > 0


def test_memory_stats_include_python_allocations_while_tracing() -> None:
    import tracemalloc

    tracemalloc.start()
    try:
        stats = memory_stats()
    finally:
        tracemalloc.stop()
    assert stats["traced_peak_mb"] >= stats["traced_current_mb"] >= 0
