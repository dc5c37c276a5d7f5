"""Composition root: the dependency-injector container is the bootstrap.

The library's PersistenceContainer provides the units of work; this container supplies what
only the application knows (the client, the mappings, the cursor secret), binds every handler to
its dependencies with providers, and provides the message bus. Every unit of work the handlers
commit with writes its events to the outbox in the same transaction; the relay, the topic and
queue, and the statistics consumer carry them on (docs/events.md). Tests swap the storage with
`persistence.containers.in_memory`, the messaging with `use_in_memory_messaging`, and any other
dependency with `provider.override(...)`, before the first message: the bus and the handlers
bound into it are built once per thread.
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
from .adapters.messaging import InMemoryQueue, InMemoryTopic, SnsTopic, SqsQueue, Topic
from .adapters.notifications import LoggingNotifier
from .config import Settings
from .service_layer import handlers
from .service_layer.delivery import EventDelivery, deliver_quietly
from .service_layer.handlers import COMMAND_HANDLERS, EVENT_HANDLERS
from .service_layer.retrying import ConflictRetry
from .service_layer.statistics import StatisticsConsumer

Handler = Callable[..., Any]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_transfer_id() -> str:
    return uuid.uuid4().hex


def make_client(endpoint_url: str | None, region: str) -> Any:
    """One DynamoDB client per process, sized for Lambda when it runs there."""
    return dynamodb_client(client_config(), endpoint_url=endpoint_url, region_name=region)


def make_aws_client(service: str, endpoint_url: str | None, region: str) -> Any:
    """SNS or SQS; local runs serve every service from the one endpoint (moto)."""
    import boto3  # not at import: the API's Lambda function never needs these clients

    new_client: Any = boto3.client  # typed per service name; the name is a variable here
    return new_client(service, endpoint_url=endpoint_url, region_name=region)


def storage_of(uow: p.UnitOfWork) -> Any:
    """Where the units of work store (a DynamoDB backend, or the in-memory store): a relay
    reads the outbox there."""
    return uow.backend


def make_relay(outbox: p.Outbox, storage: Any, topic: Topic) -> p.OutboxRelay:
    return p.OutboxRelay(outbox, storage, topic.publish)


def inline_delivery(
    enabled: bool, delivery: Callable[[], EventDelivery]
) -> Callable[[], None] | None:
    if not enabled:
        return None
    return lambda: deliver_quietly(delivery())


class Bus(p.MessageBus):
    """The message bus, and after each command, when `after_command` is given, the delivery
    of the events it committed (local runs: see `Settings.deliver_events_inline`)."""

    def __init__(
        self,
        uow: p.UnitOfWork,
        event_handlers: Mapping[type, Sequence[Handler]] | None = None,
        command_handlers: Mapping[type, Handler] | None = None,
        after_command: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(uow, event_handlers, command_handlers)
        self.after_command = after_command

    def handle(self, command: Any) -> Any:
        result = super().handle(command)
        if self.after_command is not None:
            self.after_command()
        return result


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
    # of work serves handler after handler but never two threads at once: one per thread. Its
    # commits write their events to the outbox, in the same transaction.
    outbox = mappings.provided.outbox
    uow = providers.ThreadLocalSingleton(persistence.unit_of_work, outbox=outbox)

    # Events between processes: the relay publishes the outbox to the topic; the statistics
    # consumer reads its queue subscribed to the topic. Built on first use only.
    sns = providers.Singleton(make_aws_client, "sns", config.endpoint_url, config.region)
    sqs = providers.Singleton(make_aws_client, "sqs", config.endpoint_url, config.region)
    topic: providers.Provider[Topic] = providers.Singleton(SnsTopic, sns, config.events_topic_arn)
    queue: providers.Provider[Any] = providers.Singleton(SqsQueue, sqs, config.statistics_queue_url)
    storage = providers.Callable(storage_of, persistence.unit_of_work)
    relay = providers.Singleton(make_relay, outbox, storage, topic)
    consumer = providers.Singleton(StatisticsConsumer, persistence.unit_of_work.provider, clock)
    delivery = providers.Singleton(EventDelivery, relay, queue, consumer)

    # Every handler with what it needs, as its parameters name it (handlers.py).
    bound_handlers = providers.Dict(
        {
            **each(handlers.open_account, uow=uow),
            **each(handlers.deposit, handlers.withdraw, uow=uow, clock=clock, retry=retry),
            **each(handlers.transfer_money, uow=uow, clock=clock, retry=retry, new_id=new_id),
            **each(handlers.freeze_account, handlers.close_account, uow=uow, retry=retry),
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
        Bus,
        uow,
        event_handlers=providers.Callable(event_handlers, bound_handlers),
        command_handlers=providers.Callable(command_handlers, bound_handlers),
        after_command=providers.Callable(
            inline_delivery, config.deliver_events_inline, delivery.provider
        ),
    )


def use_in_memory_messaging(container: Container) -> InMemoryQueue:
    """The topic and the statistics queue in memory (with SQS's at-least-once rules), until
    the overrides are reset; pairs with `persistence.containers.in_memory` for the storage.
    Returns the queue."""
    queue = InMemoryQueue()
    container.queue.override(providers.Object(queue))
    container.topic.override(providers.Singleton(InMemoryTopic, queue))
    return queue


def build_container(settings: Settings | None = None) -> Container:
    container = Container()
    container.config.from_dict((settings or Settings.from_env()).as_config())
    return container
