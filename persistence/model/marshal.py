"""Compiled converters between Python values and DynamoDB's wire format.

A converter is built once per dataclass (and per set of excluded fields) and cached: the
dataclass-level functions are generated as Python source with inline fast paths for the common
scalar types, calling per-type closures for everything else. Built converters are immutable, so
they are safe to share between threads; the cache is filled under a lock.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .. import numbers
from ..errors import ValidationError
from ..validation import number_text, parse_number

Wire = dict[str, Any]
Item = dict[str, Wire]
ToAttr = Callable[[Any], Wire | None]
FromAttr = Callable[[Wire], Any]

_NUMBER_TYPES = (int, float, Decimal)
_custom: dict[type, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {}
_lock = threading.RLock()


def register_converter(
    python_type: type, to_attr: Callable[[Any], Any], from_attr: Callable[[Any], Any]
) -> None:
    """Store values of `python_type` as what `to_attr` returns (str, number, bytes, bool, list,
    dict...) and read them back through `from_attr`, which receives that plain value.

    Register before building the Mapping (or the first conversion) of a class that uses the type.
    """
    with _lock:
        _custom[python_type] = (to_attr, from_attr)
        _type_cache.clear()
        _class_cache.clear()


# --------------------------------------------------------------------------- dynamic values


def to_wire(value: Any) -> Wire:
    """Marshal a value by its runtime type (untyped fields, Specification operands)."""
    if value is None:
        return {"NULL": True}
    t = type(value)
    if t is str:
        return {"S": value}
    if t is bool:
        return {"BOOL": value}
    if t in _NUMBER_TYPES:
        return {"N": number_text(value, "number")}
    if t is bytes or t is bytearray:
        return {"B": bytes(value)}
    if isinstance(value, enum.Enum):
        return to_wire(value.value)
    if isinstance(value, datetime | date):
        return {"S": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"S": str(value)}
    if isinstance(value, Mapping):
        out: dict[str, Wire] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValidationError(f"map keys must be strings, got {k!r}")
            out[k] = to_wire(v)
        return {"M": out}
    if isinstance(value, set | frozenset):
        wire = _dynamic_set(value)
        if wire is None:
            raise ValidationError("DynamoDB has no empty set value")
        return wire
    if isinstance(value, list | tuple):
        return {"L": [to_wire(v) for v in value]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"M": class_converter(type(value)).to_item(value)}
    custom = find_custom(t)
    if custom is not None:
        return to_wire(custom[0](value))
    raise ValidationError(
        f"cannot store {t.__name__} {value!r}: register a converter with register_converter()"
    )


def _dynamic_set(value: set[Any] | frozenset[Any]) -> Wire | None:
    if not value:
        return None
    kinds = {_set_kind(v) for v in value}
    if len(kinds) != 1:
        raise ValidationError(
            f"a set must hold one type (strings, numbers or bytes), got {sorted(kinds)}"
        )
    kind = kinds.pop()
    if kind == "SS":
        return {"SS": sorted(value)}
    if kind == "NS":
        return {"NS": _number_set(value)}
    return {"BS": sorted(bytes(v) for v in value)}


def _number_set(values: Any) -> list[str]:
    texts = [number_text(v, "number set") for v in values]
    if len({parse_number(t) for t in texts}) != len(texts):
        raise ValidationError("a number set holds duplicate members")
    return texts


def _set_kind(v: Any) -> str:
    if isinstance(v, str):
        return "SS"
    if isinstance(v, bool):
        return "BOOL"
    if isinstance(v, _NUMBER_TYPES):
        return "NS"
    if isinstance(v, bytes | bytearray):
        return "BS"
    return type(v).__name__


def from_wire(value: Wire) -> Any:
    """Unmarshal by wire type: N becomes int when integral in form, else Decimal."""
    (tag, inner), *_ = value.items()
    if tag == "S":
        return inner
    if tag == "N":
        return _plain_number(inner)
    if tag == "BOOL":
        return inner
    if tag == "NULL":
        return None
    if tag == "B":
        return bytes(inner)
    if tag == "M":
        return {k: from_wire(v) for k, v in inner.items()}
    if tag == "L":
        return [from_wire(v) for v in inner]
    if tag == "SS":
        return set(inner)
    if tag == "NS":
        return {_plain_number(n) for n in inner}
    if tag == "BS":
        return {bytes(b) for b in inner}
    raise ValidationError(f"unknown attribute value type {tag!r}")


def _plain_number(text: str) -> int | Decimal:
    if "." in text or "e" in text or "E" in text:
        return parse_number(text)
    return int(text)


def find_custom(t: type) -> tuple[Callable[[Any], Any], Callable[[Any], Any]] | None:
    for klass in t.__mro__:
        if klass in _custom:
            return _custom[klass]
    return None


# --------------------------------------------------------------------------- typed converters


@dataclasses.dataclass(frozen=True)
class TypeConverter:
    to_attr: ToAttr
    from_attr: FromAttr
    # Wire tag for the inline fast path in generated code ("S", "N", "BOOL"...), or "".
    fast: str = ""
    python: Any = None
    is_set: bool = False


_type_cache: dict[Any, TypeConverter] = {}


def converter_for(tp: Any) -> TypeConverter:
    with _lock:
        cached = _type_cache.get(tp)
        if cached is None:
            cached = _build(tp)
            _type_cache[tp] = cached
        return cached


def unwrap_optional(tp: Any) -> tuple[Any, bool]:
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


def _build(tp: Any) -> TypeConverter:
    tp, _ = unwrap_optional(tp)
    if tp is typing.Any or tp is object:
        return TypeConverter(to_wire, from_wire)
    custom = find_custom(tp) if isinstance(tp, type) else None
    if custom is not None:
        to_plain, from_plain = custom
        return TypeConverter(
            lambda v: to_wire(to_plain(v)), _none_or(lambda w: from_plain(from_wire(w))), python=tp
        )
    origin = typing.get_origin(tp) or tp
    args = typing.get_args(tp)
    if tp is str:
        get_s = _expect("S", "string")

        def str_to(v: Any) -> Wire:
            if type(v) is not str and not isinstance(v, str):
                raise ValidationError(f"expected a str, got {type(v).__name__} {v!r}")
            return {"S": str(v)}

        return TypeConverter(str_to, _none_or(get_s), fast="S", python=str)
    if tp is bool:
        get_b = _expect("BOOL", "bool")

        def bool_to(v: Any) -> Wire:
            if not isinstance(v, bool):
                raise ValidationError(f"expected a bool, got {type(v).__name__} {v!r}")
            return {"BOOL": v}

        return TypeConverter(bool_to, _none_or(get_b), fast="BOOL", python=bool)
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
        enum_type = tp

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

        return TypeConverter(_wrap_value_error(enum_to), _none_or(enum_from), python=tp)
    if origin in (set, frozenset):
        return _set_converter(origin, args[0] if args else typing.Any)
    if origin in (list, tuple) or tp in (list, tuple):
        return _sequence_converter(origin, args)
    if origin is dict or tp is dict:
        return _dict_converter(args)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        nested = tp

        def nested_to(v: Any) -> Wire:
            return {"M": class_converter(nested).to_item(v)}

        def nested_from(w: Wire) -> Any:
            if "M" not in w:
                raise ValidationError(f"expected a map for {nested.__name__}, got {w!r}")
            return class_converter(nested).from_item(w["M"])

        return TypeConverter(nested_to, _none_or(nested_from), python=tp)
    raise ValidationError(
        f"no converter for type {tp!r}: use a supported type or register_converter({tp!r}, ...)"
    )


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


def _set_converter(origin: type, element: Any) -> TypeConverter:
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
    elem_from = converter_for(element).from_attr if tag == "NS" else None

    def set_to(v: Any) -> Wire | None:
        if not isinstance(v, set | frozenset):
            raise ValidationError(f"expected a set, got {type(v).__name__}")
        if not v:
            return None  # DynamoDB has no empty set: the attribute is left out
        wire = _dynamic_set(v)
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


def _sequence_converter(origin: Any, args: tuple[Any, ...]) -> TypeConverter:
    make = tuple if origin is tuple else list
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        convs = [converter_for(a) for a in args]

        def fixed_to(v: Any) -> Wire:
            if len(v) != len(convs):
                raise ValidationError(f"expected {len(convs)} elements, got {len(v)}")
            return {"L": [_element(c, x) for c, x in zip(convs, v, strict=True)]}

        def fixed_from(w: Wire) -> Any:
            return tuple(c.from_attr(x) for c, x in zip(convs, w["L"], strict=True))

        return TypeConverter(fixed_to, _none_or(fixed_from), python=tuple)
    conv = converter_for(args[0] if args else typing.Any)
    elem_to, elem_from = conv.to_attr, conv.from_attr

    def seq_to(v: Any) -> Wire:
        if not isinstance(v, list | tuple):
            raise ValidationError(f"expected a list, got {type(v).__name__}")
        return {"L": [{"NULL": True} if x is None else _or_null(elem_to(x)) for x in v]}

    def seq_from(w: Wire) -> Any:
        return make(elem_from(x) for x in w["L"])

    return TypeConverter(seq_to, _none_or(seq_from), python=make)


def _or_null(w: Wire | None) -> Wire:
    # An empty set inside a list or map has no wire form either; NULL keeps the position.
    return {"NULL": True} if w is None else w


def _element(conv: TypeConverter, x: Any) -> Wire:
    return {"NULL": True} if x is None else _or_null(conv.to_attr(x))


def _dict_converter(args: tuple[Any, ...]) -> TypeConverter:
    if args and args[0] is not str and args[0] is not typing.Any:
        raise ValidationError(f"map keys must be str, not {args[0]!r}")
    conv = converter_for(args[1] if len(args) == 2 else typing.Any)
    elem_to, elem_from = conv.to_attr, conv.from_attr

    def dict_to(v: Any) -> Wire:
        if not isinstance(v, Mapping):
            raise ValidationError(f"expected a dict, got {type(v).__name__}")
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise ValidationError(f"map keys must be strings, got {k!r}")
            out[k] = {"NULL": True} if x is None else _or_null(elem_to(x))
        return {"M": out}

    def dict_from(w: Wire) -> Any:
        return {k: elem_from(x) for k, x in w["M"].items()}

    return TypeConverter(dict_to, _none_or(dict_from), python=dict)


# --------------------------------------------------------------------------- dataclasses
#
# The generated functions inline one expression per field, nested to any depth for lists, dicts
# and nested dataclasses: `{'S': v} if type(v) is str else c3(v)`. Each inline test is exact
# (`type(v) is ...`), so the fast path only ever takes values it converts exactly like the
# per-type converter would; anything else (subclasses, None inside a list, a wrong type) goes to
# that converter, which validates and raises the same errors as before.

_INT_LIMIT = 10**38
_STR_ONLY = frozenset({str})


@dataclasses.dataclass(frozen=True)
class FieldInfo:
    name: str
    type: Any
    optional: bool
    converter: TypeConverter
    has_default: bool
    init: bool


class _Gen:
    """Source generation state: the exec environment and fresh local names."""

    def __init__(self, env: dict[str, Any]) -> None:
        self.env = env
        self.count = 0

    def name(self, prefix: str, value: Any = None) -> str:
        self.count += 1
        name = f"{prefix}{self.count}"
        if value is not None:
            self.env[name] = value
        return name


def _element_to(conv: TypeConverter) -> Callable[[Any], Wire]:
    to_attr = conv.to_attr

    def element(x: Any) -> Wire:
        return {"NULL": True} if x is None else _or_null(to_attr(x))

    return element


def _key_error(k: Any) -> str:
    raise ValidationError(f"map keys must be strings, got {k!r}")


def _decimal_text(v: Decimal) -> str | None:
    """The wire text of a Decimal when it is plainly within DynamoDB's limits, else None.

    str() uses exponent notation outside 1E-6..1E+(digits), so a text without 'E' and shorter
    than 39 characters has at most 38 digits and a magnitude DynamoDB accepts. Zero is left to
    number_text, which writes it as "0".
    """
    if v.is_finite() and v:
        text = str(v)
        if len(text) < 39 and "E" not in text:
            return text
    return None


def _nested(cls: type, gen: _Gen, direction: str) -> str:
    """The name of the nested class's generated function, bound eagerly unless the class is
    being built right now (a recursive dataclass), where it is looked up at call time."""
    key = (cls, DEFAULT_EXCLUDE)
    if key in _building:
        lazy: Callable[[Any], Any]
        if direction == "to":
            lazy = lambda v: class_converter(cls).to_item(v)  # noqa: E731
        else:
            lazy = lambda w: class_converter(cls).from_item(w)  # noqa: E731
        return gen.name("n", lazy)
    conv = class_converter(cls)
    return gen.name("n", conv.to_item if direction == "to" else conv.from_item)


def _inline_kind(tp: Any) -> tuple[str, Any]:
    """What the generator can inline for a declared type: (kind, argument) or ("", None)."""
    tp, _ = unwrap_optional(tp)
    if isinstance(tp, type) and find_custom(tp) is not None:
        return "", None
    if tp is str or tp is bool or tp is int or tp is Decimal or tp is float:
        return tp.__name__, None
    if tp is datetime or tp is date:
        return "time", tp
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (set, frozenset) and args and unwrap_optional(args[0])[0] is str:
        return "strset", origin
    if origin is list and args:
        return "list", args[0]
    if origin is dict and len(args) == 2 and args[0] is str:
        return "dict", args[1]
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return "class", tp
    return "", None


def _to_expr(tp: Any, x: str, gen: _Gen) -> str:
    """An expression turning the (non-None) value named `x` into a wire value, never None."""
    conv = converter_for(tp)
    kind, arg = _inline_kind(tp)
    slow = gen.name("e", _element_to(conv))
    if kind == "str":
        return f"({{'S': {x}}} if type({x}) is str else {slow}({x}))"
    if kind == "bool":
        return f"({{'BOOL': {x}}} if {x} is True or {x} is False else {slow}({x}))"
    if kind == "int":
        return f"({{'N': str({x})}} if type({x}) is int and -LIMIT < {x} < LIMIT else {slow}({x}))"
    if kind == "Decimal":
        t = gen.name("t")
        return (
            f"({{'N': {t}}} if type({x}) is Decimal and ({t} := dtext({x})) is not None "
            f"else {slow}({x}))"
        )
    if kind == "time":
        cls = gen.name("k", arg)
        return f"({{'S': {x}.isoformat()}} if type({x}) is {cls} else {slow}({x}))"
    if kind == "strset":
        cls = gen.name("k", arg)
        return (
            f"({{'SS': sorted({x})}} if type({x}) is {cls} and {x} "
            f"and {{*map(type, {x})}} == STR_ONLY else {slow}({x}))"
        )
    if kind == "list":
        y = gen.name("y")
        inner = _to_expr(arg, y, gen)
        return f"({{'L': [{inner} for {y} in {x}]}} if type({x}) is list else {slow}({x}))"
    if kind == "dict":
        k, y = gen.name("k"), gen.name("y")
        inner = _to_expr(arg, y, gen)
        return (
            f"({{'M': {{({k} if type({k}) is str else key_error({k})): {inner} "
            f"for {k}, {y} in {x}.items()}}}} if type({x}) is dict else {slow}({x}))"
        )
    if kind == "class":
        cls = gen.name("k", arg)
        fn = _nested(arg, gen, "to")
        return f"({{'M': {fn}({x})}} if type({x}) is {cls} else {slow}({x}))"
    return f"{slow}({x})"


def _from_expr(tp: Any, a: str, gen: _Gen) -> str:
    """An expression turning the wire value named `a` into the declared Python type."""
    conv = converter_for(tp)
    kind, arg = _inline_kind(tp)
    slow = gen.name("d", conv.from_attr)
    if kind == "str":
        return f"({a}['S'] if 'S' in {a} else {slow}({a}))"
    if kind == "bool":
        return f"({a}['BOOL'] if 'BOOL' in {a} else {slow}({a}))"
    if kind == "int":
        t = gen.name("t")
        return (
            f"(int({t}) if ({t} := {a}.get('N')) is not None and '.' not in {t} "
            f"and 'E' not in {t} and 'e' not in {t} else {slow}({a}))"
        )
    if kind == "Decimal":
        return f"(Decimal({a}['N']) if 'N' in {a} else {slow}({a}))"
    if kind == "float":
        return f"(float({a}['N']) if 'N' in {a} else {slow}({a}))"
    if kind == "time":
        cls = gen.name("k", arg)
        return f"({cls}.fromisoformat({a}['S']) if 'S' in {a} else {slow}({a}))"
    if kind == "strset":
        make = gen.name("k", arg)
        return f"({make}({a}['SS']) if 'SS' in {a} else {slow}({a}))"
    if kind == "list":
        y = gen.name("y")
        inner = _from_expr(arg, y, gen)
        return f"([{inner} for {y} in {a}['L']] if 'L' in {a} else {slow}({a}))"
    if kind == "dict":
        k, y = gen.name("k"), gen.name("y")
        inner = _from_expr(arg, y, gen)
        return f"({{{k}: {inner} for {k}, {y} in {a}['M'].items()}} if 'M' in {a} else {slow}({a}))"
    if kind == "class":
        fn = _nested(arg, gen, "from")
        return f"({fn}({a}['M']) if 'M' in {a} else {slow}({a}))"
    return f"{slow}({a})"


def _base_env() -> dict[str, Any]:
    return {
        "ValidationError": ValidationError,
        "Decimal": Decimal,
        "LIMIT": _INT_LIMIT,
        "STR_ONLY": _STR_ONLY,
        "dtext": _decimal_text,
        "key_error": _key_error,
        "setattr_": object.__setattr__,
    }


class ClassConverter:
    """to_item / from_item for one dataclass, generated once.

    The generated functions hold no state of their own (everything they reference is immutable
    after construction), so one converter serves any number of threads at once.
    """

    def __init__(self, cls: type, exclude: frozenset[str] = frozenset()) -> None:
        if not dataclasses.is_dataclass(cls):
            raise ValidationError(f"{cls!r} is not a dataclass")
        self.cls = cls
        hints = typing.get_type_hints(cls)
        self.fields: dict[str, FieldInfo] = {}
        self._hints: dict[str, Any] = {}
        self._defaults: dict[str, dataclasses.Field[Any]] = {}
        for f in dataclasses.fields(cls):
            if f.name in exclude:
                continue
            tp = hints.get(f.name, typing.Any)
            inner, optional = unwrap_optional(tp)
            has_default = (
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            )
            self.fields[f.name] = FieldInfo(
                f.name, inner, optional, converter_for(tp), has_default, f.init
            )
            self._hints[f.name] = tp
            self._defaults[f.name] = f
        self.source: dict[str, str] = {}
        self.to_item: Callable[[Any], Item] = self._compile_to_item()
        self.from_item: Callable[[Mapping[str, Wire]], Any] = self._compile_from_item()

    def field_to_attr(self, name: str, value: Any) -> Wire | None:
        if value is None:
            return None
        try:
            return self.fields[name].converter.to_attr(value)
        except ValidationError as exc:
            raise ValidationError(f"{self.cls.__name__}.{name}: {exc}") from None

    def _compile_to_item(self) -> Callable[[Any], Item]:
        gen = _Gen(_base_env())
        lines = ["def to_item(obj):", "    item = {}", "    fld = None", "    try:"]
        for info in self.fields.values():
            n = info.name
            lines.append(f"        fld = {n!r}")
            lines.append(f"        v = obj.{n}")
            lines.append("        if v is not None:")
            if info.converter.is_set:
                # An empty set has no wire form: the converter returns None, the attribute is
                # left out. Only a non-empty set of exact str takes the inline path.
                c = gen.name("c", info.converter.to_attr)
                kind, arg = _inline_kind(self._hints[n])
                if kind == "strset":
                    k = gen.name("k", arg)
                    lines.append(
                        f"            if type(v) is {k} and v and {{*map(type, v)}} == STR_ONLY: "
                        f"item[{n!r}] = {{'SS': sorted(v)}}"
                    )
                    lines.append("            else:")
                else:
                    lines.append("            if True:")
                lines.append(f"                a = {c}(v)")
                lines.append(f"                if a is not None: item[{n!r}] = a")
            else:
                lines.append(f"            item[{n!r}] = {_to_expr(self._hints[n], 'v', gen)}")
        lines.append("    except ValidationError as exc:")
        lines.append(
            f"        raise ValidationError(f'{self.cls.__name__}.{{fld}}: {{exc}}') from None"
        )
        lines.append("    return item")
        source = "\n".join(lines)
        self.source["to_item"] = source
        exec(source, gen.env)
        fn: Callable[[Any], Item] = gen.env["to_item"]
        return fn

    def _compile_from_item(self) -> Callable[[Mapping[str, Wire]], Any]:
        gen = _Gen(_base_env())
        gen.env["cls"] = self.cls
        lines = ["def from_item(item):", "    fld = None", "    try:"]
        init_args: list[str] = []
        late: list[tuple[str, str]] = []
        for i, info in enumerate(self.fields.values()):
            n = info.name
            var = f"f{i}"
            lines.append(f"        fld = {n!r}")
            lines.append(f"        a = item.get({n!r})")
            lines.append(
                f"        if a is not None: {var} = {_from_expr(self._hints[n], 'a', gen)}"
            )
            if not info.init:
                # Not an __init__ argument: set after construction, only when stored.
                lines.append(f"        else: {var} = MISSING")
                gen.env["MISSING"] = dataclasses.MISSING
                late.append((n, var))
                continue
            init_args.append(f"{n}={var}")
            f = self._defaults[n]
            if f.default_factory is not dataclasses.MISSING:
                # Absent attribute: what the dataclass itself would have used.
                factory = gen.name("fac", f.default_factory)
                lines.append(f"        else: {var} = {factory}()")
            elif f.default is not dataclasses.MISSING:
                default = gen.name("dft")
                gen.env[default] = f.default
                lines.append(f"        else: {var} = {default}")
            elif info.converter.is_set:
                make = "frozenset" if info.converter.python is frozenset else "set"
                lines.append(f"        else: {var} = {'None' if info.optional else make + '()'}")
            elif info.optional:
                lines.append(f"        else: {var} = None")
            else:
                message = f"the item has no attribute {n!r} and the field has no default"
                lines.append(f"        else: raise ValidationError({message!r})")
        lines.append("    except ValidationError as exc:")
        lines.append(
            f"        raise ValidationError(f'{self.cls.__name__}.{{fld}}: {{exc}}') from None"
        )
        lines.append("    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:")
        lines.append(
            f"        raise ValidationError(f'{self.cls.__name__}.{{fld}}: cannot read {{exc!r}}')"
            " from None"
        )
        lines.append(f"    obj = cls({', '.join(init_args)})")
        for n, var in late:
            lines.append(f"    if {var} is not MISSING: setattr_(obj, {n!r}, {var})")
        lines.append("    return obj")
        source = "\n".join(lines)
        self.source["from_item"] = source
        exec(source, gen.env)
        fn: Callable[[Mapping[str, Wire]], Any] = gen.env["from_item"]
        return fn


_class_cache: dict[tuple[type, frozenset[str]], ClassConverter] = {}
# Converters under construction in the thread holding `_lock` (recursive dataclasses).
_building: set[tuple[type, frozenset[str]]] = set()

DEFAULT_EXCLUDE = frozenset({"events"})


def class_converter(cls: type, exclude: frozenset[str] | None = None) -> ClassConverter:
    """The cached converter for `cls`; by default a field named `events` is never stored."""
    key = (cls, DEFAULT_EXCLUDE if exclude is None else exclude)
    conv = _class_cache.get(key)
    if conv is None:
        with _lock:
            conv = _class_cache.get(key)
            if conv is None:
                _building.add(key)
                try:
                    conv = ClassConverter(cls, key[1])
                finally:
                    _building.discard(key)
                _class_cache[key] = conv
    return conv
