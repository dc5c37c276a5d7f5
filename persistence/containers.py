"""A dependency-injector container for applications built on persistence.

The application supplies what only it knows (`client`, `mappings`, `cursor_secret`); the
container offers a unit of work per call (`unit_of_work`, a Factory: one per handler or thread)
and an in-memory twin over one shared store for tests and local runs:

    class Application(containers.DeclarativeContainer):
        client = providers.Singleton(boto3.client, "dynamodb")
        persistence = providers.Container(
            PersistenceContainer, client=client, mappings=providers.Object(MAPPINGS)
        )

    with in_memory(app.persistence) as store:   # tests: no client, no network
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dependency_injector import containers, providers

from .backends.dynamodb.unit_of_work import DynamoDBUnitOfWork
from .backends.memory.store import InMemoryStore
from .backends.memory.unit_of_work import InMemoryUnitOfWork
from .session.unit_of_work import UnitOfWork

__all__ = ["PersistenceContainer", "in_memory", "use_in_memory"]


class PersistenceContainer(containers.DeclarativeContainer):
    """Units of work for the application's mappings, on DynamoDB or in memory."""

    client: providers.Dependency[Any] = providers.Dependency()
    """A boto3 DynamoDB client (shared; clients are thread-safe)."""

    mappings: providers.Dependency[Any] = providers.Dependency()
    """Every Mapping the application's units of work need."""

    # Signs pagination cursors. Without one the library signs with a random per-process key,
    # so cursors would not survive a restart or cross Lambda instances: supply it.
    cursor_secret: providers.Provider[Any] = providers.Object(None)

    unit_of_work: providers.Factory[UnitOfWork] = providers.Factory(
        DynamoDBUnitOfWork, client, mappings, cursor_secret=cursor_secret
    )

    # One store per container: every in-memory unit of work of the container sees the same data.
    store: providers.Singleton[InMemoryStore] = providers.Singleton(InMemoryStore)

    in_memory_unit_of_work: providers.Factory[UnitOfWork] = providers.Factory(
        InMemoryUnitOfWork, mappings, store=store, cursor_secret=cursor_secret
    )


def use_in_memory(container: Any) -> InMemoryStore:
    """Make `container.unit_of_work` in-memory until `container.unit_of_work.reset_override()`.

    `container` is a PersistenceContainer, or the `providers.Container` that nests one in an
    application container. Returns the store the units of work share.
    """
    container.unit_of_work.override(container.in_memory_unit_of_work)
    store: InMemoryStore = container.store()
    return store


@contextmanager
def in_memory(container: Any) -> Iterator[InMemoryStore]:
    """`with in_memory(app.persistence) as store:` — in-memory units of work inside the block,
    over a fresh store; the previous providers are back afterwards."""
    store = InMemoryStore()
    with (
        container.store.override(providers.Object(store)),
        container.unit_of_work.override(container.in_memory_unit_of_work),
    ):
        yield store
