"""Per-type converters: one `TypeConverter` (to_attr / from_attr) per declared Python type.

Builders receive the `Registry` they build for instead of reaching for module globals: a
nested dataclass or a list element asks that registry for its own converter, so this module
never imports the code generator or the registry (no import circle).
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from ... import numbers
from ...errors import ValidationError
from ...records import frozen
from ...validation import number_text, parse_number
from .wire import FromAttr, Item, ToAttr, Wire, dynamic_set, from_wire, or_null

Custom = tuple[Callable[[Any], Any], Callable[[Any], Any]]


@frozen
class TypeConverter:
    """How values of one declared type go to and come from the wire."""

    to_attr: ToAttr
    from_attr: FromAttr

    def __init__(
        self,
        to_attr: ToAttr,
        from_attr: FromAttr,
        fast: str = "",
        python: Any = None,
        is_set: bool = False,
    ) -> None:
        object.__setattr__(self, "to_attr", to_attr)
        object.__setattr__(self, "from_attr", from_attr)
        object.__setattr__(self, "fast", fast)
        object.__setattr__(self, "python", python)
        object.__setattr__(self, "is_set", is_set)

    # Wire tag for the inline fast path in generated code ("S", "N", "BOOL"...), or "".
    fast: str = ""
    python: Any = None
    is_set: bool = False


class ClassCodec(Protocol):
    """What a dataclass converter offers its users (the generated functions)."""

    to_item: Callable[[Any], Item]
    from_item: Callable[[Mapping[str, Wire]], Any]


class Registry(Protocol):
    """The converters a builder may ask for: see `registry.Converters`."""

    def converter_for(self, tp: Any) -> TypeConverter: ...

    def class_converter(self, cls: type, exclude: frozenset[str] | None = None) -> ClassCodec: ...

    def find_custom(self, t: type) -> Custom | None: ...

    def to_wire(self, value: Any) -> Wire: ...

    def building(self, cls: type) -> bool: ...


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """(the type inside `X | None`, whether None was allowed); a wider union is Any."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) != len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], optional
        return typing.Any, optional
    return tp, False


def _none_or(convert: FromAttr) -> FromAttr:
    def from_attr(value: Wire) -> Any:
        if "NULL" in value:
            return None
        return convert(value)

    return from_attr


def _expect(tag: str, name: str) -> Callable[[Wire], Any]:
    def get(value: Wire) -> Any:
        try:
            return value[tag]
        except KeyError:
            raise ValidationError(f"expected a {name} ({tag}), the item holds {value!r}") from None

    return get


def build(tp: Any, reg: Registry) -> TypeConverter:
    """A new converter for the declared type `tp`, asking `reg` for the ones it contains."""
    tp, _ = unwrap_optional(tp)
    if tp is typing.Any or tp is object:
        return TypeConverter(reg.to_wire, from_wire)
    custom = reg.find_custom(tp) if isinstance(tp, type) else None
    if custom is not None:
        to_plain, from_plain = custom
        to_wire = reg.to_wire
        return TypeConverter(
            lambda v: to_wire(to_plain(v)), _none_or(lambda w: from_plain(from_wire(w))), python=tp
        )
    origin = typing.get_origin(tp) or tp
    args = typing.get_args(tp)
    if tp is str:
        return _str_converter()
    if tp is bool:
        return _bool_converter()
    if tp in (int, float, Decimal):
        return _number_converter(tp)
    if tp in (bytes, bytearray):
        get_bin = _expect("B", "binary")
        return TypeConverter(
            lambda v: {"B": bytes(_check(v, (bytes, bytearray, memoryview), "bytes"))},
            _none_or(lambda w: tp(get_bin(w))),
            python=tp,
        )
    if tp is datetime or tp is date:
        get_dt = _expect("S", "ISO-8601 string")
        return TypeConverter(
            lambda v: {"S": _check(v, tp, tp.__name__).isoformat()},
            _none_or(lambda w: tp.fromisoformat(get_dt(w))),
            python=tp,
        )
    if tp is uuid.UUID:
        get_u = _expect("S", "UUID string")
        return TypeConverter(
            lambda v: {"S": str(_check(v, uuid.UUID, "UUID"))},
            _none_or(lambda w: uuid.UUID(get_u(w))),
            python=tp,
        )
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum_converter(tp, reg)
    if origin in (set, frozenset):
        return _set_converter(origin, args[0] if args else typing.Any, reg)
    if origin in (list, tuple) or tp in (list, tuple):
        return _sequence_converter(origin, args, reg)
    if origin is dict or tp is dict:
        return _dict_converter(args, reg)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_converter(tp, reg)
    raise ValidationError(
        f"no converter for type {tp!r}: use a supported type or register_converter({tp!r}, ...)"
    )


def _str_converter() -> TypeConverter:
    get_s = _expect("S", "string")

    def str_to(v: Any) -> Wire:
        if type(v) is not str and not isinstance(v, str):
            raise ValidationError(f"expected a str, got {type(v).__name__} {v!r}")
        return {"S": str(v)}

    return TypeConverter(str_to, _none_or(get_s), fast="S", python=str)


def _bool_converter() -> TypeConverter:
    get_b = _expect("BOOL", "bool")

    def bool_to(v: Any) -> Wire:
        if not isinstance(v, bool):
            raise ValidationError(f"expected a bool, got {type(v).__name__} {v!r}")
        return {"BOOL": v}

    return TypeConverter(bool_to, _none_or(get_b), fast="BOOL", python=bool)


def _enum_converter(enum_type: type[enum.Enum], reg: Registry) -> TypeConverter:
    to_wire = reg.to_wire

    def enum_to(v: Any) -> Wire:
        if not isinstance(v, enum_type):
            v = enum_type(v)  # accept the raw value too; ValueError below names it
        return to_wire(v.value)

    def enum_from(w: Wire) -> Any:
        raw = from_wire(w)
        try:
            return enum_type(raw)
        except ValueError:
            raise ValidationError(f"{raw!r} is not a {enum_type.__name__}") from None

    return TypeConverter(_wrap_value_error(enum_to), _none_or(enum_from), python=enum_type)


def _dataclass_converter(nested: type, reg: Registry) -> TypeConverter:
    def nested_to(v: Any) -> Wire:
        return {"M": reg.class_converter(nested).to_item(v)}

    def nested_from(w: Wire) -> Any:
        if "M" not in w:
            raise ValidationError(f"expected a map for {nested.__name__}, got {w!r}")
        return reg.class_converter(nested).from_item(w["M"])

    return TypeConverter(nested_to, _none_or(nested_from), python=nested)


def _wrap_value_error(fn: ToAttr) -> ToAttr:
    def wrapped(v: Any) -> Wire | None:
        try:
            return fn(v)
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                raise
            raise ValidationError(str(exc)) from None

    return wrapped


def _check(v: Any, types_: Any, name: str) -> Any:
    if not isinstance(v, types_) or isinstance(v, bool):
        raise ValidationError(f"expected {name}, got {type(v).__name__} {v!r}")
    return v


def _number_converter(tp: type) -> TypeConverter:
    get_n = _expect("N", "number")
    if tp is int:

        def int_from(w: Wire) -> int:
            text = get_n(w)
            try:
                return int(text)
            except ValueError:
                number = parse_number(text)
                if not numbers.is_integer(number):
                    raise ValidationError(f"{text} is not an integer") from None
                return int(number)

        from_attr: FromAttr = int_from
    elif tp is float:
        from_attr = lambda w: float(get_n(w))  # noqa: E731
    else:
        from_attr = lambda w: parse_number(get_n(w))  # noqa: E731

    def number_to(v: Any) -> Wire:
        return {"N": number_text(v, tp.__name__)}

    return TypeConverter(number_to, _none_or(from_attr), fast="N", python=tp)


def _set_converter(origin: type, element: Any, reg: Registry) -> TypeConverter:
    element, _ = unwrap_optional(element)
    make = frozenset if origin is frozenset else set
    if element is str:
        tag = "SS"
    elif element in (int, float, Decimal):
        tag = "NS"
    elif element in (bytes, bytearray):
        tag = "BS"
    elif element is typing.Any:
        tag = ""
    else:
        raise ValidationError(f"sets hold str, numbers or bytes, not {element!r}")
    elem_from = reg.converter_for(element).from_attr if tag == "NS" else None

    def set_to(v: Any) -> Wire | None:
        if not isinstance(v, set | frozenset):
            raise ValidationError(f"expected a set, got {type(v).__name__}")
        if not v:
            return None  # DynamoDB has no empty set: the attribute is left out
        wire = dynamic_set(v)
        if tag and wire is not None and tag not in wire:
            raise ValidationError(
                f"expected a set of {element.__name__}, got {sorted(map(repr, v))}"
            )
        return wire

    def set_from(w: Wire) -> Any:
        if "NULL" in w:
            return make()
        if tag == "NS" and elem_from is not None:
            return make(elem_from({"N": n}) for n in w["NS"])
        return make(from_wire(w))

    return TypeConverter(set_to, set_from, python=origin, is_set=True)


def _sequence_converter(origin: Any, args: tuple[Any, ...], reg: Registry) -> TypeConverter:
    make = tuple if origin is tuple else list
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        convs = [reg.converter_for(a) for a in args]

        def fixed_to(v: Any) -> Wire:
            if len(v) != len(convs):
                raise ValidationError(f"expected {len(convs)} elements, got {len(v)}")
            return {"L": [element_to(c)(x) for c, x in zip(convs, v, strict=True)]}

        def fixed_from(w: Wire) -> Any:
            return tuple(c.from_attr(x) for c, x in zip(convs, w["L"], strict=True))

        return TypeConverter(fixed_to, _none_or(fixed_from), python=tuple)
    conv = reg.converter_for(args[0] if args else typing.Any)
    elem_to, elem_from = conv.to_attr, conv.from_attr

    def seq_to(v: Any) -> Wire:
        if not isinstance(v, list | tuple):
            raise ValidationError(f"expected a list, got {type(v).__name__}")
        return {"L": [{"NULL": True} if x is None else or_null(elem_to(x)) for x in v]}

    def seq_from(w: Wire) -> Any:
        return make(elem_from(x) for x in w["L"])

    return TypeConverter(seq_to, _none_or(seq_from), python=make)


def element_to(conv: TypeConverter) -> Callable[[Any], Wire]:
    """The converter's to_attr for a list or map member: None and empty sets become NULL."""
    to_attr = conv.to_attr

    def element(x: Any) -> Wire:
        return {"NULL": True} if x is None else or_null(to_attr(x))

    return element


def _dict_converter(args: tuple[Any, ...], reg: Registry) -> TypeConverter:
    if args and args[0] is not str and args[0] is not typing.Any:
        raise ValidationError(f"map keys must be str, not {args[0]!r}")
    conv = reg.converter_for(args[1] if len(args) == 2 else typing.Any)
    elem_to, elem_from = conv.to_attr, conv.from_attr

    def dict_to(v: Any) -> Wire:
        if not isinstance(v, Mapping):
            raise ValidationError(f"expected a dict, got {type(v).__name__}")
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise ValidationError(f"map keys must be strings, got {k!r}")
            out[k] = {"NULL": True} if x is None else or_null(elem_to(x))
        return {"M": out}

    def dict_from(w: Wire) -> Any:
        return {k: elem_from(x) for k, x in w["M"].items()}

    return TypeConverter(dict_to, _none_or(dict_from), python=dict)
