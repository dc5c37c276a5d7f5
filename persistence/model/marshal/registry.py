"""The converter registry: custom converters and the caches of built converters, in one object.

`Converters` owns everything that used to be module state (custom converters, the per-type
and per-class caches, the classes being built right now), so registering a converter clears
exactly the caches that depend on it, and the per-type builders (converters.py) and the code
generator (codegen.py) call back into the registry they are given instead of importing each
other. The package's functions use one shared instance, `CONVERTERS`.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from ...errors import ValidationError
from ...validation import number_text
from .codegen import ClassConverter
from .converters import Custom, TypeConverter, build
from .wire import NUMBER_TYPES, Wire, dynamic_set

DEFAULT_EXCLUDE = frozenset({"events"})


class Converters:
    """Custom converters plus the converters built from them, safe to share between threads.

    Built converters are immutable; the caches are filled under one reentrant lock (building a
    class converter builds the converters of its fields, and of nested classes, on the same
    thread).
    """

    def __init__(self) -> None:
        self._custom: dict[type, Custom] = {}
        self._types: dict[Any, TypeConverter] = {}
        self._classes: dict[tuple[type, frozenset[str]], ClassConverter] = {}
        # Classes under construction by the thread holding the lock (recursive dataclasses).
        self._building: set[type] = set()
        self._lock = threading.RLock()

    def register(
        self, python_type: type, to_attr: Callable[[Any], Any], from_attr: Callable[[Any], Any]
    ) -> None:
        """Store `python_type` as what `to_attr` returns; read it back through `from_attr`."""
        with self._lock:
            self._custom[python_type] = (to_attr, from_attr)
            # Any built converter may have inlined the type's old handling.
            self._types.clear()
            self._classes.clear()

    def find_custom(self, t: type) -> Custom | None:
        """The custom converter registered for `t` or its nearest base class."""
        custom = self._custom
        for klass in t.__mro__:
            if klass in custom:
                return custom[klass]
        return None

    def converter_for(self, tp: Any) -> TypeConverter:
        """The (cached) converter for the declared type `tp`."""
        cached = self._types.get(tp)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._types.get(tp)
            if cached is None:
                cached = build(tp, self)
                self._types[tp] = cached
            return cached

    def class_converter(self, cls: type, exclude: frozenset[str] | None = None) -> ClassConverter:
        """The cached converter for `cls`; by default a field named `events` is never stored."""
        key = (cls, DEFAULT_EXCLUDE if exclude is None else exclude)
        conv = self._classes.get(key)
        if conv is None:
            with self._lock:
                conv = self._classes.get(key)
                if conv is None:
                    self._building.add(cls)
                    try:
                        conv = ClassConverter(cls, key[1], self)
                    finally:
                        self._building.discard(cls)
                    self._classes[key] = conv
        return conv

    def building(self, cls: type) -> bool:
        """Whether `cls`'s converter is being built right now (so it must be bound lazily)."""
        return cls in self._building

    def to_wire(self, value: Any) -> Wire:
        """Marshal a value by its runtime type (untyped fields, Specification operands)."""
        if value is None:
            return {"NULL": True}
        t = type(value)
        if t is str:
            return {"S": value}
        if t is bool:
            return {"BOOL": value}
        if t in NUMBER_TYPES:
            return {"N": number_text(value, "number")}
        if t is bytes or t is bytearray:
            return {"B": bytes(value)}
        if isinstance(value, enum.Enum):
            return self.to_wire(value.value)
        if isinstance(value, datetime | date):
            return {"S": value.isoformat()}
        if isinstance(value, uuid.UUID):
            return {"S": str(value)}
        if isinstance(value, Mapping):
            out: dict[str, Wire] = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise ValidationError(f"map keys must be strings, got {k!r}")
                out[k] = self.to_wire(v)
            return {"M": out}
        if isinstance(value, set | frozenset):
            wire = dynamic_set(value)
            if wire is None:
                raise ValidationError("DynamoDB has no empty set value")
            return wire
        if isinstance(value, list | tuple):
            return {"L": [self.to_wire(v) for v in value]}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {"M": self.class_converter(type(value)).to_item(value)}
        custom = self.find_custom(t)
        if custom is not None:
            return self.to_wire(custom[0](value))
        raise ValidationError(
            f"cannot store {t.__name__} {value!r}: register a converter with register_converter()"
        )


CONVERTERS = Converters()
"""The registry behind `register_converter`, `to_wire`, `class_converter` and every Mapping."""
