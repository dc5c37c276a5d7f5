"""Compact JSON for DynamoDB requests, with orjson when it is installed (adr/0019).

orjson (the `fast` extra) encodes a 100-action TransactWriteItems body about four times faster
than the standard library, and its output length bounds an item's DynamoDB size cheaply
(validation.check_put_item). It is optional: without it the standard library encodes the same
documents, and the validation computes every item's exact size as before.
"""

from __future__ import annotations

import base64
import json
from typing import Any

_ORJSON: Any = None  # the module; False when it is not installed; None before the first look


def orjson_module() -> Any:
    """orjson, imported on first use (a cold start that never commits a transaction does not
    pay for its import), or None when it is not installed."""
    global _ORJSON
    if _ORJSON is None:
        try:
            import orjson
        except ImportError:
            _ORJSON = False
        else:
            _ORJSON = orjson
    return _ORJSON or None


def request_default(value: Any) -> Any:
    """The `default` of every JSON encoding of a DynamoDB request: bytes as base64 (as botocore
    sends them); anything else is not part of a request (TypeError)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not part of a DynamoDB request")


def _orjson_dumps(fast: Any, document: Any) -> bytes:
    # Datetimes and dataclasses go to the default, which refuses them, rather than being encoded
    # in orjson's own way: orjson accepts no document the standard library would refuse for that.
    option = fast.OPT_PASSTHROUGH_DATETIME | fast.OPT_PASSTHROUGH_DATACLASS
    encoded: bytes = fast.dumps(document, default=request_default, option=option)
    return encoded


def request_body(document: Any) -> bytes:
    """`document` as a DynamoDB JSON request body: compact, UTF-8, bytes as base64 (as botocore
    sends them).

    Raises:
        TypeError, ValueError: what the standard library cannot encode either (a set, a
            datetime...): the caller leaves that request to botocore.
    """
    fast = orjson_module()
    if fast is not None:
        try:
            return _orjson_dumps(fast, document)
        except TypeError:
            pass  # a lone surrogate, an int over 64 bits...: the standard library decides
    # The documents are trees the library built itself (no cycles): the encoder's cycle
    # bookkeeping (a dict entry per container) is pure cost.
    text = json.dumps(
        document, separators=(",", ":"), default=request_default, check_circular=False
    )
    return text.encode("utf-8")


def encoded_length(value: Any) -> int | None:
    """Bytes of `value` as compact UTF-8 JSON (binary as base64) when orjson is installed and
    encodes it, else None (orjson missing, a lone surrogate, a value that is no wire value)."""
    fast = orjson_module()
    if fast is None:
        return None
    try:
        return len(_orjson_dumps(fast, value))
    except TypeError:
        return None
