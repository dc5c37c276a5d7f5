"""Composition root: the dependency-injector container that wires the payments service.

The library's PersistenceContainer provides the units of work; this container supplies what
only the application knows (the client, the mappings, the cursor secret) and binds handlers to
their dependencies. Tests swap the storage with `persistence.containers.in_memory`.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dependency_injector import containers, providers

import persistence as p
from persistence.containers import PersistenceContainer
from persistence.lambda_runtime import client_config, dynamodb_client

from .adapters.mappings import build_mappings
from .adapters.notifications import LoggingNotifier
from .config import Settings
from .service_layer.messagebus import COMMAND_HANDLERS, EVENT_HANDLERS
from .service_layer.retrying import ConflictRetry


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_transfer_id() -> str:
    return uuid.uuid4().hex


def make_client(endpoint_url: str | None, region: str) -> Any:
    """One DynamoDB client per process, sized for Lambda when it runs there."""
    return dynamodb_client(client_config(), endpoint_url=endpoint_url, region_name=region)


def inject(handler: Callable[..., Any], dependencies: dict[str, Any]) -> Callable[..., Any]:
    """Bind the dependencies a handler names as parameters (cosmicpython's bootstrap)."""
    wanted = inspect.signature(handler).parameters
    bound = functools.partial(
        handler, **{name: dep for name, dep in dependencies.items() if name in wanted}
    )
    return functools.update_wrapper(bound, handler)  # keeps the name for the bus's logs


def build_bus(uow: p.UnitOfWork, **dependencies: Any) -> p.MessageBus:
    """A bus over one unit of work; handlers get that same unit of work, so the bus collects
    the events of exactly the work they committed."""
    deps = {"uow": uow, **dependencies}
    return p.MessageBus(
        uow,
        event_handlers={
            event: [inject(h, deps) for h in handlers] for event, handlers in EVENT_HANDLERS.items()
        },
        command_handlers={command: inject(h, deps) for command, h in COMMAND_HANDLERS.items()},
    )


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

    # A bus per message (or per thread): its unit of work must not be shared concurrently.
    bus = providers.Factory(
        build_bus,
        uow=persistence.unit_of_work,
        clock=clock,
        new_id=new_id,
        retry=retry,
        notifier=notifier,
    )


def build_container(settings: Settings | None = None) -> Container:
    container = Container()
    container.config.from_dict((settings or Settings.from_env()).as_config())
    return container
