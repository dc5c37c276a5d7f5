"""Specification semantics: DynamoDB's, evaluated in memory."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import persistence as p
from persistence.query.expressions import ExpressionBuilder
from persistence.query.planner import plan
from persistence.query.specification import (
    Between,
    Comparison,
    Contains,
    In,
    PathOperand,
    Size,
    Value,
    parse_path,
)
from persistence.testing.contract_specs import SAMPLES
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


# --------------------------------------------------------------------------- operands


def _compiled(spec: p.Spec) -> tuple[str, dict[str, str], dict[str, Any]]:
    builder = ExpressionBuilder()
    return builder.condition(spec), builder.names, builder.values


@pytest.mark.parametrize(
    ("spec", "expression", "names", "values"),
    [
        (lambda: attr("a").size() > attr("b").size(), "size(#n0) > size(#n1)", ["a", "b"], {}),
        (lambda: attr("a") < attr("b"), "#n0 < #n1", ["a", "b"], {}),
        (lambda: attr("a") != attr("b.c"), "#n0 <> #n1.#n2", ["a", "b", "c"], {}),
        (lambda: attr("a").size() <= attr("b"), "size(#n0) <= #n1", ["a", "b"], {}),
        (lambda: attr("a") == attr("b").size(), "#n0 = size(#n1)", ["a", "b"], {}),
        (lambda: attr("a").size() == attr("a").size(), "size(#n0) = size(#n0)", ["a"], {}),
        (lambda: attr("a").size() >= 3, "size(#n0) >= :v0", ["a"], {":v0": {"N": "3"}}),
        (
            lambda: attr("a").between(attr("b"), attr("c").size()),
            "#n0 BETWEEN #n1 AND size(#n2)",
            ["a", "b", "c"],
            {},
        ),
        (
            lambda: attr("a").size().between(1, attr("b")),
            "size(#n0) BETWEEN :v0 AND #n1",
            ["a", "b"],
            {":v0": {"N": "1"}},
        ),
    ],
)
def test_paths_and_sizes_compile_as_operands_never_as_values(
    spec: Any, expression: str, names: list[str], values: dict[str, Any]
) -> None:
    text, sent_names, sent_values = _compiled(spec())
    assert text == expression
    assert sorted(sent_names.values()) == names
    assert sent_values == values


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (lambda: attr("list").size() == attr("map").size(), True),  # 2 == 2
        (lambda: attr("s").size() > attr("list").size(), True),  # 5 > 2
        (lambda: attr("list").size() > attr("s").size(), False),
        (lambda: attr("n") > attr("s").size(), True),  # 10 > 5
        (lambda: attr("s").size() < attr("n"), True),
        (lambda: attr("s").size() == attr("n"), False),
        (lambda: attr("n").between(attr("s").size(), 20), True),
        (lambda: attr("n").between(attr("list").size(), attr("s").size()), False),
        (lambda: attr("s").size().between(attr("list").size(), attr("n")), True),
        (lambda: attr("n") == attr("map.rows").size(), False),
        (lambda: attr("map.city") > attr("s"), False),  # "Paris" < "hello" (b"P" < b"h")
        (lambda: attr("map.city") < attr("s"), True),
        (lambda: attr("n") < attr("s"), False),  # N against S: false both ways
        (lambda: attr("n") > attr("s"), False),
        (lambda: attr("n") != attr("s"), True),
        (lambda: attr("list[1]") == attr("nums").size(), False),  # 3 vs 2
        (lambda: attr("tags") == attr("tags").size(), False),
        # A missing attribute, or the size() of one, fails all but <>.
        (lambda: attr("missing").size() < attr("n"), False),
        (lambda: attr("n") > attr("missing").size(), False),
        (lambda: attr("n") != attr("missing"), True),
        (lambda: attr("missing").size() != attr("list").size(), True),
        (lambda: attr("n").between(attr("missing"), 20), False),
        # size() of a number or a bool has no value.
        (lambda: attr("n").size() == attr("flag").size(), False),
    ],
)
def test_paths_and_sizes_evaluate_like_dynamodb(spec: Any, expected: bool) -> None:
    assert spec().evaluate(ITEM) is expected


def test_size_against_size_on_an_aggregate() -> None:
    account = Account("a1", "alice", tags={"vip", "new"})
    assert (attr("tags").size() > attr("owner").size()).is_satisfied_by(account) is False
    assert (attr("owner").size() > attr("tags").size()).is_satisfied_by(account) is True
    assert (attr("balance") < attr("tags").size()).is_satisfied_by(account, ACCOUNTS) is True


@pytest.mark.parametrize(
    "build",
    [
        lambda: attr("n") == attr("n"),
        lambda: attr("n") < attr("n"),
        lambda: attr("map.city") != attr(["map", "city"]),
        lambda: attr("list[0]") >= attr("list[0]"),
        lambda: attr("n").between(attr("n"), 3),
        lambda: attr("n").between(1, attr("n")),
        lambda: Comparison(("n",), "==", PathOperand(("n",))),
    ],
)
def test_a_path_compared_with_itself_is_refused(build: Any) -> None:
    with pytest.raises(p.ValidationError, match="with itself"):
        build()


def test_a_path_against_a_different_path_or_a_size_of_itself_is_allowed() -> None:
    assert (attr("list[0]") == attr("list[1]")).evaluate(ITEM) is False
    assert (attr("map.city") == attr("map")).evaluate(ITEM) is False
    assert (attr("list") > attr("list").size()).evaluate(ITEM) is False


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: attr("n") == object(), "register a converter.*a specification operand is"),
        (lambda: attr("n") == (attr("s") == 1), "got a specification"),
        (lambda: attr("l") == [attr("s").size()], r"got attr\('s'\).size\(\)"),
        (lambda: attr("m") == {"k": attr("s")}, r"got attr\('s'\)"),
        (lambda: attr("s") == {"S": "x"}, "wire value"),
        (lambda: attr("n") == {"N": "1"}, "wire value"),
        (lambda: attr("l").contains({"L": []}), "wire value"),
        (lambda: attr("n") < True, "BOOL"),
        (lambda: attr("n") >= [1], " L,"),
        (lambda: attr("n") > {"a": 1}, " M,"),
        (lambda: attr("n") <= {1, 2}, " NS,"),
        (lambda: attr("n").between(True, False), "BOOL"),
        (lambda: attr("n").between(attr("s"), [1]), " L,"),
        (lambda: attr("s").begins_with(attr("t")), "begins_with takes"),
        (lambda: attr("s").contains(attr("t")), "contains takes"),
        (lambda: attr("n").is_in([attr("t")]), "is_in takes"),
        (lambda: attr("n").is_in([attr("t").size()]), "is_in takes"),
        (lambda: attr("s").is_in("abc"), "a list of values"),
        (lambda: attr("s").is_in({"a": 1}), "a list of values"),
        (lambda: Comparison(("n",), "==", "raw"), "cannot take str"),  # type: ignore[arg-type]
        (lambda: Comparison(("n",), "==", {"S": "x"}), "cannot take dict"),  # type: ignore[arg-type]
        (lambda: Comparison(("n",), "~", Value.of(1)), "unknown comparison"),  # type: ignore[arg-type]
        (lambda: Comparison((), "==", Value.of(1)), "attribute path"),
        (lambda: Between(("n",), Value.of(1), object()), "cannot take object"),  # type: ignore[arg-type]
        (lambda: In(("n",), (PathOperand(("s",)),)), "is_in cannot take"),  # type: ignore[arg-type]
        (lambda: Contains(("n",), Size(("s",))), "contains cannot take"),  # type: ignore[arg-type]
    ],
)
def test_operands_are_a_path_a_size_or_a_value(build: Any, message: str) -> None:
    with pytest.raises(p.ValidationError, match=message):
        build()


def test_the_compiler_never_sends_an_unknown_operand_as_a_value() -> None:
    # Nodes are validated when built; a node changed afterwards still cannot reach the wire.
    spec = attr("n") == 1
    object.__setattr__(spec, "right", {"S": "x"})
    with pytest.raises(p.ValidationError, match="cannot compile"):
        ExpressionBuilder().condition(spec)
    ranged = attr("n").between(1, 2)
    object.__setattr__(ranged, "high", Size)
    with pytest.raises(p.ValidationError, match="cannot compile"):
        ExpressionBuilder().condition(ranged)


def test_paths_in_operands_are_checked_against_the_fields() -> None:
    spec = attr("low").between(attr("nope"), attr("high").size())
    assert list(spec.paths()) == [("low",), ("nope",), ("high",)]
    with pytest.raises(p.ValidationError, match="no field 'nope'"):
        plan(SAMPLES, spec)
    with pytest.raises(p.ValidationError, match="no field 'nope'"):
        plan(SAMPLES, attr("low") < attr("nope").size())


def test_a_path_operand_is_never_a_key_condition() -> None:
    in_g = attr("group") == "g"
    # The whole key "fixed" by a path is no GetItem: a Query on the partition.
    read = plan(SAMPLES, in_g & (attr("rank") == attr("low")))
    assert read.operation == "Query" and len(read.key_condition) == 1
    assert list(read.post_filter.paths()) == [("rank",), ("low",)]  # type: ignore[union-attr]
    read = plan(SAMPLES, in_g & (attr("rank") > attr("low").size()))
    assert len(read.key_condition) == 1 and read.post_filter is not None
    read = plan(SAMPLES, in_g & attr("rank").between(1, attr("high")))
    assert len(read.key_condition) == 1 and read.post_filter is not None
    # A key attribute as a bound names it: kept out of the Query's filter.
    read = plan(SAMPLES, in_g & attr("low").between(attr("rank"), 9))
    assert read.post_filter is not None
    assert read.filter is not None and ("rank",) not in set(read.filter.paths())
    assert plan(SAMPLES, attr("group") == attr("name")).operation == "Scan"
