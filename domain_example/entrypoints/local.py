"""Where the local entry points find DynamoDB: an endpoint given by flag or environment, or
an embedded moto server started for the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from dependency_injector import providers

from ..adapters.messaging import SnsSqsNames, ensure_sns_sqs
from ..adapters.schema import ensure_schema
from ..aio_bootstrap import AioContainer, build_aio_container, deliver_inline
from ..bootstrap import Container, build_container, make_aws_client, use_in_memory_messaging
from ..config import Settings

log = structlog.get_logger(__name__)

# Local runs sign cursors with a fixed secret so they survive a restart of the server.
LOCAL_CURSOR_SECRET = "local-development-only"
EVENTS_TOPIC = "payments-events"
STATISTICS_QUEUE = "payments-statistics"


def configured_endpoint(flag: str | None) -> str | None:
    return flag or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")


@contextmanager
def dynamodb_endpoint(flag: str | None) -> Iterator[tuple[str, bool]]:
    """(endpoint URL, whether it is an embedded moto server started here)."""
    endpoint = configured_endpoint(flag)
    if endpoint:
        yield endpoint, False
        return
    from persistence.testing.moto_server import moto_server

    # moto_server serialises moto's operations, so concurrent transfers stay atomic.
    with moto_server() as server:
        yield server.endpoint_url, True


def local_container(
    endpoint_url: str, table_name: str | None = None, *, deliver_events_inline: bool = True
) -> Container:
    """A container on that endpoint, with the table, the events topic and the statistics queue
    ensured. `deliver_events_inline`: relay and consume after each command (there are no
    separate relay and consumer processes locally); the demo delivers between its steps."""
    settings = Settings.from_env()
    names = messaging_at(endpoint_url, settings.region)
    settings = replace(
        settings,
        endpoint_url=endpoint_url,
        table_name=table_name or settings.table_name,
        cursor_secret=settings.cursor_secret or LOCAL_CURSOR_SECRET,
        events_topic_arn=names.topic_arn if names else None,
        statistics_queue_url=names.queue_url if names else None,
        deliver_events_inline=deliver_events_inline,
    )
    container = build_container(settings)
    if names is None:
        use_in_memory_messaging(container)
    ensure_schema(container.client(), container.mappings())
    return container


def local_aio_container(endpoint_url: str, table_name: str | None = None) -> AioContainer:
    """An async container on that endpoint (its client opens on the loop that serves it): the
    settings, table, topic and queue of `local_container`, whose relay and consumer deliver
    each command's events (in a worker thread: they are processes of their own in AWS)."""
    events = local_container(endpoint_url, table_name)
    container = build_aio_container()
    container.config.from_dict(events.config())
    container.after_command.override(providers.Object(deliver_inline(events)))
    return container


def messaging_at(endpoint_url: str, region: str) -> SnsSqsNames | None:
    """The topic and queue on that endpoint; None when it serves no SNS or SQS (DynamoDB Local
    serves only DynamoDB): events then travel through the in-memory twins, same rules."""
    try:
        return ensure_sns_sqs(
            make_aws_client("sns", endpoint_url, region),
            make_aws_client("sqs", endpoint_url, region),
            EVENTS_TOPIC,
            STATISTICS_QUEUE,
        )
    except (BotoCoreError, ClientError) as exc:
        log.warning("no_sns_sqs_at_endpoint", endpoint=endpoint_url, error=str(exc))
        return None
