"""JSON for domain events (outbox), through dataclasses-json.

Events stay plain dataclasses with no persistence import, so the codec uses dataclasses-json's
functions rather than its decorator (which would have to be applied to the domain classes).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable
from typing import Any

from dataclasses_json.core import _asdict, _decode_dataclass, _ExtendedEncoder

from ..errors import ValidationError
from ..validation import check_text


def type_name(event_type: type) -> str:
    return f"{event_type.__module__}.{event_type.__qualname__}"


class EventCodec:
    def __init__(self, event_types: Iterable[type] = ()) -> None:
        self._types = {type_name(t): t for t in event_types}

    def register(self, event_type: type) -> None:
        self._types[type_name(event_type)] = event_type

    def encode(self, event: Any) -> tuple[str, str]:
        data = _asdict(event, False)  # type: ignore[no-untyped-call]
        name = type_name(type(event))
        # Not ASCII-escaped: a lone surrogate would hide behind a "\\ud800" escape, be stored
        # and come back to the relay; as text it is refused like in any other attribute.
        payload = json.dumps(data, cls=_ExtendedEncoder, ensure_ascii=False)
        check_text(payload, f"event {name}")
        return name, payload

    def decode(self, name: str, payload: str) -> Any:
        event_type = self._types.get(name) or _import(name)
        return _decode_dataclass(event_type, json.loads(payload), False)  # type: ignore[no-untyped-call]


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
