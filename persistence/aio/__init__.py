"""persistence for asyncio: the same repositories, unit of work and message bus, awaited.

    from persistence import aio
    uow = aio.DynamoDBUnitOfWork(client, [accounts])   # an aiobotocore DynamoDB client
    uow = aio.InMemoryUnitOfWork([accounts], store=store)
    async with uow:
        account = await uow.repository(Account).get(account_id="a1")
        account.balance += 5
        await uow.commit()

One library, not two (adr/0020): the planning, marshalling, validation, expressions, dirty
checking, retries and cancellation mapping are the synchronous library's own code, written as
step generators (`persistence.runtime.steps`); this package only awaits the steps over an
`AsyncBackend`. `aio.DynamoDBUnitOfWork` / `aio.DynamoDBRepository` need the
`persistence[async]` extra (aiobotocore); the rest of the package imports without it.
"""

from __future__ import annotations

from ..backends.base import AsyncBackend
from ..backends.memory.aio_store import AsyncInMemoryBackend
from ..session.reader import Page
from .bus import MessageBus
from .driver import run_async
from .repository import Repository, RepositoryReader, UnitOfWorkRepository, UpdateBuilder
from .retry import retry_on_conflict
from .unit_of_work import (
    DynamoDBRepository,
    DynamoDBUnitOfWork,
    InMemoryRepository,
    InMemoryUnitOfWork,
    UnitOfWork,
)

__all__ = [
    "AsyncBackend",
    "AsyncInMemoryBackend",
    "DynamoDBRepository",
    "DynamoDBUnitOfWork",
    "InMemoryRepository",
    "InMemoryUnitOfWork",
    "MessageBus",
    "Page",
    "Repository",
    "RepositoryReader",
    "UnitOfWork",
    "UnitOfWorkRepository",
    "UpdateBuilder",
    "retry_on_conflict",
    "run_async",
]
