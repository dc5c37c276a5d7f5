"""from_item passes the leading fields positionally: every shape of __init__ still gets each
value in its own parameter (keyword-only fields, an excluded field, fields not in __init__)."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field

from persistence.model.marshal import Converters


@dataclass
class KwOnly:
    a: str
    _: KW_ONLY
    b: int
    c: str = "c"


@dataclass
class Excluded:
    a: str
    events: list[str] = field(default_factory=list)
    b: int = 0
    c: str = "x"


@dataclass
class NotInit:
    a: str
    hidden: int = field(init=False, default=5)
    b: int = 0


@dataclass
class FieldKwOnly:
    a: str
    b: int = field(kw_only=True)
    c: str = "c"


def _round_trip(obj: object, exclude: frozenset[str] = frozenset()) -> object:
    conv = Converters().class_converter(type(obj), exclude)
    return conv.from_item(conv.to_item(obj))


def test_keyword_only_fields() -> None:
    assert _round_trip(KwOnly("x", b=2, c="z")) == KwOnly("x", b=2, c="z")
    assert _round_trip(FieldKwOnly("x", b=3, c="y")) == FieldKwOnly("x", b=3, c="y")


def test_an_excluded_field_leaves_the_rest_in_their_parameters() -> None:
    got = _round_trip(Excluded("x", ["e"], 7, "y"), frozenset({"events"}))
    assert got == Excluded("x", [], 7, "y")


def test_a_field_outside_init_is_set_after_construction() -> None:
    obj = NotInit("x", 4)
    obj.hidden = 9
    got = _round_trip(obj)
    assert isinstance(got, NotInit)
    assert (got.a, got.hidden, got.b) == ("x", 9, 4)
