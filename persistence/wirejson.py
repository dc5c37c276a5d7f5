"""JSON for wire items (cursors, checkpoints): binary values become tagged base64."""

from __future__ import annotations

import base64
import json
from typing import Any


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return {"__b64__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "__b64__" in value:
            return base64.b64decode(value["__b64__"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def dumps(value: Any, *, ensure_ascii: bool = True) -> str:
    return json.dumps(
        _encode(value), sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii
    )


def loads(text: str | bytes) -> Any:
    return _decode(json.loads(text))
