"""Where the local entry points find DynamoDB: an endpoint given by flag or environment, or
an embedded moto server started for the run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from ..adapters.mappings import build_mappings
from ..adapters.schema import ensure_schema
from ..aio_bootstrap import AioContainer, build_aio_container
from ..bootstrap import Container, build_container
from ..config import Settings

# Local runs sign cursors with a fixed secret so they survive a restart of the server.
LOCAL_CURSOR_SECRET = "local-development-only"


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


def local_settings(endpoint_url: str, table_name: str | None = None) -> Settings:
    settings = Settings.from_env()
    return replace(
        settings,
        endpoint_url=endpoint_url,
        table_name=table_name or settings.table_name,
        cursor_secret=settings.cursor_secret or LOCAL_CURSOR_SECRET,
    )


def local_container(endpoint_url: str, table_name: str | None = None) -> Container:
    """A container on that endpoint, with the table ensured."""
    container = build_container(local_settings(endpoint_url, table_name))
    ensure_schema(container.client(), container.mappings())
    return container


def local_aio_container(endpoint_url: str, table_name: str | None = None) -> AioContainer:
    """An async container on that endpoint (its client opens on the loop that serves it), with
    the table ensured (once, before serving: with a boto3 client)."""
    settings = local_settings(endpoint_url, table_name)
    ensure_schema(build_container(settings).client(), build_mappings(settings.table_name))
    return build_aio_container(settings)
