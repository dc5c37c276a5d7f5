"""Composition root: the dependency-injector container is the bootstrap.

The library's PersistenceContainer provides the units of work; this container supplies what
only the application knows (the client, the mappings, the cursor secret), binds every handler to
its dependencies with providers, and provides the message bus. Tests swap the storage with
`persistence.containers.in_memory` and any other dependency with `provider.override(...)`,
before the first message: the bus and the handlers bound into it are built once per thread.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from dependency_injector import containers, providers

import persistence as p
from persistence.containers import PersistenceContainer
from persistence.lambda_runtime import client_config, dynamodb_client

from .adapters.mappings import build_mappings
from .adapters.notifications import LoggingNotifier
from .config import Settings
from .service_layer import handlers
from .service_layer.handlers import COMMAND_HANDLERS, EVENT_HANDLERS
from .service_layer.retrying import ConflictRetry

Handler = Callable[..., Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_transfer_id() -> str:
    return uuid.uuid4().hex


def make_client(endpoint_url: str | None, region: str) -> Any:
    """One DynamoDB client per process, sized for Lambda when it runs there."""
    return dynamodb_client(client_config(), endpoint_url=endpoint_url, region_name=region)


def bind(handler: Handler, /, **dependencies: Any) -> Handler:
    """`handler` with its dependencies bound: the bus calls it with the message alone."""
    return functools.update_wrapper(functools.partial(handler, **dependencies), handler)


def each(*handlers: Handler, **dependencies: Any) -> dict[Handler, providers.Provider[Handler]]:
    """A provider per handler, binding the same dependencies (providers) into each."""
    return {h: providers.Callable(bind, h, **dependencies) for h in handlers}


def command_handlers(bound: Mapping[Handler, Handler]) -> dict[type, Handler]:
    return {command: bound[handler] for command, handler in COMMAND_HANDLERS.items()}


def event_handlers(bound: Mapping[Handler, Handler]) -> dict[type, Sequence[Handler]]:
    return {event: [bound[h] for h in hs] for event, hs in EVENT_HANDLERS.items()}


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()

    client = providers.Singleton(make_client, config.endpoint_url, config.region)
    mappings = providers.Singleton(build_mappings, config.table_name)

    persistence = providers.Container(
        PersistenceContainer,
        client=client,
        mappings=mappings.provided.all,
        cursor_secret=config.cursor_secret,
    )

    clock = providers.Object(utc_now)
    new_id = providers.Object(new_transfer_id)
    notifier = providers.Singleton(LoggingNotifier)
    retry = providers.Singleton(ConflictRetry, attempts=config.retry_attempts)

    # The unit of work the bus collects events from is the one its handlers commit with. A unit
    # of work serves handler after handler but never two threads at once: one per thread.
    uow = providers.ThreadLocalSingleton(persistence.unit_of_work)

    # Every handler with what it needs, as its parameters name it (handlers.py).
    bound_handlers = providers.Dict(
        {
            **each(handlers.open_account, uow=uow),
            **each(handlers.deposit, handlers.withdraw, uow=uow, clock=clock, retry=retry),
            **each(handlers.transfer_money, uow=uow, clock=clock, retry=retry, new_id=new_id),
            **each(handlers.freeze_account, handlers.close_account, uow=uow, retry=retry),
            **each(
                handlers.count_opened,
                handlers.count_deposit,
                handlers.count_withdrawal,
                handlers.count_transfer,
                handlers.count_rejection,
                handlers.count_closed,
                uow=uow,
                retry=retry,
            ),
            **each(
                handlers.notify_opened,
                handlers.notify_transfer,
                handlers.notify_rejection,
                handlers.notify_frozen,
                handlers.notify_closed,
                notifier=notifier,
            ),
        }
    )

    # One bus per thread, over that thread's unit of work.
    bus = providers.ThreadLocalSingleton(
        p.MessageBus,
        uow,
        event_handlers=providers.Callable(event_handlers, bound_handlers),
        command_handlers=providers.Callable(command_handlers, bound_handlers),
    )


def build_container(settings: Settings | None = None) -> Container:
    container = Container()
    container.config.from_dict((settings or Settings.from_env()).as_config())
    return container
