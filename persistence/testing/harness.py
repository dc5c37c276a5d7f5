"""Backends under test: the same factory interface for the in-memory store and DynamoDB."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..backends.dynamodb.unit_of_work import DynamoDBRepository, DynamoDBUnitOfWork
from ..backends.memory.store import InMemoryStore
from ..backends.memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from ..model.mapping import Mapping, Table
from ..session.repository import Repository
from ..session.unit_of_work import UnitOfWork

SECRET = "contract-suite-secret"


@dataclass
class RequestLog:
    """Operations sent (names, and the request parameters where the backend has them)."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def names(self) -> list[str]:
        """The operation names, in the order sent."""
        return [name for name, _ in self.calls]

    def of(self, operation: str) -> list[dict[str, Any]]:
        """The parameters of every `operation` sent, in order."""
        return [params for name, params in self.calls if name == operation]

    def clear(self) -> None:
        """Forget what was recorded so far."""
        self.calls.clear()


def record_requests(client: Any) -> RequestLog:
    """Hook botocore's before-call events: every DynamoDB operation this client sends."""
    log = RequestLog()

    def before_call(params: dict[str, Any], model: Any, **_: Any) -> None:
        log.calls.append((model.name, _sent(params)))

    client.meta.events.register("before-call.dynamodb", before_call)
    return log


def capture(client: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of every `operation` this client sends from now on, as sent (a live list:
    it fills as the client sends)."""
    calls: list[dict[str, Any]] = []

    def before_call(params: dict[str, Any], **_: Any) -> None:
        calls.append(_sent(params))

    client.meta.events.register(f"before-call.dynamodb.{operation}", before_call)
    return calls


def _sent(params: dict[str, Any]) -> dict[str, Any]:
    # before-call carries the serialised request: its JSON body is exactly what is sent.
    sent: dict[str, Any] = json.loads(params.get("body") or b"{}")
    return sent


class Harness:
    """One backend under test, behind the same factory interface: what the contract
    suites' `harness` fixture returns. `log` records the operations sent.
    """

    name: str
    log: RequestLog

    def uow(self, mappings: Iterable[Mapping[Any]] = (), outbox: Any = None) -> UnitOfWork:
        """A new unit of work over this backend (the harness's mappings unless given)."""
        raise NotImplementedError

    @property
    def backend(self) -> Any:
        """The `Backend` the units of work use."""
        return self.uow().backend

    def repository(self, mapping: Mapping[Any]) -> Repository[Any]:
        """A repository outside any unit of work, for `mapping`."""
        raise NotImplementedError

    def operations(self) -> list[str]:
        """The names of the operations sent so far."""
        return self.log.names()

    def raw_item(self, table: str, key: dict[str, str]) -> dict[str, Any]:
        """The stored wire item (string key attributes), straight from the backend."""
        wire_key = {name: {"S": value} for name, value in key.items()}
        item = self.uow().backend.get_item(table, wire_key, True)
        assert item is not None, f"no item {key} in {table}"
        return item


class MemoryHarness(Harness):
    """The in-memory store as the backend under test: one `InMemoryStore`, tables registered."""

    name = "memory"

    def __init__(self, mappings: Sequence[Mapping[Any]]) -> None:
        self.store = InMemoryStore()
        self.mappings = list(mappings)
        for mapping in self.mappings:  # every table exists from the start, as on DynamoDB
            self.store.register(mapping.table)
        self.log = StoreLog(self.store)

    def uow(self, mappings: Iterable[Mapping[Any]] = (), outbox: Any = None) -> UnitOfWork:
        return InMemoryUnitOfWork(
            list(mappings) or self.mappings, store=self.store, cursor_secret=SECRET, outbox=outbox
        )

    def repository(self, mapping: Mapping[Any]) -> Repository[Any]:
        return InMemoryRepository(mapping, store=self.store, cursor_secret=SECRET)


class StoreLog(RequestLog):
    """The operations an `InMemoryStore` performed (its `requests`), as a `RequestLog`."""

    def __init__(self, store: InMemoryStore) -> None:
        super().__init__()
        self.store = store

    def names(self) -> list[str]:
        return list(self.store.requests)

    def clear(self) -> None:
        self.store.requests.clear()


class DynamoDBHarness(Harness):
    """DynamoDB (or a server speaking its protocol, such as moto) as the backend under test:
    creates `tables` through `client` (with `create`, default `create_table`) and records
    every request the client sends.
    """

    name = "dynamodb"

    def __init__(
        self,
        client: Any,
        mappings: Sequence[Mapping[Any]],
        tables: Sequence[Table],
        create: Callable[[Any, Table], None] | None = None,
    ) -> None:
        from ..tables import create_table

        self.client = client
        self.mappings = list(mappings)
        make = create or create_table
        for table in tables:
            make(client, table)
        self.log = record_requests(client)

    def uow(self, mappings: Iterable[Mapping[Any]] = (), outbox: Any = None) -> UnitOfWork:
        return DynamoDBUnitOfWork(
            self.client, list(mappings) or self.mappings, cursor_secret=SECRET, outbox=outbox
        )

    def repository(self, mapping: Mapping[Any]) -> Repository[Any]:
        return DynamoDBRepository(self.client, mapping, cursor_secret=SECRET)
