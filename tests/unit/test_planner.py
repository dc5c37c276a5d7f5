"""The planner: the cheapest read for a specification, and its key conditions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import persistence as p
from persistence.query.expressions import ExpressionBuilder
from persistence.query.planner import plan
from persistence.testing.models import ACCOUNTS, ORDERS

attr = p.attr


def _key_condition(spec: p.Spec, mapping: p.Mapping = ORDERS, **options: object) -> str:  # type: ignore[type-arg]
    read = plan(mapping, spec, **options)  # type: ignore[arg-type]
    builder = ExpressionBuilder()
    text = builder.key_condition(read.key_condition)
    for placeholder, name in builder.names.items():
        text = text.replace(placeholder, name)
    for placeholder, value in builder.values.items():
        text = text.replace(placeholder, repr(next(iter(value.values()))))
    return text


def test_whole_key_fixed_is_a_getitem_checking_the_rest() -> None:
    read = plan(ACCOUNTS, (attr("account_id") == "a1") & (attr("balance") > 5))
    assert read.operation == "GetItem"
    assert read.key == {"pk": {"S": "ACCOUNT#a1"}, "sk": {"S": "ACCOUNT"}}
    assert read.filter is not None and read.filter.evaluate(
        {"balance": {"N": "6"}, "_type": {"S": "Account"}, "account_id": {"S": "a1"}}
    )


def test_a_fixed_leading_part_of_the_sort_key_is_begins_with() -> None:
    spec = (attr("customer_id") == "c1") & (attr("day") == "2024-01-02")
    assert _key_condition(spec) == "pk = 'CUSTOMER#c1' AND begins_with(sk, 'ORDER#2024-01-02#')"


def test_literal_prefix_alone_narrows_to_the_type() -> None:
    assert (
        _key_condition(attr("customer_id") == "c1")
        == "pk = 'CUSTOMER#c1' AND begins_with(sk, 'ORDER#')"
    )


def test_range_only_on_the_last_hole_after_a_fixed_prefix() -> None:
    spec = (attr("customer_id") == "c1") & (attr("day") == "d") & (attr("order_id") >= "o5")
    assert _key_condition(spec) == "pk = 'CUSTOMER#c1' AND sk >= 'ORDER#d#o5'"
    # `day` is not the last hole: a range on it cannot become a key condition.
    spec = (attr("customer_id") == "c1") & (attr("day") > "2024")
    assert _key_condition(spec) == "pk = 'CUSTOMER#c1' AND begins_with(sk, 'ORDER#')"
    assert "day" in repr(plan(ORDERS, spec).filter)


def test_zero_padded_numbers_range_in_the_key_and_unpadded_ones_stay_in_the_filter() -> None:
    spec = (attr("customer_id") == "c1") & (attr("total_cents").between(100, 2500))
    assert _key_condition(spec) == (
        "pk = 'CUSTOMER#c1' AND lsi1sk BETWEEN 'TOTAL#000000000100' AND 'TOTAL#000000002500'"
    )

    @dataclass
    class Event:
        stream: str
        seq: int

    table = p.Table("events", partition_key="pk", sort_key="sk")
    unpadded = p.Mapping(Event, table, key=p.Key(pk="S#{stream}", sk="E#{seq}"))
    padded = p.Mapping(Event, table, key=p.Key(pk="S#{stream}", sk="E#{seq:08d}"), type_name="E2")
    spec = (attr("stream") == "x") & (attr("seq") > 9)
    # "E#10" < "E#9" as text: a key range would be wrong, so the condition stays in the filter.
    assert _key_condition(spec, unpadded) == "pk = 'S#x' AND begins_with(sk, 'E#')"
    assert _key_condition(spec, padded) == "pk = 'S#x' AND sk > 'E#00000009'"


def test_or_and_not_parts_stay_in_the_filter() -> None:
    spec = (attr("customer_id") == "c1") | (attr("customer_id") == "c2")
    assert plan(ORDERS, spec).operation == "Scan"
    spec = ~(attr("customer_id") == "c1")
    assert plan(ORDERS, spec).operation == "Scan"


def test_index_hint_and_scan_refusal() -> None:
    assert (
        plan(ACCOUNTS, attr("owner") == "a", index="by_owner").describe()
        == "Query contract_bank.by_owner"
    )
    assert (
        plan(ACCOUNTS, attr("balance") > 1, index="by_owner").describe()
        == "Scan contract_bank.by_owner"
    )
    with pytest.raises(p.ValidationError, match="no index 'nope'"):
        plan(ACCOUNTS, None, index="nope")
    with pytest.raises(p.ValidationError, match=r"\['owner'\] for the index by_owner"):
        plan(ACCOUNTS, attr("balance") > 1, allow_scan=False)
    with pytest.raises(p.ValidationError, match="descending"):
        plan(ACCOUNTS, attr("balance") > 1, descending=True)


def test_direct_key_attributes_never_reach_the_filter() -> None:
    @dataclass
    class Reading:
        sensor: str
        at: int
        value: int = 0

    mapping = p.Mapping(Reading, p.Table("readings", partition_key="sensor", sort_key="at"))
    read = plan(mapping, (attr("sensor") == "s1") & (attr("at") > 5) & (attr("value") == 1))
    assert read.operation == "Query"
    builder = ExpressionBuilder()
    assert builder.key_condition(read.key_condition) == "#n0 = :v0 AND #n1 > :v1"
    assert builder.names == {"#n0": "sensor", "#n1": "at"}
    assert read.filter is not None and ("sensor",) not in list(read.filter.paths())
    # A condition on a key attribute that the key cannot serve is checked after the read.
    read = plan(mapping, (attr("sensor") == "s1") & (attr("at") != 5))
    assert read.post_filter is not None and read.filter is not None
    assert ("at",) not in list(read.filter.paths())


def test_size_conditions_never_become_key_conditions() -> None:
    spec = (attr("customer_id") == "c1") & (attr("day") == "d") & (attr("order_id").size() > 3)
    read = plan(ORDERS, spec)
    assert read.operation == "Query"
    assert _key_condition(spec) == "pk = 'CUSTOMER#c1' AND begins_with(sk, 'ORDER#d#')"
