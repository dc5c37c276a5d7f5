"""The DynamoDB backend without its transport: request parameters and response interpretation.

Sans-I/O: nothing here calls a client. `DynamoDBBackend` (boto3) and `AsyncDynamoDBBackend`
(aiobotocore) both build every request with the `*_request` functions, send it their own way, and
read the answer with the `*_result` functions; errors are interpreted by the context managers
(`refusals`, `write_errors`, `transaction_errors`), which are plain `with` blocks and so work
around an `await` as well as around a blocking call:

    with refusals(), fastpath.ours(fast):
        response = await client.get_item(**request)   # or without await

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

_UNKNOWN = Meaning(None, {}, "put")

# The client method sending each single-item write (the same name on boto3 and aiobotocore).
_WRITE_OPERATIONS: dict[type[Action], str] = {
    Put: "put_item",
    Update: "update_item",
    Delete: "delete_item",
}


# ---------------------------------------------------------------------------------- reads


def get_item_request(table: str, key: Mapping[str, Wire], consistent: bool) -> dict[str, Any]:
    """GetItem's parameters."""
    return {"TableName": table, "Key": dict(key), "ConsistentRead": consistent}


def get_item_result(response: Mapping[str, Any]) -> Item | None:
    """The item of a GetItem response, or None."""
    item: Item | None = response.get("Item")
    return item


def batch_get_request(
    requests: Mapping[str, Sequence[Mapping[str, Wire]]], consistent: bool
) -> dict[str, Any]:
    """BatchGetItem's parameters (tables without keys are left out)."""
    return {
        "RequestItems": {
            table: {"Keys": [dict(k) for k in keys], "ConsistentRead": consistent}
            for table, keys in requests.items()
            if keys
        }
    }


def batch_get_result(
    response: Mapping[str, Any],
) -> tuple[dict[str, list[Item]], dict[str, list[dict[str, Wire]]]]:
    """(found items per table, unprocessed keys per table) of a BatchGetItem response."""
    found: dict[str, list[Item]] = response.get("Responses", {})
    unprocessed = {
        table: list(entry.get("Keys", []))
        for table, entry in response.get("UnprocessedKeys", {}).items()
        if entry.get("Keys")
    }
    return found, unprocessed


def read_request(
    plan: Plan,
    *,
    limit: int | None,
    start_key: Mapping[str, Wire] | None,
    select_count: bool = False,
    segment: int | None = None,
    total_segments: int | None = None,
    projection: Sequence[str] | None = None,
    return_consumed_capacity: bool = False,
) -> dict[str, Any]:
    """The parameters of the Query or Scan (`plan.operation`) page `Backend.read` describes."""
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
    return builder.attach(request)


def read_result(response: Mapping[str, Any]) -> ReadResult:
    """A Query or Scan response as a `ReadResult`."""
    return ReadResult(
        response.get("Items", []),
        response.get("LastEvaluatedKey"),
        response.get("Count", 0),
        response.get("ScannedCount", 0),
        response.get("ConsumedCapacity"),
    )


# ---------------------------------------------------------------------------------- writes


def transact_request(actions: Sequence[Action], token: str) -> dict[str, Any]:
    """TransactWriteItems' parameters, with `token` as ClientRequestToken."""
    return {"TransactItems": [_transact_item(a) for a in actions], "ClientRequestToken": token}


def write_operation(action: Action) -> str:
    """The client method that sends `action` as a single-item write."""
    try:
        return _WRITE_OPERATIONS[type(action)]
    except KeyError:
        raise TypeError("a ConditionCheck only exists inside a transaction") from None


def write_request(action: Action, return_values: str = "NONE") -> dict[str, Any]:
    """PutItem's, UpdateItem's or DeleteItem's parameters; a conditional write asks for the
    stored item when its condition fails."""
    request = _request(action)
    if action.condition is not None:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    if return_values != "NONE":
        request["ReturnValues"] = return_values
    return request


def write_result(response: Mapping[str, Any]) -> Item | None:
    """The attributes a single-item write returned (what its ReturnValues asked for)."""
    attributes: Item | None = response.get("Attributes")
    return attributes


def batch_write_request(requests: BatchRequests) -> dict[str, Any]:
    """BatchWriteItem's parameters."""
    items: dict[str, list[dict[str, Any]]] = {}
    for table, actions in requests.items():
        for action in actions:
            if isinstance(action, Put):
                items.setdefault(table, []).append({"PutRequest": {"Item": action.item}})
            else:
                items.setdefault(table, []).append({"DeleteRequest": {"Key": action.key}})
    return {"RequestItems": items}


def batch_write_result(
    response: Mapping[str, Any],
    requests: BatchRequests,
    keys: Mapping[str, tuple[str, ...]],
) -> BatchRequests:
    """The requests a BatchWriteItem response left unprocessed, matched back to `requests` by
    key (`keys`: each registered table's key attribute names)."""
    unprocessed: BatchRequests = {}
    by_key = {
        table: {_identity(keys, table, a): a for a in actions}
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
            original = by_key.get(table, {}).get(_identity(keys, table, echoed), echoed)
            unprocessed.setdefault(table, []).append(original)
    return unprocessed


def single_write_cancelled(failed: ConditionalCheckFailed) -> Cancelled:
    """A one-action commit sent as a single write failed its condition: the cancellation a
    transaction of that action would have reported."""
    message = "The conditional request failed"
    return Cancelled([RawReason("ConditionalCheckFailed", message, failed.item)])


# ---------------------------------------------------------------------------------- errors


@contextmanager
def refusals() -> Iterator[None]:
    """ValidationException -> ValidationError (chained); other errors unchanged."""
    try:
        yield
    except ClientError as exc:
        if _code(exc) != "ValidationException":
            raise
        raise _validation_error(exc) from exc


@contextmanager
def write_errors() -> Iterator[None]:
    """A single-item write's errors: a failed condition -> `ConditionalCheckFailed` with the
    stored item; ValidationException -> ValidationError; other errors unchanged."""
    try:
        yield
    except ClientError as exc:
        code = _code(exc)
        if code == "ConditionalCheckFailedException":
            raise ConditionalCheckFailed(_item(exc.response.get("Item"))) from None
        if code == "ValidationException":
            raise _validation_error(exc) from exc
        raise


@contextmanager
def transaction_errors(actions: Sequence[Action]) -> Iterator[None]:
    """TransactWriteItems' errors: a cancellation -> `Cancelled` with one reason per action
    (ValidationError when an action was refused as invalid); ValidationException ->
    ValidationError; other errors unchanged."""
    try:
        yield
    except ClientError as exc:
        code = _code(exc)
        if code == "ValidationException":
            raise _validation_error(exc) from exc
        if code != "TransactionCanceledException":
            raise
        raw = exc.response.get("CancellationReasons") or _reasons_from_message(
            exc.response.get("Error", {}).get("Message", ""), len(actions)
        )
        reasons = [
            RawReason(r.get("Code", "None"), r.get("Message"), _item(r.get("Item"))) for r in raw
        ]
        invalid = _invalid_action(actions, reasons)
        if invalid is not None:
            raise invalid from exc
        raise Cancelled(reasons) from None


def _code(exc: ClientError) -> Any:
    return exc.response.get("Error", {}).get("Code")


def _validation_error(exc: ClientError) -> ValidationError:
    message = exc.response.get("Error", {}).get("Message") or "no message"
    return ValidationError(f"DynamoDB refused the request (ValidationException): {message}")


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


def _identity(
    keys: Mapping[str, tuple[str, ...]], table: str, action: Put | Delete
) -> tuple[str, Any]:
    source = action.item if isinstance(action, Put) else action.key
    kind = "put" if isinstance(action, Put) else "delete"
    names = keys.get(table)
    if names is None:  # an unregistered table: only an identical echo matches
        return kind, wirejson.dumps(source)
    return kind, key_id({n: source[n] for n in names if n in source})


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
