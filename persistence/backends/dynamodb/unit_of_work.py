"""DynamoDBUnitOfWork and DynamoDBRepository over a boto3 DynamoDB client."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from ...model.mapping import Mapping
from ...runtime.retry import Backoff, RetryPolicy
from ...session.repository import Repository
from ...session.unit_of_work import UnitOfWork
from .backend import DynamoDBBackend

T = TypeVar("T")


class DynamoDBUnitOfWork(UnitOfWork):
    """A unit of work over a boto3 DynamoDB low-level client (`boto3.client("dynamodb")`).

    One unit of work per thread; boto3 clients are thread-safe and may be shared. The other
    arguments are those of `UnitOfWork`.
    """

    def __init__(
        self,
        client: Any,
        mappings: Iterable[Mapping[Any]],
        *,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        outbox: Any | None = None,
        clock: Callable[[], datetime] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        super().__init__(
            DynamoDBBackend(client),
            mappings,
            cursor_secret=cursor_secret,
            outbox=outbox,
            clock=clock,
            retry_policy=retry_policy,
        )


class DynamoDBRepository(Repository[T]):
    """A repository outside any unit of work, over a boto3 DynamoDB client: each write
    (`add`, `remove`, `put`, `save`, `delete`, `update(...).execute()`, batches) goes out at once,
    with the same conditions and errors as a commit."""

    def __init__(
        self,
        client: Any,
        mapping: Mapping[T],
        *,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.client = client
        super().__init__(
            DynamoDBBackend(client), mapping, cursor_secret=cursor_secret, backoff=backoff
        )
