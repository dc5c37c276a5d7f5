"""Hostile and bad input: names and values never become expression syntax; what DynamoDB would
refuse is refused before any request, the same way on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence import attr, errors, limits
from persistence.backends.actions import AddValue, Remove, SetValue, update_expression
from persistence.model.marshal import Wire
from persistence.query.expressions import ExpressionBuilder
from persistence.query.specification import Spec
from persistence.testing.harness import DynamoDBHarness, Harness, MemoryHarness
from persistence.testing.models import (
    ACCOUNTS,
    ALL_MAPPINGS,
    ALL_TABLES,
    GADGETS,
    ORDERS,
    Account,
    Gadget,
    Order,
)

# ------------------------------------------------------------------------------ placeholders

TRICKY = [
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "size",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "attribute_exists(x)",
    "begins_with",
    "#n0",
    ":v0",
    "#n1 = :v1",
    "a.b",
    "list[0]",
    "a[",
    "]",
    "(",
    ")",
    "= <> <= >=",
    ", ",
    "'quoted'",
    '"double"',
    "x) OR (attribute_exists(pk)",
    "\\",
    "\n\t",
    "🙂",
    "é",
    "名前",
    "\u200b",
    "select",
    "year",  # a DynamoDB reserved word
    "status",
    "name",
]
names = st.one_of(
    st.sampled_from(TRICKY),
    st.text(min_size=1, max_size=40),
    st.text(alphabet="ab.[]#:() ", min_size=1, max_size=30),
    st.text(alphabet="x", min_size=5000, max_size=5000),  # long: still one placeholder
)
string_values = st.one_of(st.sampled_from([*TRICKY, ""]), st.text(max_size=60))

GRAMMAR = {
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "begins_with",
    "contains",
    "attribute_exists",
    "attribute_not_exists",
    "size",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "if_not_exists",
    "list_append",
}
PLACEHOLDER = re.compile(r"#n\d+|:v\d+")
TOKEN = re.compile(r"[A-Za-z_]+|\d+|\S")


def _outside_placeholders(expression: str) -> list[str]:
    """The tokens of an expression once its placeholders are taken out."""
    return TOKEN.findall(PLACEHOLDER.sub(" ", expression))


def _assert_only_syntax(expression: str) -> None:
    for token in _outside_placeholders(expression):
        assert token in GRAMMAR or token.isdigit() or token in "()[],.=<>", (
            f"{token!r} outside placeholders in {expression!r}"
        )


@st.composite
def specs(draw: st.DrawFn) -> tuple[Spec, list[str], list[Wire]]:
    """A spec over hostile names and values, with the names and values it uses."""
    used_names: list[str] = []
    used_values: list[Wire] = []

    def leaf() -> Spec:
        path = draw(st.lists(names, min_size=1, max_size=3))
        used_names.extend(path)
        a = attr(path)
        kind = draw(st.sampled_from(["eq", "lt", "begins", "contains", "between", "in", "exists"]))
        value = draw(string_values)
        if kind == "exists":
            return a.exists()
        used_values.append({"S": value})
        if kind == "eq":
            return a == value
        if kind == "lt":
            return a < value
        if kind == "begins":
            return a.begins_with(value)
        if kind == "contains":
            return a.contains(value)
        if kind == "between":
            low, high = sorted([value, draw(string_values)], key=lambda v: v.encode("utf-8"))
            used_values[-1] = {"S": low}
            used_values.append({"S": high})
            return a.between(low, high)
        return a.is_in([value])

    spec = leaf()
    for _ in range(draw(st.integers(0, 3))):
        other = leaf()
        spec = draw(st.sampled_from([spec & other, spec | other, ~other & spec]))
    return spec, used_names, used_values


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_conditions_keep_every_name_and_value_in_placeholders(
    case: tuple[Spec, list[str], list[Wire]],
) -> None:
    spec, used_names, used_values = case
    builder = ExpressionBuilder()
    expression = builder.condition(spec)
    _assert_only_syntax(expression)
    assert set(builder.names.values()) == set(used_names)
    for value in used_values:
        assert value in builder.values.values()
    # Every placeholder in the text is defined, and every definition is used.
    found = set(PLACEHOLDER.findall(expression))
    assert found == set(builder.names) | set(builder.values)


@settings(max_examples=200)
@given(st.lists(st.tuples(names, string_values), min_size=1, max_size=6))
def test_update_expressions_keep_every_name_and_value_in_placeholders(
    pairs: list[tuple[str, str]],
) -> None:
    builder = ExpressionBuilder()
    clauses: list[Any] = []
    for i, (name, value) in enumerate(pairs):
        clause = [SetValue((name,), {"S": value}), Remove((name, i)), AddValue((name,), {"N": "1"})]
        clauses.append(clause[i % 3])
    expression = update_expression(builder, clauses)
    _assert_only_syntax(expression)
    assert set(builder.names.values()) == {name for name, _ in pairs}
    projection = builder.projection([(name,) for name, _ in pairs])
    _assert_only_syntax(projection)


def test_an_empty_attribute_name_is_refused() -> None:
    with pytest.raises(errors.ValidationError):
        ExpressionBuilder().condition(attr([""]) == "x")


# ------------------------------------------------------------------------------ both backends


@pytest.fixture(params=["memory", "dynamodb"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "memory":
        yield MemoryHarness(ALL_MAPPINGS)
    else:
        client = request.getfixturevalue("dynamodb_client")
        yield DynamoDBHarness(client, ALL_MAPPINGS, ALL_TABLES)


@pytest.mark.parametrize("name", [*TRICKY, "x" * 3000])
def test_hostile_names_and_values_round_trip_through_both_backends(
    harness: Harness, name: str
) -> None:
    """A stored map key and value made of expression syntax is found by an exact filter, and
    only that item: the server read them as data."""
    repo = harness.repository(GADGETS)
    repo.add(Gadget("hostile", extra={name: name + ") OR (#n0 = :v0"}))
    repo.add(Gadget("decoy", extra={"other": "x"}))
    found = repo.find(attr(["extra", name]) == name + ") OR (#n0 = :v0").items
    assert [g.gadget_id for g in found] == ["hostile"]
    assert repo.find(attr(["extra", name]) == "nope").items == []
    assert repo.count(attr(["extra", name]).exists()) == 1


def _refused(harness: Harness, make: Any, match: str) -> None:
    harness.log.clear()
    with pytest.raises(errors.ValidationError, match=match):
        make()
    assert harness.operations() == [], "a refused input must not reach the server"


def _add(harness: Harness, aggregate: Any) -> None:
    uow = harness.uow()
    with uow:
        uow.repository(type(aggregate)).add(aggregate)
        uow.commit()


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"d": value}
    return value


# Each case: (aggregate, message fragment). Every one is refused by DynamoDB itself.
BAD_INPUTS = {
    "number-39-digits": (Gadget("g", price=Decimal("1" * 39)), "38"),
    "number-too-large": (Gadget("g", price=Decimal("1E+126")), "range"),
    "number-too-small": (Gadget("g", price=Decimal("1E-131")), "range"),
    "nan": (Gadget("g", weight=float("nan")), "NaN"),
    "inf": (Gadget("g", weight=float("inf")), "infinity"),
    "decimal-nan": (Gadget("g", price=Decimal("NaN")), "NaN"),
    "int-39-digits": (Gadget("g", count=10**38 + 1), "38"),  # 10**39 is 1E+39: one digit
    "empty-partition-key": (Gadget(""), "empty"),
    "partition-key-2049-bytes": (Gadget("k" * 2049), "2048"),
    "partition-key-multibyte": (Gadget("é" * 1025), "2048"),  # 2050 bytes
    # The GSI sort key "ACCOUNT#{account_id}" is a sort key too: at most 1024 bytes.
    "index-sort-key-1025-bytes": (Account("k" * 1017, "alice"), "1024"),
    # "ORDER#" + day + "#" + order_id: 6 + 10 + 1 + 1008 = 1025 bytes of sort key
    "sort-key-1025-bytes": (Order("c1", "2024-01-01", "o" * 1008), "1024"),
    "item-over-400-kb": (Gadget("big", name="x" * (400 * 1024)), "400"),
    "nesting-over-32-levels": (Gadget("deep", extra=_nested(33)), "32"),
    "duplicate-set-members": (Gadget("g", scores={Decimal("0.1"), 0.1}), "duplicate"),  # type: ignore[arg-type]
    "mixed-type-set": (Gadget("g", tags={"a", 1}), "one type"),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_what_dynamodb_refuses_is_refused_before_any_request_on_both_backends(
    harness: Harness, case: str
) -> None:
    aggregate, match = BAD_INPUTS[case]
    _refused(harness, lambda: _add(harness, aggregate), match)
    with harness.uow() as uow:
        assert uow.repository(Gadget).count() == 0
        assert uow.repository(Account).count() == 0
        assert uow.repository(Order).count() == 0


GOOD_INPUTS: dict[str, Any] = {
    "number-38-digits": Gadget("g", price=Decimal("9" * 38)),
    "number-largest": Gadget("g", price=Decimal("9.9999999999999999999999999999999999999E+125")),
    "number-smallest": Gadget("g", price=Decimal("1E-130")),
    "partition-key-2048-bytes": Gadget("k" * 2048),
    "index-sort-key-1024-bytes": Account("k" * 1016, "alice"),
    "sort-key-1024-bytes": Order("c1", "2024-01-01", "o" * 1007),
    "nesting-32-levels": Gadget("deep", extra=_nested(31)),  # the item's map is level 1
    "empty-string-value": Gadget("g", name=""),
}


@pytest.mark.parametrize(
    "aggregate", [GOOD_INPUTS[k] for k in sorted(GOOD_INPUTS)], ids=sorted(GOOD_INPUTS)
)
def test_the_limits_themselves_are_accepted_on_both_backends(
    harness: Harness, aggregate: Any
) -> None:
    _add(harness, aggregate)
    mapping = {Gadget: GADGETS, Account: ACCOUNTS, Order: ORDERS}[type(aggregate)]
    key = mapping.key_fields_of(aggregate)
    with harness.uow() as uow:
        assert uow.repository(type(aggregate)).get(consistent=True, **key) == aggregate


def test_more_than_100_actions_is_refused_before_any_request(harness: Harness) -> None:
    uow = harness.uow()
    harness.log.clear()
    with uow:
        for i in range(limits.MAX_TRANSACT_ACTIONS + 1):
            uow.increment(Account, {"account_id": f"a{i}"}, "deposits", 1)
        with pytest.raises(errors.TransactionTooLarge):
            uow.commit()
    assert harness.operations() == []


def test_the_documented_limits() -> None:
    """The numbers in limits.py, as AWS documents them (Service quotas for DynamoDB: 'Item
    size', 'Number', 'Partition key length', 'Sort key length', 'Nested attribute depth',
    'Expression parameters', 'TransactWriteItems')."""
    assert limits.MAX_ITEM_BYTES == 400 * 1024
    assert limits.MAX_PARTITION_KEY_BYTES == 2048
    assert limits.MAX_SORT_KEY_BYTES == 1024
    assert limits.MAX_NESTING_DEPTH == 32
    assert limits.MAX_NUMBER_DIGITS == 38
    assert Decimal("1E-130") == limits.MIN_NUMBER_MAGNITUDE
    assert Decimal("9.9999999999999999999999999999999999999E+125") == limits.MAX_NUMBER_MAGNITUDE
    assert limits.MAX_EXPRESSION_BYTES == 4096
    assert limits.MAX_TRANSACT_ACTIONS == 100
    assert limits.MAX_TRANSACT_BYTES == 4 * 1024 * 1024
    assert limits.MAX_BATCH_WRITE == 25
    assert limits.MAX_BATCH_GET == 100
