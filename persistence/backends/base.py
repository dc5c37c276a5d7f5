"""The low-level contract both backends implement: DynamoDB's operations on wire items.

Repositories and units of work are written once against this contract; `DynamoDBBackend` sends
the operations to DynamoDB, `InMemoryStore` performs them itself with the same semantics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..model.marshal import Item, Wire
from ..query.expressions import ExpressionBuilder, check_expression_size
from ..query.planner import Plan
from ..records import frozen
from .actions import Action, Delete, Put


@dataclass
class ReadResult:
    """One page of a Query or Scan: wire items, the key to resume from (None on the last page),
    the matched and evaluated counts, and the consumed capacity when it was asked for."""

    items: list[Item]
    last_key: dict[str, Wire] | None
    count: int
    scanned_count: int
    consumed_capacity: dict[str, Any] | None = None


@frozen
class RawReason:
    """One CancellationReasons entry of a cancelled transaction, as the backend reported it:
    the code (`None`, `ConditionalCheckFailed`, `TransactionConflict`...), its message and the
    stored item when the action asked for it."""

    code: str
    message: str | None = None
    item: Item | None = None

    def __init__(self, code: str, message: str | None = None, item: Item | None = None) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "item", item)


class Cancelled(Exception):
    """A transaction was cancelled; one reason per action, in action order."""

    def __init__(self, reasons: Sequence[RawReason]) -> None:
        self.reasons = list(reasons)
        super().__init__([r.code for r in self.reasons])


class ConditionalCheckFailed(Exception):
    """A single-item write's condition did not hold; `item` is the stored item, if any."""

    def __init__(self, item: Item | None) -> None:
        self.item = item
        super().__init__("conditional check failed")


BatchRequests = dict[str, list[Put | Delete]]


def read_expressions(builder: ExpressionBuilder, plan: Plan) -> dict[str, str]:
    """The KeyConditionExpression (a Query) and FilterExpression of `plan` (those it has),
    compiled with `builder` and each held to DynamoDB's 4 KB limit (ValidationError): the one
    place this rule is applied to reads, by both backends."""
    out: dict[str, str] = {}
    if plan.operation == "Query":
        out["KeyConditionExpression"] = check_expression_size(
            builder.key_condition(plan.key_condition), "key condition"
        )
    if plan.filter is not None:
        out["FilterExpression"] = check_expression_size(
            builder.condition(plan.filter), "filter expression"
        )
    return out


class Registrar(Protocol):
    """What the transport-free core needs of a backend: tables made known (`register`, which
    does no I/O in either kind of backend)."""

    def register(self, table: Any) -> None:
        """Make the `Table` known (its keys and indexes); called for every mapping's table."""
        ...


class Backend(Protocol):
    """What a store must do for repositories and units of work: DynamoDB's data operations on
    wire items (`{"S": "a1"}`, `{"N": "10"}`). Implemented by `DynamoDBBackend` (the requests go
    to DynamoDB) and `InMemoryStore` (performed in memory, with DynamoDB's rules and errors).
    """

    def register(self, table: Any) -> None:
        """Make the `Table` known (its keys and indexes); called for every mapping's table."""
        ...

    def get_item(self, table: str, key: Mapping[str, Wire], consistent: bool) -> Item | None:
        """GetItem: the stored item under `key`, or None."""
        ...

    def batch_get(
        self, requests: Mapping[str, Sequence[Mapping[str, Wire]]], consistent: bool
    ) -> tuple[dict[str, list[Item]], dict[str, list[dict[str, Wire]]]]:
        """(found items per table, unprocessed keys per table)."""
        ...

    def read(
        self,
        plan: Plan,
        *,
        limit: int | None,
        start_key: Mapping[str, Wire] | None,
        select_count: bool = False,
        segment: int | None = None,
        total_segments: int | None = None,
        projection: Sequence[str] | None = None,
        return_consumed_capacity: bool = False,
    ) -> ReadResult:
        """One page of the Query or Scan that `plan` describes, from `start_key`; a Scan
        segment when `segment` and `total_segments` are given, only the item count with
        `select_count`, only the `projection` attributes when given."""
        ...

    def transact_write(self, actions: Sequence[Action], token: str) -> None:
        """TransactWriteItems with `token` as ClientRequestToken: all actions or none.
        Raises `Cancelled` with one reason per action when the transaction is cancelled."""
        ...

    def write(self, action: Action, *, return_values: str = "NONE") -> Item | None:
        """One single-item write (Put, Update, Delete); raises ConditionalCheckFailed."""
        ...

    def batch_write(self, requests: BatchRequests) -> BatchRequests:
        """Returns the unprocessed requests."""
        ...


class AsyncBackend(Protocol):
    """`Backend` for asyncio: the same operations, arguments, results and exceptions, each a
    coroutine except `register` (no I/O). Implemented by `AsyncInMemoryBackend` (over an
    `InMemoryStore`) and `AsyncDynamoDBBackend` (over an aiobotocore client); the repositories
    and units of work of `persistence.aio` await it (adr/0020).
    """

    def register(self, table: Any) -> None:
        """Make the `Table` known (its keys and indexes); called for every mapping's table."""
        ...

    async def get_item(self, table: str, key: Mapping[str, Wire], consistent: bool) -> Item | None:
        """GetItem: the stored item under `key`, or None."""
        ...

    async def batch_get(
        self, requests: Mapping[str, Sequence[Mapping[str, Wire]]], consistent: bool
    ) -> tuple[dict[str, list[Item]], dict[str, list[dict[str, Wire]]]]:
        """(found items per table, unprocessed keys per table)."""
        ...

    async def read(
        self,
        plan: Plan,
        *,
        limit: int | None,
        start_key: Mapping[str, Wire] | None,
        select_count: bool = False,
        segment: int | None = None,
        total_segments: int | None = None,
        projection: Sequence[str] | None = None,
        return_consumed_capacity: bool = False,
    ) -> ReadResult:
        """One page of the Query or Scan that `plan` describes (see `Backend.read`)."""
        ...

    async def transact_write(self, actions: Sequence[Action], token: str) -> None:
        """TransactWriteItems with `token` as ClientRequestToken: all actions or none.
        Raises `Cancelled` with one reason per action when the transaction is cancelled."""
        ...

    async def write(self, action: Action, *, return_values: str = "NONE") -> Item | None:
        """One single-item write (Put, Update, Delete); raises ConditionalCheckFailed."""
        ...

    async def batch_write(self, requests: BatchRequests) -> BatchRequests:
        """Returns the unprocessed requests."""
        ...
