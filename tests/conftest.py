"""Shared fixtures: one moto server per test session (real botocore HTTP path)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from persistence.testing.moto_server import MotoServer, moto_server


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def dynamodb_client(moto: MotoServer) -> Iterator[Any]:
    """A boto3 DynamoDB client on a freshly reset moto server."""
    moto.reset()
    yield moto.client()


def pytest_configure(config: pytest.Config) -> None:
    # The library logs through the standard library and is silent until configured (pytest's
    # caplog sees its records). The demo application logs through structlog, which prints
    # every level to stdout until configured: its in-process tests keep it at WARNING.
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
