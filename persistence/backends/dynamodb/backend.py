"""DynamoDBBackend: the backend contract over a boto3 DynamoDB client.

A request DynamoDB refuses as invalid (ValidationException, or a transaction cancelled because
one of its actions is invalid) raises `persistence.errors.ValidationError`, as the in-memory store
does for the same request; the server's message is kept, prefixed so the reader knows DynamoDB
said it, and the ClientError is chained. Every other AWS error passes through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from ... import wirejson
from ...errors import ValidationError
from ...model.keyid import key_id
from ...model.marshal import Item, Wire
from ...query.expressions import ExpressionBuilder
from ...query.planner import Plan
from ..actions import Action, Check, Delete, Meaning, Put, Update, write_expressions
from ..base import (
    BatchRequests,
    Cancelled,
    ConditionalCheckFailed,
    RawReason,
    ReadResult,
    read_expressions,
)
from . import fastpath
from .transport import Transport

_UNKNOWN = Meaning(None, {}, "put")
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
        if transport is None:
            return getattr(self.client, _METHODS[operation])(**params)
        return transport.call(operation, params)

    def register(self, table: Any) -> None:
        """Remember the key attributes (no request: tables are never described on the hot
        path); batch writes match unprocessed items back to their requests by key."""
        self._keys[table.name] = table.key_attributes()

    # ------------------------------------------------------------------ reads

    def get_item(self, table: str, key: Mapping[str, Wire], consistent: bool) -> Item | None:
        """GetItem: the stored item under `key`, or None."""
        with _refusals(), fastpath.ours(self.fast_path):
            params = {"TableName": table, "Key": dict(key), "ConsistentRead": consistent}
            response = self._send("GetItem", params)
        item: Item | None = response.get("Item")
        return item

    def batch_get(
        self, requests: Mapping[str, Sequence[Mapping[str, Wire]]], consistent: bool
    ) -> tuple[dict[str, list[Item]], dict[str, list[dict[str, Wire]]]]:
        """One BatchGetItem: (found items per table, unprocessed keys per table)."""
        request = {
            table: {"Keys": [dict(k) for k in keys], "ConsistentRead": consistent}
            for table, keys in requests.items()
            if keys
        }
        with _refusals(), fastpath.ours(self.fast_path):
            response = self.client.batch_get_item(RequestItems=request)
        found: dict[str, list[Item]] = response.get("Responses", {})
        unprocessed = {
            table: list(entry.get("Keys", []))
            for table, entry in response.get("UnprocessedKeys", {}).items()
            if entry.get("Keys")
        }
        return found, unprocessed

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
        builder = ExpressionBuilder()
        request: dict[str, Any] = {"TableName": plan.table}
        if plan.index is not None:
            request["IndexName"] = plan.index
        request.update(read_expressions(builder, plan))
        if plan.operation == "Query":
            request["ScanIndexForward"] = not plan.descending
        elif segment is not None:
            request["Segment"] = segment
            request["TotalSegments"] = total_segments
        if plan.consistent:
            request["ConsistentRead"] = True
        if limit is not None:
            request["Limit"] = limit
        if start_key is not None:
            request["ExclusiveStartKey"] = dict(start_key)
        if select_count:
            request["Select"] = "COUNT"
        elif projection is not None:
            request["ProjectionExpression"] = builder.projection((p,) for p in projection)
        if return_consumed_capacity:
            request["ReturnConsumedCapacity"] = "TOTAL"
        builder.attach(request)
        call = self.client.query if plan.operation == "Query" else self.client.scan
        with _refusals(), fastpath.ours(self.fast_path):
            response = call(**request)
        return ReadResult(
            response.get("Items", []),
            response.get("LastEvaluatedKey"),
            response.get("Count", 0),
            response.get("ScannedCount", 0),
            response.get("ConsumedCapacity"),
        )

    # ------------------------------------------------------------------ writes

    def transact_write(self, actions: Sequence[Action], token: str) -> None:
        """TransactWriteItems with `token` as ClientRequestToken; a cancellation raises
        `Cancelled` with one reason per action.
        """
        if self.single_action_writes and len(actions) == 1 and not isinstance(actions[0], Check):
            try:
                self.write(actions[0])
            except ConditionalCheckFailed as failed:
                message = "The conditional request failed"
                raise Cancelled(
                    [RawReason("ConditionalCheckFailed", message, failed.item)]
                ) from None
            return
        items = [_transact_item(a) for a in actions]
        try:
            with fastpath.ours(self.fast_path):
                self._send(
                    "TransactWriteItems", {"TransactItems": items, "ClientRequestToken": token}
                )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ValidationException":
                raise _validation_error(exc) from exc
            if code != "TransactionCanceledException":
                raise
            raw = exc.response.get("CancellationReasons") or _reasons_from_message(
                exc.response.get("Error", {}).get("Message", ""), len(actions)
            )
            reasons = [
                RawReason(r.get("Code", "None"), r.get("Message"), _item(r.get("Item")))
                for r in raw
            ]
            invalid = _invalid_action(actions, reasons)
            if invalid is not None:
                raise invalid from exc
            raise Cancelled(reasons) from None

    def write(self, action: Action, *, return_values: str = "NONE") -> Item | None:
        """One PutItem, UpdateItem or DeleteItem; a failed condition raises
        `ConditionalCheckFailed` with the stored item. Returns what `return_values` asks for.
        """
        request = _request(action)
        if action.condition is not None:
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if return_values != "NONE":
            request["ReturnValues"] = return_values
        try:
            if isinstance(action, Put):
                response = self.client.put_item(**request)
            elif isinstance(action, Update):
                response = self.client.update_item(**request)
            elif isinstance(action, Delete):
                response = self.client.delete_item(**request)
            else:
                raise TypeError("a ConditionCheck only exists inside a transaction")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise ConditionalCheckFailed(_item(exc.response.get("Item"))) from None
            if code == "ValidationException":
                raise _validation_error(exc) from exc
            raise
        attributes: Item | None = response.get("Attributes")
        return attributes

    def batch_write(self, requests: BatchRequests) -> BatchRequests:
        """One BatchWriteItem; returns the requests DynamoDB left unprocessed."""
        request: dict[str, list[dict[str, Any]]] = {}
        for table, actions in requests.items():
            for action in actions:
                if isinstance(action, Put):
                    request.setdefault(table, []).append({"PutRequest": {"Item": action.item}})
                else:
                    request.setdefault(table, []).append({"DeleteRequest": {"Key": action.key}})
        with _refusals():
            response = self.client.batch_write_item(RequestItems=request)
        unprocessed: BatchRequests = {}
        by_key = {
            table: {self._identity(table, a): a for a in actions}
            for table, actions in requests.items()
        }
        for table, entries in response.get("UnprocessedItems", {}).items():
            for entry in entries:
                if "PutRequest" in entry:
                    echoed: Put | Delete = Put(table, entry["PutRequest"]["Item"], None, _UNKNOWN)
                else:
                    echoed = Delete(table, entry["DeleteRequest"]["Key"], None, _UNKNOWN)
                # The server may echo a request in another form (set order, number text): match
                # by key, and keep the echoed request rather than ever dropping one.
                original = by_key.get(table, {}).get(self._identity(table, echoed), echoed)
                unprocessed.setdefault(table, []).append(original)
        return unprocessed

    def _identity(self, table: str, action: Put | Delete) -> tuple[str, Any]:
        source = action.item if isinstance(action, Put) else action.key
        kind = "put" if isinstance(action, Put) else "delete"
        names = self._keys.get(table)
        if names is None:  # an unregistered table: only an identical echo matches
            return kind, wirejson.dumps(source)
        return kind, key_id({n: source[n] for n in names if n in source})


def _validation_error(exc: ClientError) -> ValidationError:
    message = exc.response.get("Error", {}).get("Message") or "no message"
    return ValidationError(f"DynamoDB refused the request (ValidationException): {message}")


@contextmanager
def _refusals() -> Iterator[None]:
    """ValidationException -> ValidationError (chained); other errors unchanged."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ValidationException":
            raise
        raise _validation_error(exc) from exc


def _invalid_action(
    actions: Sequence[Action], reasons: Sequence[RawReason]
) -> ValidationError | None:
    """DynamoDB cancels a transaction with the reason ValidationError for an action it refuses
    (a document path under a missing parent, a type mismatch, an item grown past 400 KB...; see
    TransactionCanceledException in the API reference). That is bad input, not a race: it
    raises ValidationError as the in-memory store does. A failed condition is reported first,
    as the store checks every condition before it applies anything."""
    codes = {r.code for r in reasons}
    if "ValidationError" not in codes or "ConditionalCheckFailed" in codes:
        return None
    for action, reason in zip(actions, reasons, strict=False):
        if reason.code == "ValidationError":
            meaning = action.meaning
            where = meaning.aggregate_type or action.table
            if meaning.aggregate_type:
                where = f"{where} {meaning.key}"
            return ValidationError(
                f"DynamoDB refused the transaction (ValidationError on {where}): "
                f"{reason.message or 'no message'}"
            )
    return ValidationError("DynamoDB refused the transaction (ValidationError)")


def _item(value: Any) -> Item | None:
    return value if isinstance(value, dict) else None


def _request(action: Action) -> dict[str, Any]:
    builder = ExpressionBuilder()
    request: dict[str, Any] = {"TableName": action.table}
    if isinstance(action, Put):
        request["Item"] = action.item
    else:
        request["Key"] = action.key
    request.update(write_expressions(builder, action))
    return builder.attach(request)


def _transact_item(action: Action) -> dict[str, Any]:
    request = _request(action)
    if action.condition is not None:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    kind = {Put: "Put", Update: "Update", Delete: "Delete", Check: "ConditionCheck"}[type(action)]
    return {kind: request}


def _reasons_from_message(message: str, count: int) -> list[dict[str, Any]]:
    """Older servers only list the codes in the message: 'reasons [ConditionalCheckFailed]'."""
    start, end = message.find("["), message.rfind("]")
    if start < 0 or end < start:
        return [{"Code": "Unknown"} for _ in range(count)]
    codes = [c.strip() for c in message[start + 1 : end].split(",")]
    return [{"Code": c or "None"} for c in codes]
