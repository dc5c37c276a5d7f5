"""The contract suites on `persistence.aio`: a harness whose units of work and repositories are
thin blocking adapters over the async ones, so the SAME (synchronous) contract methods exercise
the async implementation.

Each harness owns one event loop (one per test: build a harness per test and `close()` it),
running in a thread of its own. An adapter runs each awaitable the aio object returns to
completion on that loop and waits for it, turns async iterators (`iterate`, `scan_all`) into
plain ones and wraps what it hands out (repositories, update builders) the same way. Nothing is
reimplemented: every call goes to the aio object, which runs the shared core.

Any `AsyncBackend` fits: `AsyncMemoryHarness` runs the suites on `AsyncInMemoryBackend`; the
DynamoDB run builds `AsyncHarness(AsyncDynamoDBBackend(client), mappings, log=...,
name="dynamodb")`.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from ..aio import InMemoryUnitOfWork
from ..aio.repository import Repository as AsyncRepository
from ..aio.unit_of_work import InMemoryRepository
from ..aio.unit_of_work import UnitOfWork as AsyncUnitOfWork
from ..backends.base import AsyncBackend
from ..backends.memory.aio_store import AsyncInMemoryBackend
from ..backends.memory.store import InMemoryStore
from ..model.mapping import Mapping
from ..write.update import UpdateCore
from .harness import SECRET, Harness, RequestLog, StoreLog

T = TypeVar("T")


class LoopRunner:
    """Runs awaitables to completion on one private event loop, which runs in its own thread.

    Every caller blocks until its awaitable is done; callers in several threads (the suites'
    concurrency tests use one unit of work per thread) become concurrent tasks on the one loop,
    and a blocking spy the async code runs in an executor may call back through an adapter.
    Called from inside the loop itself, it refuses (that would deadlock)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="aio-harness-loop", daemon=True
        )
        self._thread.start()

    def run(self, awaitable: Awaitable[T]) -> T:
        """The result of `awaitable`, run on this runner's loop."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a blocking adapter was called from inside its own event loop")

        async def wait() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wait(), self.loop).result()

    def close(self) -> None:
        """Cancel what is left on the loop, stop it and close it."""
        if self.loop.is_closed():
            return

        async def drain() -> None:
            current = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self.loop.shutdown_asyncgens()

        asyncio.run_coroutine_threadsafe(drain(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class Blocking:
    """A blocking view of an aio object: every method call is forwarded; an awaitable result is
    run to completion, an async iterator becomes a plain iterator, and an update builder or the
    object itself comes back wrapped. Attributes read and set go to the aio object."""

    def __init__(self, target: Any, runner: LoopRunner) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_runner", runner)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value) or isinstance(value, type):
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            args = tuple(_unwrap(a) for a in args)
            kwargs = {k: _unwrap(v) for k, v in kwargs.items()}
            return self._adapt(value(*args, **kwargs))

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target, name, value)

    def _adapt(self, result: Any) -> Any:
        if inspect.isawaitable(result):
            result = self._runner.run(result)
        if result is self._target:
            return self
        if isinstance(result, AsyncIterator):
            return _blocking_iterator(result, self._runner)
        if isinstance(result, UpdateCore):
            return Blocking(result, self._runner)
        return result


def _unwrap(value: Any) -> Any:
    return object.__getattribute__(value, "_target") if isinstance(value, Blocking) else value


def _blocking_iterator(iterator: AsyncIterator[T], runner: LoopRunner) -> Iterator[T]:
    try:
        while True:
            try:
                item = runner.run(anext(iterator))
            except StopAsyncIteration:
                return
            yield item
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None and not runner.loop.is_closed():
            runner.run(close())


class BlockingBackend:
    """A blocking view of an `AsyncBackend` (`harness.backend`, `uow.backend`): its coroutine
    methods run to completion on the loop.

    Assigning a method (a test's spy: `uow.backend.transact_write = spy`) installs it on the
    async backend as a coroutine that runs the blocking spy in a worker thread, so the spy may
    call the original through this view while the unit of work awaits it."""

    def __init__(self, backend: AsyncBackend, runner: LoopRunner) -> None:
        object.__setattr__(self, "_backend", backend)
        object.__setattr__(self, "_runner", runner)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._backend, name)
        if not inspect.iscoroutinefunction(value):
            return value
        runner = self._runner

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            return runner.run(value(*args, **kwargs))

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        loop = self._runner.loop

        async def replaced(*args: Any, **kwargs: Any) -> Any:
            return await loop.run_in_executor(None, functools.partial(value, *args, **kwargs))

        setattr(self._backend, name, replaced)


class BlockingUnitOfWork(Blocking):
    """A blocking view of an aio unit of work: `with uow:` runs `async with`, `commit()` is
    awaited, `repository(T)` hands out a blocking repository, `backend` a blocking backend."""

    def __init__(self, target: AsyncUnitOfWork, runner: LoopRunner) -> None:
        super().__init__(target, runner)
        object.__setattr__(self, "_repositories", {})

    @property
    def backend(self) -> BlockingBackend:
        """The unit of work's `AsyncBackend`, blocking."""
        return BlockingBackend(self._target.backend, self._runner)

    def __enter__(self) -> BlockingUnitOfWork:
        self._runner.run(self._target.__aenter__())
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._runner.run(self._target.__aexit__(*exc_info))

    def repository(self, aggregate_type: type[Any]) -> Blocking:
        """The aio unit of work's repository of `aggregate_type`, blocking."""
        repo = self._target.repository(aggregate_type)
        cached: dict[int, Blocking] = self._repositories
        view = cached.get(id(repo))
        if view is None or _unwrap(view) is not repo:
            view = cached[id(repo)] = Blocking(repo, self._runner)
        return view


class AsyncHarness(Harness):
    """Any `AsyncBackend` under the contract suites, through blocking adapters (module doc).

    Args:
        backend: the async backend the units of work and repositories use.
        mappings: the mappings of the units of work (the tables must exist).
        log: what records the operations sent (`record_requests(client)` for DynamoDB).
        name: the harness name the suites test for ("dynamodb" where moto differs).
        runner: the loop to run on, when the backend's client was opened on it beforehand
            (an aiobotocore client belongs to the loop it was entered on); a new one otherwise.
        fault_client: the backend's client, for the suites' fault injection
            (`testing.faults.inject`); without it (and without a store) those tests skip.
    """

    def __init__(
        self,
        backend: AsyncBackend,
        mappings: Sequence[Mapping[Any]],
        log: RequestLog,
        *,
        name: str = "aio",
        runner: LoopRunner | None = None,
        fault_client: Any = None,
    ) -> None:
        self.fault_client = fault_client
        self.runner = runner if runner is not None else LoopRunner()
        self.async_backend = backend
        self.mappings = list(mappings)
        for mapping in self.mappings:
            backend.register(mapping.table)
        self.log = log
        self.name = name

    def async_uow(
        self, mappings: Iterable[Mapping[Any]] = (), outbox: Any = None
    ) -> AsyncUnitOfWork:
        """A new aio unit of work over the backend (no adapter)."""
        return AsyncUnitOfWork(
            self.async_backend,
            list(mappings) or self.mappings,
            cursor_secret=SECRET,
            outbox=outbox,
        )

    def async_repository(self, mapping: Mapping[Any]) -> AsyncRepository[Any]:
        """A new aio repository outside any unit of work (no adapter)."""
        return AsyncRepository(self.async_backend, mapping, cursor_secret=SECRET)

    def uow(self, mappings: Iterable[Mapping[Any]] = (), outbox: Any = None) -> Any:
        return BlockingUnitOfWork(self.async_uow(mappings, outbox), self.runner)

    def repository(self, mapping: Mapping[Any]) -> Any:
        return Blocking(self.async_repository(mapping), self.runner)

    @contextmanager
    def faulty(self, plan: Any) -> Iterator[AsyncBackend | None]:
        """For the `with` block, an async backend over the harness's data whose requests meet
        `plan`'s faults (`testing.faults.FaultPlan`), or None where this harness cannot
        inject faults."""
        if self.fault_client is None:
            yield None
            return
        from . import faults

        with faults.inject(self.fault_client, plan):
            yield self.async_backend

    def blocking(self, target: Any) -> Any:
        """A blocking view of an aio repository or unit of work on this harness's loop."""
        if isinstance(target, AsyncUnitOfWork):
            return BlockingUnitOfWork(target, self.runner)
        return Blocking(target, self.runner)

    def run(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run an async test body (`make()`'s awaitable) on the harness's loop."""
        return self.runner.run(make())

    def close(self) -> None:
        """Close the harness's event loop."""
        self.runner.close()


class AsyncMemoryHarness(AsyncHarness):
    """`persistence.aio` over an `InMemoryStore`: `aio.InMemoryUnitOfWork` and
    `aio.InMemoryRepository` sharing one store, through blocking adapters."""

    def __init__(self, mappings: Sequence[Mapping[Any]]) -> None:
        self.store = InMemoryStore()
        super().__init__(
            AsyncInMemoryBackend(self.store), mappings, StoreLog(self.store), name="memory-aio"
        )

    def async_uow(
        self, mappings: Iterable[Mapping[Any]] = (), outbox: Any = None
    ) -> AsyncUnitOfWork:
        return InMemoryUnitOfWork(
            list(mappings) or self.mappings, store=self.store, cursor_secret=SECRET, outbox=outbox
        )

    def async_repository(self, mapping: Mapping[Any]) -> AsyncRepository[Any]:
        return InMemoryRepository(mapping, store=self.store, cursor_secret=SECRET)

    @contextmanager
    def faulty(self, plan: Any) -> Iterator[AsyncBackend | None]:
        from .faults import FaultyBackend

        yield AsyncInMemoryBackend(FaultyBackend(self.store, plan))
