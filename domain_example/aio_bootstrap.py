"""Composition root for asyncio: `bootstrap.Container`'s twin over `persistence.aio`.

What differs from the synchronous container is only what asyncio changes:

- the DynamoDB client is an aiobotocore client, entered on the event loop that uses it
  (`connected(container)`: the ASGI app's lifespan, or the async Lambda handler's one loop),
  instead of a boto3 client built on first use;
- a unit of work serves one task, not one thread: `bus()` builds a fresh unit of work and a
  message bus over it for each request (`ThreadLocalSingleton` would hand one unit of work to
  every task of the loop's thread, and concurrent requests would share an identity map).

The mappings, the clock, the id factory, the notifier and the conflict retry are the same
providers as in `bootstrap.Container`. Tests swap the storage with
`persistence.containers.use_in_memory(container)` (the same names: `unit_of_work`,
`in_memory_unit_of_work`, `store`), before the first request.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from dependency_injector import containers, providers

from persistence import aio
from persistence.backends.memory.store import InMemoryStore
from persistence.lambda_runtime import client_config

from .adapters.mappings import build_mappings
from .adapters.notifications import LoggingNotifier
from .bootstrap import Container, new_transfer_id, utc_now
from .config import Settings
from .service_layer.aio_handlers import COMMAND_HANDLERS, EVENT_HANDLERS
from .service_layer.delivery import deliver_quietly
from .service_layer.retrying import ConflictRetry

Handler = Callable[..., Any]


@functools.cache
def _dependencies_of(handler: Handler) -> tuple[str, ...]:
    """The parameter names after the message: what the container binds into `handler`."""
    return tuple(inspect.signature(handler).parameters)[1:]


def _bind(handler: Handler, dependencies: Mapping[str, Any]) -> Handler:
    bound = functools.partial(handler, **{n: dependencies[n] for n in _dependencies_of(handler)})
    return functools.update_wrapper(bound, handler)


AfterCommand = Callable[[], Awaitable[None]]


class Bus(aio.MessageBus):
    """The async message bus, and after each command, when `after_command` is given, that
    awaited (e.g. delivering the events the command committed, in local runs)."""

    def __init__(
        self,
        uow: aio.UnitOfWork,
        event_handlers: Mapping[type, Sequence[Handler]] | None = None,
        command_handlers: Mapping[type, Handler] | None = None,
        after_command: AfterCommand | None = None,
    ) -> None:
        super().__init__(uow, event_handlers, command_handlers)
        self.after_command = after_command

    async def handle(self, command: Any) -> Any:
        result = await super().handle(command)
        if self.after_command is not None:
            await self.after_command()
        return result


def build_bus(
    uow: aio.UnitOfWork, *, after_command: AfterCommand | None = None, **dependencies: Any
) -> Bus:
    """A message bus over `uow` whose handlers get `uow` and `dependencies` by parameter name
    (as `bootstrap.Container.bound_handlers` binds them for the synchronous bus)."""
    available = {"uow": uow, **dependencies}
    commands: dict[type, Handler] = {
        command: _bind(handler, available) for command, handler in COMMAND_HANDLERS.items()
    }
    events: dict[type, Sequence[Handler]] = {
        event: [_bind(h, available) for h in hs] for event, hs in EVENT_HANDLERS.items()
    }
    return Bus(uow, events, commands, after_command)


def deliver_inline(events: Container) -> AfterCommand | None:
    """After each command, the synchronous container's relay and consumer (`EventDelivery`)
    in a worker thread, when its settings deliver events inline (local runs, tests)."""
    if not events.config.deliver_events_inline():
        return None

    async def deliver() -> None:
        await asyncio.to_thread(deliver_quietly, events.delivery())

    return deliver


def aio_client_config() -> Any:
    """`persistence.lambda_runtime.client_config()` (pool size by memory, short timeouts,
    standard retries) as an aiobotocore `AioConfig`."""
    config: Any = client_config()  # botocore's stubs do not declare Config's attributes
    aio_config = importlib.import_module("aiobotocore.config").AioConfig
    return aio_config(
        max_pool_connections=config.max_pool_connections,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        retries=config.retries,
    )


def open_client(endpoint_url: str | None, region: str) -> Any:
    """An aiobotocore DynamoDB client, to enter on the loop that uses it
    (`async with open_client(...) as client`)."""
    # by name: aiobotocore is the optional `persistence[async]` extra, and ships no type hints
    session = importlib.import_module("aiobotocore.session").get_session()
    return session.create_client(
        "dynamodb", endpoint_url=endpoint_url, region_name=region, config=aio_client_config()
    )


class AioContainer(containers.DeclarativeContainer):
    config = providers.Configuration()

    # Set by `connected(container)`, on the event loop that will use it.
    client: providers.Dependency[Any] = providers.Dependency()
    mappings = providers.Singleton(build_mappings, config.table_name)

    # Every commit writes its events to the outbox, in the same transaction (docs/events.md).
    outbox = mappings.provided.outbox
    unit_of_work: providers.Factory[aio.UnitOfWork] = providers.Factory(
        aio.DynamoDBUnitOfWork,
        client,
        mappings.provided.all,
        cursor_secret=config.cursor_secret,
        outbox=outbox,
    )
    store: providers.Singleton[InMemoryStore] = providers.Singleton(InMemoryStore)
    in_memory_unit_of_work: providers.Factory[aio.UnitOfWork] = providers.Factory(
        aio.InMemoryUnitOfWork,
        mappings.provided.all,
        store=store,
        cursor_secret=config.cursor_secret,
        outbox=outbox,
    )

    clock = providers.Object(utc_now)
    new_id = providers.Object(new_transfer_id)
    notifier = providers.Singleton(LoggingNotifier)
    retry = providers.Singleton(ConflictRetry, attempts=config.retry_attempts)

    # Awaited after each command (an `AfterCommand`); None: nothing.
    after_command: providers.Provider[Any] = providers.Object(None)

    # A fresh unit of work and bus per call: one per request (task).
    bus: providers.Factory[Bus] = providers.Factory(
        build_bus,
        unit_of_work,
        after_command=after_command,
        clock=clock,
        new_id=new_id,
        notifier=notifier,
        retry=retry,
    )


def build_aio_container(settings: Settings | None = None) -> AioContainer:
    container = AioContainer()
    container.config.from_dict((settings or Settings.from_env()).as_config())
    return container


@asynccontextmanager
async def connected(container: AioContainer) -> AsyncIterator[AioContainer]:
    """The container with its aiobotocore client open for the block (on the running loop);
    closed, and the container without a client again, afterwards."""
    async with open_client(container.config.endpoint_url(), container.config.region()) as client:
        with container.client.override(providers.Object(client)):
            yield container
