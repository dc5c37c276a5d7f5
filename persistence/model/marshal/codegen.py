"""Generated `to_item` / `from_item` functions for dataclasses.

The generated functions inline one expression per field, nested to any depth for lists, dicts
and nested dataclasses: `{'S': v} if type(v) is str else c3(v)`. Each inline test is exact
(`type(v) is ...`), so the fast path only ever takes values it converts exactly like the
per-type converter would; anything else (subclasses, None inside a list, a wrong type) goes to
that converter, which validates and raises the same errors.

Errors cost nothing on the happy path: the generated function has one `try` around all fields
and, on failure only, a slow path converts every field again on its own and reports all the
invalid ones in one ValidationError. The source is compiled under a unique file name registered
in `linecache` (as cattrs does), so tracebacks show the generated lines.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import linecache
import typing
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ... import limits
from ...errors import ValidationError
from ...records import frozen
from .converters import Registry, TypeConverter, element_to, unwrap_optional
from .wire import Item, Wire

_INT_LIMIT = 10**38
_STR_ONLY = frozenset({str})


class _Gen:
    """Source generation state: the exec environment and fresh local names."""

    def __init__(self, env: dict[str, Any], reg: Registry) -> None:
        self.env = env
        self.reg = reg
        self.count = 0

    def name(self, prefix: str, value: Any = None) -> str:
        self.count += 1
        name = f"{prefix}{self.count}"
        if value is not None:
            self.env[name] = value
        return name


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
    reg = gen.reg
    if reg.building(cls):
        lazy: Callable[[Any], Any]
        if direction == "to":
            lazy = lambda v: reg.class_converter(cls).to_item(v)  # noqa: E731
        else:
            lazy = lambda w: reg.class_converter(cls).from_item(w)  # noqa: E731
        return gen.name("n", lazy)
    conv = reg.class_converter(cls)
    return gen.name("n", conv.to_item if direction == "to" else conv.from_item)


def _inline_kind(tp: Any, reg: Registry) -> tuple[str, Any]:
    """What the generator can inline for a declared type: (kind, argument) or ("", None)."""
    tp, _ = unwrap_optional(tp)
    if isinstance(tp, type) and reg.find_custom(tp) is not None:
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


# Declared types whose converters only ever produce one scalar wire value (or raise).
_SCALAR_TYPES = (str, bool, int, float, Decimal, datetime, date, bytes, bytearray, uuid.UUID)


def sound_depth(tp: Any, reg: Registry, seen: frozenset[type] = frozenset()) -> int | None:
    """How many maps and lists deep the wire value of a value declared `tp` goes, when its
    converters can only produce a sound one (every value one of DynamoDB's type tags, every map
    key a field name, so never empty) or raise; None when that is not known by construction: Any,
    a union, a dict (its keys are data), a tuple, an enum, a custom converter, a recursive class.

    `validation.check_put_item` skips the structural walk of such attributes (adr/0019)."""
    tp, _ = unwrap_optional(tp)
    if isinstance(tp, type) and reg.find_custom(tp) is not None:
        return None
    if any(tp is t for t in _SCALAR_TYPES):
        return 0
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (set, frozenset):
        return 0  # SS, NS or BS, or no attribute for an empty set
    if origin is list and len(args) == 1:
        inner = sound_depth(args[0], reg, seen)
        return None if inner is None else inner + 1
    if dataclasses.is_dataclass(tp) and isinstance(tp, type) and tp not in seen:
        depth = 0
        try:
            hints = typing.get_type_hints(tp)
        except Exception:  # an unresolvable annotation: its converter will say so
            return None
        for f in dataclasses.fields(tp):  # all of them: an excluded one only costs a walk
            inner = sound_depth(hints.get(f.name, Any), reg, seen | {tp})
            if inner is None:
                return None
            depth = max(depth, inner)
        return depth + 1
    return None


def _to_expr(tp: Any, x: str, gen: _Gen) -> str:
    """An expression turning the (non-None) value named `x` into a wire value, never None."""
    conv = gen.reg.converter_for(tp)
    kind, arg = _inline_kind(tp, gen.reg)
    slow = gen.name("e", element_to(conv))
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
        general = f"({{'M': {fn}({x})}} if type({x}) is {cls} else {slow}({x}))"
        return _inline_leaf(arg, x, cls, general, gen) or general
    return f"{slow}({x})"


_LEAF_KINDS = frozenset({"str", "bool", "int", "Decimal", "time"})


def _inline_leaf(cls: type, x: str, k: str, general: str, gen: _Gen) -> str | None:
    """For a small nested class of plain fields (a line, an amount, an address), its map built
    in place, without a call: `{'M': {'sku': ..., 'price': ...}}` when `x` is exactly `cls` and
    none of its fields is None, else `general` (the nested class's own to_item, which leaves
    None fields out and reports errors as always). The field expressions are the ones its own
    to_item uses, so the item is the same."""
    if gen.reg.building(cls):
        return None
    conv = gen.reg.class_converter(cls)
    fields = getattr(conv, "fields", None)
    hints = getattr(conv, "_hints", None)
    if not isinstance(fields, dict) or not isinstance(hints, dict) or not 0 < len(fields) <= 8:
        return None
    if any(_inline_kind(hints[n], gen.reg)[0] not in _LEAF_KINDS for n in fields):
        return None
    tests = [f"type({x}) is {k}"]
    parts = []
    for n in fields:
        a = gen.name("a")
        tests.append(f"({a} := {x}.{n}) is not None")
        parts.append(f"{n!r}: {_to_expr(hints[n], a, gen)}")
    return f"({{'M': {{{', '.join(parts)}}}}} if {' and '.join(tests)} else {general})"


def _from_expr(tp: Any, a: str, gen: _Gen) -> str:
    """An expression turning the wire value named `a` into the declared Python type."""
    conv = gen.reg.converter_for(tp)
    kind, arg = _inline_kind(tp, gen.reg)
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


# Everything the generated source reads besides its own named values.
_BASE_ENV: dict[str, Any] = {
    "ValidationError": ValidationError,
    "Decimal": Decimal,
    "LIMIT": _INT_LIMIT,
    "STR_ONLY": _STR_ONLY,
    "dtext": _decimal_text,
    "key_error": _key_error,
    "setattr_": object.__setattr__,
    "MISSING": dataclasses.MISSING,
}
# Exceptions a wire value of the wrong shape can raise while it is read.
READ_ERRORS = (ValidationError, KeyError, TypeError, ValueError, ArithmeticError)
_serial = itertools.count(1)


def compile_function(source: str, function: str, owner: str, env: dict[str, Any]) -> Any:
    """Compile generated source under a unique `<persistence generated ...>` file name whose
    lines `linecache` serves, so a traceback through the function shows its source."""
    filename = f"<persistence generated {function} {owner}>"
    while filename in linecache.cache:  # another class of the same name, or a rebuild
        filename = f"<persistence generated {function} {owner} #{next(_serial)}>"
    exec(compile(source, filename, "exec"), env)
    # mtime None: linecache.checkcache leaves the entry alone (no file on disk to compare).
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return env[function]


def field_errors(cls: type, problems: list[tuple[str, str]]) -> ValidationError:
    """One error naming every invalid field (`Account.balance: ...; Account.owner: ...`)."""
    name = cls.__name__
    listed = "; ".join(f"{name}.{field}: {message}" for field, message in problems)
    if len(problems) == 1:
        return ValidationError(listed)
    return ValidationError(f"{name} has {len(problems)} invalid fields: {listed}")


@frozen
class FieldInfo:
    """One stored field of a dataclass: its declared type (None removed) and converter."""

    name: str
    type: Any
    optional: bool
    converter: TypeConverter
    has_default: bool
    init: bool

    def __init__(
        self,
        name: str,
        type: Any,
        optional: bool,
        converter: TypeConverter,
        has_default: bool,
        init: bool,
    ) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "optional", optional)
        object.__setattr__(self, "converter", converter)
        object.__setattr__(self, "has_default", has_default)
        object.__setattr__(self, "init", init)


class ClassConverter:
    """to_item / from_item for one dataclass, generated once.

    The generated functions hold no state of their own (everything they reference is immutable
    after construction), so one converter serves any number of threads at once.
    """

    def __init__(self, cls: type, exclude: frozenset[str], reg: Registry) -> None:
        if not dataclasses.is_dataclass(cls):
            raise ValidationError(f"{cls!r} is not a dataclass")
        self.cls = cls
        self._reg = reg
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
                f.name, inner, optional, reg.converter_for(tp), has_default, f.init
            )
            self._hints[f.name] = tp
            self._defaults[f.name] = f
        self.source: dict[str, str] = {}
        self.to_item: Callable[[Any], Item] = self._compile_to_item()
        self.from_item: Callable[[Mapping[str, Wire]], Any] = self._compile_from_item()

    @functools.cached_property
    def sound_fields(self) -> frozenset[str]:
        """The fields whose wire value is sound by construction and nested less than DynamoDB's
        32 levels (`sound_depth`): their values need no structural check. Worked out on first
        use, not at import."""
        return frozenset(
            name
            for name, info in self.fields.items()
            if (depth := sound_depth(info.type, self._reg, frozenset({self.cls}))) is not None
            and depth < limits.MAX_NESTING_DEPTH
        )

    def field_to_attr(self, name: str, value: Any) -> Wire | None:
        """One field's wire value (None for None, or an empty set)."""
        if value is None:
            return None
        try:
            return self.fields[name].converter.to_attr(value)
        except ValidationError as exc:
            raise ValidationError(f"{self.cls.__name__}.{name}: {exc}") from None

    # ------------------------------------------------------------------ slow paths (errors)

    def to_item_error(self, obj: Any, first: Exception) -> ValidationError:
        """After the generated to_item failed: every invalid field, converted one by one."""
        problems: list[tuple[str, str]] = []
        for info in self.fields.values():
            value = getattr(obj, info.name)
            if value is None:
                continue
            try:
                info.converter.to_attr(value)
            except ValidationError as exc:
                problems.append((info.name, str(exc)))
        return field_errors(self.cls, problems or [("?", str(first))])

    def from_item_error(self, item: Mapping[str, Wire], first: Exception) -> ValidationError:
        """After the generated from_item failed: every unreadable or missing attribute."""
        problems: list[tuple[str, str]] = []
        for info in self.fields.values():
            n = info.name
            wire = item.get(n)
            if wire is None:
                required = not (info.has_default or info.optional or info.converter.is_set)
                if info.init and required:
                    message = f"the item has no attribute {n!r} and the field has no default"
                    problems.append((n, message))
                continue
            try:
                info.converter.from_attr(wire)
            except ValidationError as exc:
                problems.append((n, str(exc)))
            except READ_ERRORS as exc:
                problems.append((n, f"cannot read {exc!r}"))
        return field_errors(self.cls, problems or [("?", f"cannot read {first!r}")])

    # ------------------------------------------------------------------ generated fast paths

    def _compile_to_item(self) -> Callable[[Any], Item]:
        gen = _Gen({**_BASE_ENV, "fail": self.to_item_error}, self._reg)
        lines = ["def to_item(obj):", "    item = {}", "    try:"]
        for info in self.fields.values():
            n = info.name
            lines.append(f"        v = obj.{n}")
            lines.append("        if v is not None:")
            if info.converter.is_set:
                # An empty set has no wire form: the converter returns None, the attribute is
                # left out. Only a non-empty set of exact str takes the inline path.
                c = gen.name("c", info.converter.to_attr)
                kind, arg = _inline_kind(self._hints[n], self._reg)
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
        if not self.fields:
            lines.append("        pass")
        lines.append("    except ValidationError as exc:")
        lines.append("        raise fail(obj, exc) from exc")
        lines.append("    return item")
        source = "\n".join(lines) + "\n"
        self.source["to_item"] = source
        fn: Callable[[Any], Item] = compile_function(
            source, "to_item", self.cls.__qualname__, gen.env
        )
        return fn

    def _positional_prefix(self) -> int:
        """How many of the stored init fields, in order, are __init__'s leading positional
        parameters (up to the first excluded or keyword-only init field)."""
        count = 0
        for f in dataclasses.fields(self.cls):
            if not f.init:
                continue
            if f.name not in self.fields or f.kw_only:
                break
            count += 1
        return count

    def _compile_from_item(self) -> Callable[[Mapping[str, Wire]], Any]:
        gen = _Gen({**_BASE_ENV, "fail": self.from_item_error, "cls": self.cls}, self._reg)
        gen.env["READ_ERRORS"] = READ_ERRORS
        lines = ["def from_item(item):", "    try:"]
        init_args: list[str] = []
        positional = self._positional_prefix()
        late: list[tuple[str, str]] = []
        for i, info in enumerate(self.fields.values()):
            n = info.name
            var = f"f{i}"
            lines.append(f"        a = item.get({n!r})")
            lines.append(
                f"        if a is not None: {var} = {_from_expr(self._hints[n], 'a', gen)}"
            )
            if not info.init:
                # Not an __init__ argument: set after construction, only when stored.
                lines.append(f"        else: {var} = MISSING")
                late.append((n, var))
                continue
            # Positional where __init__ takes them in this order: a keyword call costs more.
            init_args.append(var if len(init_args) < positional else f"{n}={var}")
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
        if not self.fields:
            lines.append("        pass")
        lines.append("    except READ_ERRORS as exc:")
        lines.append("        raise fail(item, exc) from exc")
        lines.append(f"    obj = cls({', '.join(init_args)})")
        for n, var in late:
            lines.append(f"    if {var} is not MISSING: setattr_(obj, {n!r}, {var})")
        lines.append("    return obj")
        source = "\n".join(lines) + "\n"
        self.source["from_item"] = source
        fn: Callable[[Mapping[str, Wire]], Any] = compile_function(
            source, "from_item", self.cls.__qualname__, gen.env
        )
        return fn
