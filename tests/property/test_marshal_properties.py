"""Property tests: what to_item writes, from_item reads back exactly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import persistence as p
from persistence.model.marshal import from_wire, to_wire
from persistence.testing.models import GADGETS, Address, Color, Gadget
from persistence.validation import item_size

finite_decimals = (
    st.decimals(allow_nan=False, allow_infinity=False, places=None)
    .filter(lambda d: d.is_zero() or (Decimal("1E-130") <= abs(d) <= Decimal("9.9E+125")))
    .filter(lambda d: len(d.as_tuple().digits) <= 38)
)
ints = st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1)
floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: f == 0 or 1e-130 <= abs(f) <= 9.9e125
)
texts = st.text(max_size=20)
# Map keys are attribute names: DynamoDB wants at least one character (validation refuses "").
keys = st.text(min_size=1, max_size=20)
datetimes = st.datetimes(timezones=st.just(UTC))
addresses = st.builds(Address, texts, st.none() | texts)
plain = st.recursive(
    st.none() | st.booleans() | texts | ints | st.binary(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=8,
)

gadgets = st.builds(
    Gadget,
    gadget_id=st.text(min_size=1, max_size=30),
    name=texts,
    price=finite_decimals,
    weight=floats,
    count=ints,
    active=st.booleans(),
    color=st.sampled_from(Color),
    made=st.none() | st.dates(),
    seen_at=st.none() | datetimes,
    uid=st.none() | st.uuids(),
    blob=st.none() | st.binary(max_size=16),
    tags=st.sets(texts, max_size=4),
    scores=st.sets(ints, max_size=4),
    blobs=st.frozensets(st.binary(max_size=4), max_size=3),
    address=st.none() | addresses,
    lines=st.lists(addresses, max_size=3),
    meta=st.dictionaries(keys, ints, max_size=3),
    extra=st.dictionaries(keys, plain, max_size=3),
    pair=st.none() | st.tuples(ints, texts),
)


@given(gadgets)
@settings(max_examples=200, deadline=None)
def test_to_item_from_item_round_trips(gadget: Gadget) -> None:
    item = GADGETS.to_item(gadget)
    assert GADGETS.from_item(item) == gadget
    assert item_size(item) > 0


@given(gadgets)
@settings(max_examples=100, deadline=None)
def test_items_use_only_dynamodb_wire_types(gadget: Gadget) -> None:
    def check(value: dict[str, Any]) -> None:
        ((tag, inner),) = value.items()
        assert tag in {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}
        if tag in ("SS", "NS", "BS"):
            assert inner and len(set(inner)) == len(inner)
        if tag == "M":
            for v in inner.values():
                check(v)
        if tag == "L":
            for v in inner:
                check(v)
        if tag == "N":
            assert Decimal(inner).is_finite()

    for value in GADGETS.to_item(gadget).values():
        check(value)


@given(finite_decimals)
def test_decimals_are_exact(value: Decimal) -> None:
    assert from_wire(to_wire(value)) == value


@given(floats)
def test_floats_have_no_binary_artefacts(value: float) -> None:
    text = to_wire(value)["N"]
    assert float(text) == value
    assert Decimal(text) == Decimal(repr(value))  # the shortest repr, not the binary expansion


@given(st.integers(min_value=10**38, max_value=10**60), st.sampled_from([1, -1]))
def test_more_than_38_digits_is_refused(magnitude: int, sign: int) -> None:
    value = magnitude * sign
    try:
        to_wire(value)
    except p.ValidationError as exc:
        assert "38" in str(exc)
    else:
        # A large int with trailing zeros has few significant digits and may still be stored.
        assert len(str(abs(value)).rstrip("0")) <= 38


def test_mixed_type_sets_and_bool_numbers_are_refused() -> None:
    import pytest

    with pytest.raises(p.ValidationError, match="one type"):
        to_wire({"a", 1})
    with pytest.raises(p.ValidationError, match="bool"):
        from persistence.validation import number_text

        number_text(True, "x")


class Euro:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Euro) and other.cents == self.cents

    __hash__ = None  # type: ignore[assignment]


@dataclass
class Purse:
    purse_id: str
    amount: Euro
    spent: list[Euro] = field(default_factory=list)


def test_registered_converters_round_trip() -> None:
    p.register_converter(Euro, lambda e: f"EUR:{e.cents}", lambda s: Euro(int(s[4:])))
    mapping = p.Mapping(Purse, p.Table("purses", partition_key="purse_id"))
    purse = Purse("x", Euro(150), [Euro(1), Euro(2)])
    item = mapping.to_item(purse)
    assert item["amount"] == {"S": "EUR:150"}
    assert item["spent"] == {"L": [{"S": "EUR:1"}, {"S": "EUR:2"}]}
    assert mapping.from_item(item) == purse


def test_date_and_uuid_and_enum_are_strings() -> None:
    gadget = Gadget("g", made=date(2024, 1, 2), uid=uuid.UUID(int=1), color=Color.BLUE)
    item = GADGETS.to_item(gadget)
    assert item["made"] == {"S": "2024-01-02"}
    assert item["uid"] == {"S": str(uuid.UUID(int=1))}
    assert item["color"] == {"S": "blue"}
    assert "seen_at" not in item  # None is not stored
    assert datetime.fromisoformat("2024-01-02T00:00:00+00:00").tzinfo is not None
