"""JSON for domain events (outbox), through dataclasses-json.

Events stay plain dataclasses with no persistence import, so the codec calls the methods of
dataclasses-json's public `DataClassJsonMixin` on them rather than applying its decorator (which
would change the domain classes). The stored JSON is what dataclasses-json's own `to_json` writes:
`_JsonEncoder` encodes the values JSON has no type for the same way.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from dataclasses_json import DataClassJsonMixin

from ..errors import ValidationError
from ..validation import check_text


def type_name(event_type: type) -> str:
    return f"{event_type.__module__}.{event_type.__qualname__}"


# The mixin's methods, called with a plain dataclass (or its class) in the place of `self`.
_to_dict = DataClassJsonMixin.to_dict
_from_dict = vars(DataClassJsonMixin)["from_dict"].__func__


class _JsonEncoder(json.JSONEncoder):
    """Values JSON has no type for, written as dataclasses-json writes them (its `to_json`), so
    records stored before keep decoding and new ones are byte for byte the same."""

    def default(self, o: Any) -> Any:
        if isinstance(o, Collection):
            return dict(o) if isinstance(o, Mapping) else list(o)
        if isinstance(o, datetime):
            return o.timestamp()
        if isinstance(o, UUID):
            return str(o)
        if isinstance(o, Enum):
            return o.value
        if isinstance(o, Decimal):
            return str(o)
        return super().default(o)


class EventCodec:
    def __init__(self, event_types: Iterable[type] = ()) -> None:
        self._types = {type_name(t): t for t in event_types}

    def register(self, event_type: type) -> None:
        self._types[type_name(event_type)] = event_type

    def encode(self, event: Any) -> tuple[str, str]:
        data = _to_dict(event)
        name = type_name(type(event))
        # Not ASCII-escaped: a lone surrogate would hide behind a "\\ud800" escape, be stored
        # and come back to the relay; as text it is refused like in any other attribute.
        payload = json.dumps(data, cls=_JsonEncoder, ensure_ascii=False)
        check_text(payload, f"event {name}")
        return name, payload

    def decode(self, name: str, payload: str) -> Any:
        event_type = self._types.get(name) or _import(name)
        return _from_dict(event_type, json.loads(payload), infer_missing=False)


def _import(name: str) -> type:
    module_name, _, qualname = name.rpartition(".")
    try:
        target: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        raise ValidationError(f"unknown event type {name!r}: register it with the outbox") from None
    if not isinstance(target, type):
        raise ValidationError(f"{name!r} is not an event class")
    return target
