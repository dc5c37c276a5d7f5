"""AsyncInMemoryBackend: the in-memory store behind the `AsyncBackend` protocol, for
`persistence.aio` without a network."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from ...backends.actions import Action
from ...backends.base import Backend, BatchRequests, ReadResult
from ...model.marshal import Item, Wire
from ...query.planner import Plan


class AsyncInMemoryBackend:
    """An `AsyncBackend` over an `InMemoryStore` (or any `Backend` that does no I/O, such as a
    fault-injecting wrapper): each operation is the store's own, with DynamoDB's rules, results
    and errors.

    Every operation first yields to the event loop once, as a request on the network would:
    other tasks run between a unit of work's read and its commit, so concurrency behaves (and
    is tested) as it does against DynamoDB. The operation itself is atomic, as the store is.

    Args:
        store: the `InMemoryStore` to read and write (shared with sync code if wanted).
    """

    def __init__(self, store: Backend) -> None:
        self.store = store

    def register(self, table: Any) -> None:
        """Make the `Table` known to the store (no I/O)."""
        self.store.register(table)

    async def get_item(self, table: str, key: Mapping[str, Wire], consistent: bool) -> Item | None:
        """GetItem: the stored item under `key`, or None."""
        await asyncio.sleep(0)
        return self.store.get_item(table, key, consistent)

    async def batch_get(
        self, requests: Mapping[str, Sequence[Mapping[str, Wire]]], consistent: bool
    ) -> tuple[dict[str, list[Item]], dict[str, list[dict[str, Wire]]]]:
        """(found items per table, unprocessed keys per table)."""
        await asyncio.sleep(0)
        return self.store.batch_get(requests, consistent)

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
        """One page of the Query or Scan that `plan` describes."""
        await asyncio.sleep(0)
        return self.store.read(
            plan,
            limit=limit,
            start_key=start_key,
            select_count=select_count,
            segment=segment,
            total_segments=total_segments,
            projection=projection,
            return_consumed_capacity=return_consumed_capacity,
        )

    async def transact_write(self, actions: Sequence[Action], token: str) -> None:
        """TransactWriteItems: all actions or none (`Cancelled` with a reason per action)."""
        await asyncio.sleep(0)
        self.store.transact_write(actions, token)

    async def write(self, action: Action, *, return_values: str = "NONE") -> Item | None:
        """One single-item write (Put, Update, Delete); raises ConditionalCheckFailed."""
        await asyncio.sleep(0)
        return self.store.write(action, return_values=return_values)

    async def batch_write(self, requests: BatchRequests) -> BatchRequests:
        """BatchWriteItem; returns the unprocessed requests."""
        await asyncio.sleep(0)
        return self.store.batch_write(requests)
