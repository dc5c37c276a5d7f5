"""DynamoDBBackend: the backend contract over a boto3 DynamoDB client.

The requests and the reading of responses and errors are in `requests.py`, shared with the
asyncio driver (`aio_backend.py`); this module only sends them. A request DynamoDB refuses as
invalid raises `persistence.errors.ValidationError`; every other AWS error passes through
unchanged (see `requests.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...model.marshal import Item, Wire
from ...query.planner import Plan
from ..actions import Action, Check
from ..base import BatchRequests, ConditionalCheckFailed, ReadResult
from . import fastpath
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
    single_write_cancelled,
    transact_request,
    transaction_errors,
    write_errors,
    write_operation,
    write_request,
    write_result,
)
from .transport import Transport

_METHODS = {"GetItem": "get_item", "TransactWriteItems": "transact_write_items"}


class DynamoDBBackend:
    """The `Backend` contract over a boto3 DynamoDB low-level client.

    Args:
        client: a boto3 DynamoDB client (thread-safe; may be shared).
        fast_path: convert the library's own requests and responses itself instead of through
            botocore's per-attribute parsing (other users of the client are unaffected).
        single_action_writes: send a one-action commit as a single conditional write, for test
            servers without transactions; not for production (no idempotency token).
    """

    def __init__(
        self, client: Any, *, fast_path: bool = True, single_action_writes: bool = False
    ) -> None:
        self.client = client
        # Test servers without transactions (dynalite): a commit of one Put/Update/Delete is
        # sent as that single conditional write, with the same typed errors. Off by default and
        # not for production: a single write has no ClientRequestToken, so a retry after a lost
        # response is not idempotent (adr/0008, adr/0006).
        self.single_action_writes = single_action_writes
        self._keys: dict[str, tuple[str, ...]] = {}
        # Requests made inside `fastpath.ours()` skip botocore's per-attribute parsing and
        # serialisation; other users of the same client are unaffected (see fastpath.py).
        self.fast_path = fast_path and fastpath.install(client)
        # GetItem and TransactWriteItems skip botocore's per-call validation and serialisation
        # when the fast path is on (transport.py, adr/0018); None for a client it cannot serve.
        self._transport = Transport.of(client) if self.fast_path else None

    def _send(self, operation: str, params: dict[str, Any]) -> Any:
        transport = self._transport if self.fast_path else None
        if transport is not None:
            # The transport marks its own steps for the fast path's handlers.
            return transport.call(operation, params)
        with fastpath.ours(self.fast_path):
            return getattr(self.client, _METHODS[operation])(**params)

    def register(self, table: Any) -> None:
        """Remember the key attributes (no request: tables are never described on the hot
        path); batch writes match unprocessed items back to their requests by key."""
        self._keys[table.name] = table.key_attributes()

    # ------------------------------------------------------------------ reads

    def get_item(self, table: str, key: Mapping[str, Wire], consistent: bool) -> Item | None:
        """GetItem: the stored item under `key`, or None."""
        request = get_item_request(table, key, consistent)
        with refusals():
            response = self._send("GetItem", request)
        return get_item_result(response)

    def batch_get(
        self, requests: Mapping[str, Sequence[Mapping[str, Wire]]], consistent: bool
    ) -> tuple[dict[str, list[Item]], dict[str, list[dict[str, Wire]]]]:
        """One BatchGetItem: (found items per table, unprocessed keys per table)."""
        request = batch_get_request(requests, consistent)
        with refusals(), fastpath.ours(self.fast_path):
            response = self.client.batch_get_item(**request)
        return batch_get_result(response)

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
            response = call(**request)
        return read_result(response)

    # ------------------------------------------------------------------ writes

    def transact_write(self, actions: Sequence[Action], token: str) -> None:
        """TransactWriteItems with `token` as ClientRequestToken; a cancellation raises
        `Cancelled` with one reason per action.
        """
        if self.single_action_writes and len(actions) == 1 and not isinstance(actions[0], Check):
            try:
                self.write(actions[0])
            except ConditionalCheckFailed as failed:
                raise single_write_cancelled(failed) from None
            return
        request = transact_request(actions, token)
        with transaction_errors(actions):
            self._send("TransactWriteItems", request)

    def write(self, action: Action, *, return_values: str = "NONE") -> Item | None:
        """One PutItem, UpdateItem or DeleteItem; a failed condition raises
        `ConditionalCheckFailed` with the stored item. Returns what `return_values` asks for.
        """
        call = getattr(self.client, write_operation(action))
        request = write_request(action, return_values)
        with write_errors():
            response = call(**request)
        return write_result(response)

    def batch_write(self, requests: BatchRequests) -> BatchRequests:
        """One BatchWriteItem; returns the requests DynamoDB left unprocessed."""
        request = batch_write_request(requests)
        with refusals():
            response = self.client.batch_write_item(**request)
        return batch_write_result(response, requests, self._keys)
