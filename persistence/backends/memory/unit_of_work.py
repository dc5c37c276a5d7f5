"""InMemoryUnitOfWork and InMemoryRepository: the backend for tests, with DynamoDB's rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from ...model.mapping import Mapping
from ...runtime.retry import Backoff, RetryPolicy
from ...session.repository import Repository
from ...session.unit_of_work import UnitOfWork
from .store import InMemoryStore

T = TypeVar("T")


class InMemoryUnitOfWork(UnitOfWork):
    """A unit of work over an `InMemoryStore`: the same behaviour, errors and limits as
    `DynamoDBUnitOfWork`, without a network.

    Without `store=`, each unit of work gets a private store; share one store between units of
    work (one per thread) to see each other's writes. The other arguments are those of
    `UnitOfWork`.
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
            self.store,
            mappings,
            cursor_secret=cursor_secret,
            outbox=outbox,
            clock=clock,
            retry_policy=retry_policy,
        )


class InMemoryRepository(Repository[T]):
    """A repository outside any unit of work, over an `InMemoryStore` (a private one without
    `store=`): each write goes out at once, as with `DynamoDBRepository`."""

    def __init__(
        self,
        mapping: Mapping[T],
        *,
        store: InMemoryStore | None = None,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.store = store if store is not None else InMemoryStore()
        super().__init__(self.store, mapping, cursor_secret=cursor_secret, backoff=backoff)
