"""Async units of work: `async with uow:`, awaited reads, `await uow.commit()`.

The lifecycle, identity map, dirty checking, commit planning, limits, the one idempotency token
per commit and its retries, the cancellation mapping and the outbox are `UnitOfWorkCore`'s, the
same code the synchronous unit of work runs; only the transport is awaited (adr/0020).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, NoReturn, Self, TypeVar

from ..backends.base import AsyncBackend
from ..backends.memory.aio_store import AsyncInMemoryBackend
from ..backends.memory.store import InMemoryStore
from ..model.mapping import Mapping
from ..query.cursor import CursorSigner
from ..runtime.retry import Backoff, RetryPolicy
from ..session.base import UnitOfWorkCore
from .driver import run_async
from .repository import Repository, UnitOfWorkRepository

T = TypeVar("T")

__all__ = [
    "DynamoDBRepository",
    "DynamoDBUnitOfWork",
    "InMemoryRepository",
    "InMemoryUnitOfWork",
    "UnitOfWork",
]


def _dynamodb_backend(client: Any) -> AsyncBackend:
    """An `AsyncDynamoDBBackend` over `client`, imported on first use: aiobotocore is an extra."""
    try:
        # By name: the module (and aiobotocore under it) loads only when DynamoDB is used.
        module = importlib.import_module("persistence.backends.dynamodb.aio_backend")
    except ImportError as missing:
        raise ImportError(
            "persistence.aio over DynamoDB needs aiobotocore: install `persistence[async]` "
            f"({missing})"
        ) from missing
    backend: AsyncBackend = module.AsyncDynamoDBBackend(client)
    return backend


class UnitOfWork(UnitOfWorkCore):
    """A unit of work for asyncio over any `AsyncBackend`; use `InMemoryUnitOfWork` or
    `DynamoDBUnitOfWork`.

    Each `async with uow:` block is a fresh unit of work (empty identity map); use one per
    task. Reads are awaited, `repo.add` / `repo.remove` / `uow.increment` / `uow.check` do no
    I/O, `await uow.commit()` sends one TransactWriteItems (retried with one
    ClientRequestToken). Leaving the block without committing discards every change; a commit
    that fails once sending began makes the block refuse any further use
    (UnitOfWorkStateError), as in `persistence.UnitOfWork`.

    Args:
        backend: the `AsyncBackend` (`AsyncInMemoryBackend`, `AsyncDynamoDBBackend`).
        mappings: the mappings of the aggregate types this unit of work handles.
        cursor_secret: the secret (or secrets, newest first) page cursors are encrypted with.
        outbox: an `Outbox`: the events of each commit are written in the same transaction.
        clock: returns the current time (created_at, updated_at, soft delete stamps).
        retry_policy: how commit retries transient failures with the same request token.
    """

    def __init__(
        self,
        backend: AsyncBackend,
        mappings: Iterable[Mapping[Any]],
        *,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        outbox: Any | None = None,
        clock: Callable[[], datetime] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.backend = backend
        super().__init__(
            backend,
            mappings,
            cursor_secret=cursor_secret,
            outbox=outbox,
            clock=clock,
            retry_policy=retry_policy,
        )

    def _reset(self) -> None:
        super()._reset()
        self._repositories: dict[type, UnitOfWorkRepository[Any]] = {}

    async def __aenter__(self) -> Self:
        self._enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit()

    def __enter__(self) -> NoReturn:
        raise TypeError("an async unit of work opens with `async with uow:`, not `with uow:`")

    def __exit__(self, *exc_info: object) -> None:  # pragma: no cover  (never entered)
        """Never reached: `__enter__` refuses."""

    async def commit(self) -> None:
        """Send every change of the block since its last commit as one TransactWriteItems
        (see `persistence.UnitOfWork.commit`: the same planning, limits, retries and errors)."""
        await run_async(self.backend, self._commit_steps())

    def repository(self, aggregate_type: type[T]) -> UnitOfWorkRepository[T]:
        """The repository of `aggregate_type` in this block: what it loads joins the identity
        map, and its `add` / `remove` are written by `commit`.

        Raises:
            UnitOfWorkStateError: outside an `async with` block, or after a failed commit in it.
            ValidationError: no mapping for `aggregate_type`.
        """
        self._require_usable(f"repository({aggregate_type.__name__})")
        repo = self._repositories.get(aggregate_type)
        if repo is None:
            if self._signer is None:
                self._signer = CursorSigner(self._cursor_secret)
            repo = UnitOfWorkRepository(
                self.backend, self.mapping(aggregate_type), self.identity_map, signer=self._signer
            )
            self._repositories[aggregate_type] = repo
        return repo


class InMemoryUnitOfWork(UnitOfWork):
    """An async unit of work over an `InMemoryStore`: the behaviour, errors and limits of
    `aio.DynamoDBUnitOfWork` without a network. Without `store=`, it gets a private store;
    share one store (with sync code too) to see the same data.
    """

    def __init__(
        self,
        mappings: Iterable[Mapping[Any]],
        *,
        store: InMemoryStore | None = None,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        outbox: Any | None = None,
        clock: Callable[[], datetime] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.store = store if store is not None else InMemoryStore()
        super().__init__(
            AsyncInMemoryBackend(self.store),
            mappings,
            cursor_secret=cursor_secret,
            outbox=outbox,
            clock=clock,
            retry_policy=retry_policy,
        )


class DynamoDBUnitOfWork(UnitOfWork):
    """An async unit of work over an aiobotocore DynamoDB client
    (`session.create_client("dynamodb")`), through `AsyncDynamoDBBackend`. Needs the
    `persistence[async]` extra. The other arguments are those of `aio.UnitOfWork`.
    """

    def __init__(
        self,
        client: Any,
        mappings: Iterable[Mapping[Any]],
        *,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        outbox: Any | None = None,
        clock: Callable[[], datetime] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        super().__init__(
            _dynamodb_backend(client),
            mappings,
            cursor_secret=cursor_secret,
            outbox=outbox,
            clock=clock,
            retry_policy=retry_policy,
        )


class InMemoryRepository(Repository[T]):
    """An async repository outside any unit of work over an `InMemoryStore` (a private one
    without `store=`): each write goes out at once."""

    def __init__(
        self,
        mapping: Mapping[T],
        *,
        store: InMemoryStore | None = None,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.store = store if store is not None else InMemoryStore()
        super().__init__(
            AsyncInMemoryBackend(self.store), mapping, cursor_secret=cursor_secret, backoff=backoff
        )


class DynamoDBRepository(Repository[T]):
    """An async repository outside any unit of work over an aiobotocore DynamoDB client: each
    write goes out at once. Needs the `persistence[async]` extra."""

    def __init__(
        self,
        client: Any,
        mapping: Mapping[T],
        *,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.client = client
        super().__init__(
            _dynamodb_backend(client), mapping, cursor_secret=cursor_secret, backoff=backoff
        )
