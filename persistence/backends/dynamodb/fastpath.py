"""botocore fast paths for the requests the library itself makes.

Reading: botocore parses a DynamoDB response twice over, `json.loads` and then a walk of every
attribute value against the service model (about 15x the `json.loads` alone on a 1000-item page).
The only conversion that walk performs on items is base64 -> bytes for B and BS values, so the
`before-parse` handler here takes the items out of the JSON itself, decodes binary values the same
way, hands them over through `customized_response_dict` and leaves botocore the small remainder
(LastEvaluatedKey, Count, ConsumedCapacity, UnprocessedKeys...) to parse as usual. The response
that reaches the caller is equal to what botocore would have built.

Writing: validating and serialising a 100-action TransactWriteItems walks every attribute value
against the model too (~10x `json.dumps` of the same body). For the library's own transactions the
body is serialised up front (`fastjson.request_body`: orjson when installed, else `json.dumps`;
bytes as base64, as botocore sends them); botocore
validates and serialises a placeholder holding one action per table (so endpoint rules still see
every table name), and the body is swapped in before signing. The library validates what DynamoDB
would refuse itself (validation.py), before any request.

Only requests made while `ours()` is active are touched: a boto3 client is often shared with other
code, whose requests and responses go through botocore unchanged. The flag is a ContextVar, so
threads and asyncio tasks sharing the client never see each other's flag. Error responses
(status >= 300) are never touched, and the CRC32 check of DynamoDB responses is unaffected: it
reads the raw HTTP body, which this module leaves as it was.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from ... import fastjson

_OURS: ContextVar[bool] = ContextVar("persistence_fastpath", default=False)

# Where each read operation keeps its items in the response body.
_ITEMS = {"Query": "Items", "Scan": "Items", "GetItem": "Item", "BatchGetItem": "Responses"}
_BODY = "persistence_fastpath_body"  # request-context key of the pre-serialised body
_MARK = "_persistence_fastpath"


@contextmanager
def ours(enabled: bool = True) -> Iterator[None]:
    """Mark the client calls made inside the block as the library's own (or, with False, as
    calls that must take botocore's ordinary path even if the client has the handlers)."""
    token = _OURS.set(enabled)
    try:
        yield
    finally:
        _OURS.reset(token)


def mark(enabled: bool) -> Token[bool]:
    """`ours(enabled)` without the context manager, for the transport's hot path: the token
    to hand to `unmark` (in a `finally`)."""
    return _OURS.set(enabled)


def unmark(token: Token[bool]) -> None:
    _OURS.reset(token)


def install(client: Any) -> bool:
    """Register the handlers on a botocore DynamoDB client (idempotent). False when the client is
    not a botocore client (a test double): the library then works without the fast paths."""
    try:
        events = client.meta.events
        service = client.meta.service_model.service_id.hyphenize()
    except AttributeError:
        return False
    if service != "dynamodb":
        return False
    if getattr(client.meta, _MARK, False):
        return True
    for operation in _ITEMS:
        # Last: other handlers (a user's logging, a test's recorder) see the body untouched.
        events.register_last(
            f"before-parse.dynamodb.{operation}",
            before_parse,
            unique_id=f"persistence-fastpath-parse-{operation}",
        )
    # Last, so the idempotency token botocore generates is already in the params.
    events.register_last(
        "before-parameter-build.dynamodb.TransactWriteItems",
        _before_parameter_build,
        unique_id="persistence-fastpath-serialise",
    )
    # First, so any other before-call handler sees the body that will be sent.
    events.register_first(
        "before-call.dynamodb.TransactWriteItems",
        _before_call,
        unique_id="persistence-fastpath-body",
    )
    setattr(client.meta, _MARK, True)
    return True


# ---------------------------------------------------------------------------- reading


def before_parse(
    operation_model: Any, response_dict: dict[str, Any], customized_response_dict: Any, **_: Any
) -> None:
    if not _OURS.get() or response_dict.get("status_code", 500) >= 300:
        return
    body = response_dict.get("body")
    if not isinstance(body, bytes) or not body:
        return
    try:
        document = json.loads(body)
    except ValueError:
        return  # not JSON: botocore reports it as it always does
    if not isinstance(document, dict):
        return
    taken = take_items(operation_model.name, document, body)
    if taken is None:
        return
    customized_response_dict[taken[0]] = taken[1]
    response_dict["body"] = json.dumps(document).encode("utf-8")


def take_items(operation: str, document: dict[str, Any], body: bytes) -> tuple[str, Any] | None:
    """Pop the items of a read's parsed 2xx `body` out of `document`, binary values decoded as
    botocore's parser decodes them: (their key, the items), or None when there are none to take
    (then botocore's parser reads them, null included)."""
    key = _ITEMS.get(operation)
    if key is None or not isinstance(document.get(key), list if key == "Items" else dict):
        return None
    taken = document.pop(key)
    # JSON escapes every quote inside a string, so `"B"` in the body is a key (or the string
    # value "B"): without it no value needs decoding and the walk is skipped.
    if b'"B"' in body or b'"BS"' in body:
        if key == "Items":
            for item in taken:
                _decode_item(item)
        elif key == "Item":
            _decode_item(taken)
        else:
            for items in taken.values():
                for item in items:
                    _decode_item(item)
    return key, taken


def _decode_item(item: dict[str, dict[str, Any]]) -> None:
    for value in item.values():
        _decode_value(value)


def _decode_value(value: dict[str, Any]) -> None:
    """B and BS become bytes in place, as botocore's blob parser does."""
    if "B" in value:
        value["B"] = base64.b64decode(value["B"])
    elif "BS" in value:
        value["BS"] = [base64.b64decode(b) for b in value["BS"]]
    elif "M" in value:
        for inner in value["M"].values():
            _decode_value(inner)
    elif "L" in value:
        for inner in value["L"]:
            _decode_value(inner)


# ---------------------------------------------------------------------------- writing


def _before_parameter_build(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if not _OURS.get():
        return
    actions = params.get("TransactItems")
    if not isinstance(actions, list) or len(actions) < 2:
        return
    try:
        body = fastjson.request_body(params)
    except (TypeError, ValueError, RecursionError):
        return  # something only botocore knows how to send: let it do the whole job
    placeholder: dict[str, Any] = {}
    for action in actions:
        try:
            (request,) = action.values()
            table = request["TableName"]
        except (AttributeError, KeyError, TypeError, ValueError):
            return
        placeholder.setdefault(table, action)
    context[_BODY] = body
    params["TransactItems"] = list(placeholder.values())


def _before_call(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    body = context.pop(_BODY, None)
    if body is not None:
        params["body"] = body
