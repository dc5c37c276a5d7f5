"""AsyncDynamoDBBackend: the backend contract, awaited, over an aiobotocore DynamoDB client.

Only the transport differs from `DynamoDBBackend`: every request is built, and every response
and error read, by the same functions (`requests.py`), so both backends send the same requests
and raise the same typed errors. The fast paths (`fastpath.py`) are installed on aiobotocore's
event system the same way: its emitter calls plain handlers as botocore's does, and the
`ours()` flag is a ContextVar, which each asyncio task holds separately.

aiobotocore is never imported here: the client is passed in, and it raises botocore's
ClientError like boto3 does, so importing this module does not need the `async` extra.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...model.marshal import Item, Wire
from ...query.planner import Plan
from ..actions import Action
from ..base import BatchRequests, ReadResult
from . import fastpath
from .aio_transport import AioTransport
from .requests import (
    batch_get_request,
    batch_get_result,
    batch_write_request,
    batch_write_result,
    get_item_request,
    get_item_result,
    read_request,
    read_result,
    refusals,
    transact_request,
    transaction_errors,
    write_errors,
    write_operation,
    write_request,
    write_result,
)


class AsyncDynamoDBBackend:
    """The `AsyncBackend` contract (`Backend`'s methods, awaited, but `register`) over an
    aiobotocore DynamoDB client.

    Args:
        client: an aiobotocore DynamoDB client, already entered (`async with
            session.create_client("dynamodb", ...) as client`); it may be shared by the tasks of
            one event loop.
        fast_path: convert the library's own requests and responses itself instead of through
            botocore's per-attribute parsing (other users of the client are unaffected).
    """

    def __init__(self, client: Any, *, fast_path: bool = True) -> None:
        self.client = client
        self._keys: dict[str, tuple[str, ...]] = {}
        self.fast_path = fast_path and fastpath.install(client)
        # GetItem and TransactWriteItems go through the short path to the endpoint when the
        # fast path is on (aio_transport.py, adr/0018); None for a client it cannot serve.
        self._transport = AioTransport.of(client) if self.fast_path else None

    async def _send(self, operation: str, method: str, params: dict[str, Any]) -> Any:
        transport = self._transport if self.fast_path else None
        if transport is None:
            return await getattr(self.client, method)(**params)
        return await transport.acall(operation, params)

    def register(self, table: Any) -> None:
        """Remember the key attributes (no request); batch writes match unprocessed items back
        to their requests by key."""
        self._keys[table.name] = table.key_attributes()

    # ------------------------------------------------------------------ reads

    async def get_item(self, table: str, key: Mapping[str, Wire], consistent: bool) -> Item | None:
        """GetItem: the stored item under `key`, or None."""
        request = get_item_request(table, key, consistent)
        with refusals(), fastpath.ours(self.fast_path):
            response = await self._send("GetItem", "get_item", request)
        return get_item_result(response)

    async def batch_get(
        self, requests: Mapping[str, Sequence[Mapping[str, Wire]]], consistent: bool
    ) -> tuple[dict[str, list[Item]], dict[str, list[dict[str, Wire]]]]:
        """One BatchGetItem: (found items per table, unprocessed keys per table)."""
        request = batch_get_request(requests, consistent)
        with refusals(), fastpath.ours(self.fast_path):
            response = await self.client.batch_get_item(**request)
        return batch_get_result(response)

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
        """One Query or Scan page, as `plan` describes it (see `Backend.read`)."""
        request = read_request(
            plan,
            limit=limit,
            start_key=start_key,
            select_count=select_count,
            segment=segment,
            total_segments=total_segments,
            projection=projection,
            return_consumed_capacity=return_consumed_capacity,
        )
        call = self.client.query if plan.operation == "Query" else self.client.scan
        with refusals(), fastpath.ours(self.fast_path):
            response = await call(**request)
        return read_result(response)

    # ------------------------------------------------------------------ writes

    async def transact_write(self, actions: Sequence[Action], token: str) -> None:
        """TransactWriteItems with `token` as ClientRequestToken (botocore's retries resend
        the same body, token included); a cancellation raises `Cancelled` with one reason per
        action."""
        request = transact_request(actions, token)
        with transaction_errors(actions), fastpath.ours(self.fast_path):
            await self._send("TransactWriteItems", "transact_write_items", request)

    async def write(self, action: Action, *, return_values: str = "NONE") -> Item | None:
        """One PutItem, UpdateItem or DeleteItem; a failed condition raises
        `ConditionalCheckFailed` with the stored item. Returns what `return_values` asks for.
        """
        call = getattr(self.client, write_operation(action))
        request = write_request(action, return_values)
        with write_errors():
            response = await call(**request)
        return write_result(response)

    async def batch_write(self, requests: BatchRequests) -> BatchRequests:
        """One BatchWriteItem; returns the requests DynamoDB left unprocessed."""
        request = batch_write_request(requests)
        with refusals():
            response = await self.client.batch_write_item(**request)
        return batch_write_result(response, requests, self._keys)
