"""Specification semantics: DynamoDB's, evaluated in memory."""

from __future__ import annotations

from decimal import Decimal

import pytest

import persistence as p
from persistence.specification import parse_path
from persistence.testing.models import ACCOUNTS, Account

attr = p.attr
ITEM = {
    "s": {"S": "hello"},
    "n": {"N": "10"},
    "b": {"B": b"\x01\x02"},
    "flag": {"BOOL": True},
    "tags": {"SS": ["a", "b"]},
    "nums": {"NS": ["1", "2.5"]},
    "list": {"L": [{"S": "x"}, {"N": "3"}]},
    "map": {"M": {"city": {"S": "Paris"}, "rows": {"L": [{"M": {"kind": {"S": "k"}}}]}}},
    "empty": {"S": ""},
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (attr("n") == 10, True),
        (attr("n") == Decimal("10.0"), True),
        (attr("n") == "10", False),  # type-strict: a number never equals a string
        (attr("n") != "10", True),
        (attr("flag") == 1, False),  # a bool is not a number
        (attr("s") > "hell", True),
        (attr("s") < 100, False),  # ordering across types is false, both ways
        (attr("s") >= 100, False),
        (attr("n").between(1, 10), True),
        (attr("n").between(11, 20), False),
        (attr("s").begins_with("he"), True),
        (attr("n").begins_with("1"), False),
        (attr("b").begins_with(b"\x01"), True),
        (attr("s").contains("ell"), True),
        (attr("tags").contains("a"), True),
        (attr("tags").contains("z"), False),
        (attr("nums").contains(Decimal("2.50")), True),
        (attr("list").contains(3), True),
        (attr("list").contains("3"), False),
        (attr("n").is_in([1, 10]), True),
        (attr("n").is_in(["10"]), False),
        (attr("s").size() == 5, True),
        (attr("b").size() == 2, True),
        (attr("tags").size() == 2, True),
        (attr("map").size() == 2, True),
        (attr("n").size() == 2, False),  # size of a number is not defined
        (attr("map.city") == "Paris", True),
        (attr("map.rows[0].kind") == "k", True),
        (attr("map.rows[1].kind").exists(), False),
        (attr("empty") == "", True),
        (attr("list[1]") == 3, True),
    ],
)
def test_operators_follow_dynamodb(spec: p.Spec, expected: bool) -> None:
    assert spec.evaluate(ITEM) is expected


@pytest.mark.parametrize(
    "spec",
    [
        attr("missing") == 1,
        attr("missing") < 1,
        attr("missing").between(1, 2),
        attr("missing").begins_with("a"),
        attr("missing").contains("a"),
        attr("missing").is_in([1]),
        attr("missing").size() > 0,
        attr("missing").exists(),
    ],
)
def test_a_missing_attribute_fails_comparisons_and_functions(spec: p.Spec) -> None:
    assert spec.evaluate(ITEM) is False
    assert (~spec).evaluate(ITEM) is True


def test_not_equal_and_not_exists_hold_for_a_missing_attribute() -> None:
    assert (attr("missing") != 1).evaluate(ITEM) is True
    assert attr("missing").not_exists().evaluate(ITEM) is True


def test_combinators_and_truthiness() -> None:
    spec = (attr("n") > 5) & ((attr("s") == "x") | ~(attr("flag") == False))  # noqa: E712
    assert spec.evaluate(ITEM) is True
    with pytest.raises(TypeError, match="no truth value"):
        bool(spec)
    with pytest.raises(TypeError):
        _ = (attr("n") > 5) and (attr("s") == "x")
    with pytest.raises(TypeError):
        _ = (attr("n") > 5) & True  # type: ignore[operator]


def test_is_satisfied_by_on_an_aggregate() -> None:
    account = Account("a1", "alice", Decimal("150"), tags={"vip"})
    spec = (attr("owner") == "alice") & (attr("balance") > 100) & ~attr("closed_at").exists()
    assert spec.is_satisfied_by(account)
    assert spec.is_satisfied_by(account, ACCOUNTS)
    account.closed_at = "2024-01-01"
    assert not spec.is_satisfied_by(account)
    assert attr("tags").contains("vip").is_satisfied_by(account)


def test_paths_parse_and_bad_paths_are_refused() -> None:
    assert parse_path("history[0].kind") == ("history", 0, "kind")
    assert parse_path("a.b.c") == ("a", "b", "c")
    for bad in ["", "a..b", "[0]", "a.", "a[x]", "a]"]:
        with pytest.raises(p.ValidationError):
            parse_path(bad)
    assert attr(["meta", "a.b"]).path == ("meta", "a.b")


def test_bad_operands_are_refused_when_built() -> None:
    with pytest.raises(p.ValidationError, match="not_exists"):
        _ = attr("s") == None  # noqa: E711
    with pytest.raises(p.ValidationError, match="lower bound"):
        attr("n").between(5, 1)
    with pytest.raises(p.ValidationError, match="same type"):
        attr("n").between(1, "z")
    with pytest.raises(p.ValidationError, match="at most 100"):
        attr("n").is_in(range(101))
    with pytest.raises(p.ValidationError):
        attr("n").is_in([])
