"""The application container with in-memory storage: no network, real handlers and mappings."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from dependency_injector import providers

import persistence as p
from domain_example.adapters.notifications import LoggingNotifier
from domain_example.bootstrap import Container, build_container, use_in_memory_messaging
from domain_example.config import Settings
from domain_example.domain import commands
from domain_example.service_layer.retrying import ConflictRetry
from persistence.containers import in_memory
from persistence.retry import Backoff


class Clock:
    """Advances one second per reading, so transfers get distinct, ordered times."""

    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> Iterator[Container]:
    # Events delivered after each command (relay, in-memory queue, statistics consumer), as in
    # local runs: a test reads statistics that include the commands it sent.
    container = build_container(Settings(cursor_secret="unit-tests", deliver_events_inline=True))
    ids = itertools.count(1)
    container.clock.override(providers.Object(clock))
    container.new_id.override(providers.Object(lambda: f"t{next(ids)}"))
    # No sleeping between retries in unit tests.
    container.retry.override(
        providers.Singleton(ConflictRetry, 5, Backoff(attempts=5, sleep=lambda _: None))
    )
    use_in_memory_messaging(container)
    with in_memory(container.persistence):
        yield container


@pytest.fixture
def store(app: Container) -> p.InMemoryStore:
    return app.persistence.store()  # type: ignore[no-any-return]


@pytest.fixture
def notifier(app: Container) -> LoggingNotifier:
    return app.notifier()  # type: ignore[no-any-return]


@pytest.fixture
def send(app: Container) -> Callable[[Any], Any]:
    """Handle one command on this thread's bus, as each API request does."""

    def handle(command: Any) -> Any:
        return app.bus().handle(command)

    return handle


@pytest.fixture
def funded(send: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """alice-1 (100 EUR), bob-1 (50 EUR), dave-usd (0 USD)."""
    send(commands.OpenAccount("alice-1", "alice", "EUR"))
    send(commands.OpenAccount("bob-1", "bob", "EUR"))
    send(commands.OpenAccount("dave-usd", "dave", "USD"))
    send(commands.Deposit("alice-1", Decimal("100")))
    send(commands.Deposit("bob-1", Decimal("50")))
    return send
