"""Compiled converters between Python values and DynamoDB's wire format.

- `wire`: the `Wire` and `Item` types and conversions that need no declared type;
- `converters`: one converter per declared Python type;
- `codegen`: generated `to_item` / `from_item` functions per dataclass;
- `registry`: `Converters`, the custom converters and caches of built converters
  (`CONVERTERS` is the shared one behind the functions below).

A converter is built once per dataclass (and per set of excluded fields) and cached. Built
converters are immutable, so they are safe to share between threads; the caches are filled
under a lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .codegen import ClassConverter, FieldInfo
from .converters import TypeConverter, unwrap_optional
from .registry import CONVERTERS, DEFAULT_EXCLUDE, Converters
from .wire import FromAttr, Item, ToAttr, Wire, from_wire


def register_converter(
    python_type: type, to_attr: Callable[[Any], Any], from_attr: Callable[[Any], Any]
) -> None:
    """Store values of `python_type` as what `to_attr` returns (str, number, bytes, bool, list,
    dict...) and read them back through `from_attr`, which receives that plain value.

    Register before building the Mapping (or the first conversion) of a class that uses the type.
    """
    CONVERTERS.register(python_type, to_attr, from_attr)


def to_wire(value: Any) -> Wire:
    """Marshal a value by its runtime type (untyped fields, Specification operands)."""
    return CONVERTERS.to_wire(value)


def find_custom(t: type) -> tuple[Callable[[Any], Any], Callable[[Any], Any]] | None:
    """The custom converter registered for `t` or its nearest base class, if any."""
    return CONVERTERS.find_custom(t)


def converter_for(tp: Any) -> TypeConverter:
    """The cached converter for the declared type `tp`."""
    return CONVERTERS.converter_for(tp)


def class_converter(cls: type, exclude: frozenset[str] | None = None) -> ClassConverter:
    """The cached converter for `cls`; by default a field named `events` is never stored."""
    return CONVERTERS.class_converter(cls, exclude)


__all__ = [
    "CONVERTERS",
    "DEFAULT_EXCLUDE",
    "ClassConverter",
    "Converters",
    "FieldInfo",
    "FromAttr",
    "Item",
    "ToAttr",
    "TypeConverter",
    "Wire",
    "class_converter",
    "converter_for",
    "find_custom",
    "from_wire",
    "register_converter",
    "to_wire",
    "unwrap_optional",
]
