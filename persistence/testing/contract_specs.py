"""Specification operands: attribute against attribute, size() on either side, and the operands
DynamoDB refuses, on every backend.

DynamoDB's condition grammar takes a path, a value or `size(path)` on either side of a
comparison and as BETWEEN bounds, refuses a comparison of a path with itself ("The first operand
must be distinct from the remaining operands for this operator or function"), and refuses an
ordering comparison or BETWEEN on a value it cannot order ("Incorrect operand type"). See
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html

moto (5.2) limits what these tests can send it, so the data here avoids what it gets wrong:
`size()` of a missing attribute is a ValidationException there (DynamoDB: the comparison is
false), and a BETWEEN whose bound is a missing attribute or a `size()` is an HTTP 500 (an
AttributeError / TypeError in moto's FuncBetween). Both cases are covered by the unit tests of
the in-memory evaluation instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from .. import errors
from ..model.mapping import Mapping, Table
from ..query.specification import Spec, attr
from .harness import Harness


@dataclass
class Sample:
    """A test aggregate with optional numbers and names to compare with each other."""

    group: str
    rank: int
    low: int | None = None
    high: int | None = None
    name: str | None = None
    alias: str | None = None
    items: list[int] = field(default_factory=list)
    meta: dict[str, int] = field(default_factory=dict)


# Keys straight from the fields ("group" and "name" are DynamoDB reserved words, too).
SAMPLES_TABLE = Table("contract_spec_samples", partition_key="group", sort_key="rank")
SAMPLES: Mapping[Sample] = Mapping(Sample, SAMPLES_TABLE)

# Group "g": every attribute present. Group "s": some missing.
DATA = [
    Sample("g", 1, low=1, high=5, name="ab", alias="abc", items=[1, 2, 3], meta={"a": 1}),
    Sample("g", 2, low=5, high=5, name="zz", alias="a", items=[1], meta={"a": 1, "b": 2, "c": 3}),
    Sample("g", 3, low=7, high=2, name="q", alias="q"),
    Sample("g", 4, low=3, high=9, name="m", alias="n", items=[1, 2], meta={"a": 1, "b": 2}),
    Sample("s", 1, high=3, alias="x"),
    Sample("s", 2, low=4, name="b"),
    Sample("s", 3, low=2, high=8, name="c", alias="d"),
    Sample("s", 4, low=4, high=1, name="s", alias="t"),
]


def _seed(harness: Harness) -> None:
    client = getattr(harness, "client", None)
    if client is not None:
        from ..tables import create_table_request

        client.create_table(**create_table_request(SAMPLES_TABLE))
    uow = harness.uow([SAMPLES])
    with uow:
        for sample in DATA:
            uow.repository(Sample).add(
                Sample(
                    sample.group,
                    sample.rank,
                    sample.low,
                    sample.high,
                    sample.name,
                    sample.alias,
                    list(sample.items),
                    dict(sample.meta),
                )
            )
        uow.commit()
    harness.log.clear()


def _found(harness: Harness, spec: Spec) -> list[tuple[str, int]]:
    """What find returns (every page), checked against count, iterate and is_satisfied_by."""
    uow = harness.uow([SAMPLES])
    with uow:
        repo = uow.repository(Sample)
        found: list[tuple[str, int]] = []
        cursor = None
        while True:
            page = repo.find(spec, limit=3, cursor=cursor)
            found += [(s.group, s.rank) for s in page.items]
            cursor = page.cursor
            if cursor is None:
                break
        iterated = [(s.group, s.rank) for s in repo.iterate(spec)]
        counted = repo.count(spec)
    in_memory = [(s.group, s.rank) for s in DATA if spec.is_satisfied_by(s, SAMPLES)]
    assert sorted(found) == sorted(iterated) == sorted(in_memory), spec
    assert counted == len(found)
    return sorted(found)


def _g(*ranks: int) -> list[tuple[str, int]]:
    return [("g", r) for r in ranks]


def _s(*ranks: int) -> list[tuple[str, int]]:
    return [("s", r) for r in ranks]


IN_G = attr("group") == "g"
IN_S = attr("group") == "s"


class SpecOperandsContract:
    """Spec operands: attribute against attribute, size() on either side, refused operands."""

    def test_attribute_against_attribute(self, harness: Harness) -> None:
        _seed(harness)
        assert _found(harness, IN_G & (attr("low") < attr("high"))) == _g(1, 4)
        assert _found(harness, IN_G & (attr("low") == attr("high"))) == _g(2)
        assert _found(harness, IN_G & (attr("low") != attr("high"))) == _g(1, 3, 4)
        assert _found(harness, IN_G & (attr("low") >= attr("high"))) == _g(2, 3)
        # Strings order by their UTF-8 bytes, "ab" < "abc".
        assert _found(harness, IN_G & (attr("name") < attr("alias"))) == _g(1, 4)
        assert _found(harness, IN_G & (attr("name") <= attr("alias"))) == _g(1, 3, 4)

    def test_a_missing_attribute_on_either_side(self, harness: Harness) -> None:
        _seed(harness)
        assert _found(harness, IN_S & (attr("low") < attr("high"))) == _s(3)
        assert _found(harness, IN_S & (attr("high") > attr("low"))) == _s(3)
        # A missing operand is unequal to anything, and fails every other comparison.
        assert _found(harness, IN_S & (attr("low") != attr("high"))) == _s(1, 2, 3, 4)
        assert _found(harness, IN_S & ~(attr("low") < attr("high"))) == _s(1, 2, 4)
        assert _found(harness, IN_S & (attr("name") == attr("alias"))) == []

    def test_size_on_either_side(self, harness: Harness) -> None:
        _seed(harness)
        items, meta = attr("items").size(), attr("meta").size()
        assert _found(harness, IN_G & (items > meta)) == _g(1)
        assert _found(harness, IN_G & (items == meta)) == _g(3, 4)
        assert _found(harness, IN_G & (items != meta)) == _g(1, 2)
        assert _found(harness, IN_G & (items >= attr("low"))) == _g(1)
        assert _found(harness, IN_G & (attr("low") > meta)) == _g(2, 3, 4)
        assert _found(harness, IN_G & (items > 1)) == _g(1, 4)
        assert _found(harness, IN_G & items.between(1, 2)) == _g(2, 4)

    def test_between_with_attribute_bounds(self, harness: Harness) -> None:
        _seed(harness)
        assert _found(harness, IN_G & attr("low").between(1, attr("high"))) == _g(1, 2, 4)
        assert _found(harness, IN_G & attr("high").between(attr("low"), 9)) == _g(1, 2, 4)
        # Bounds the wrong way round at run time match nothing (they are not refused: DynamoDB
        # only refuses two literal bounds out of order).
        assert _found(harness, IN_G & attr("meta.a").between(attr("high"), attr("low"))) == []

    def test_a_path_operand_never_becomes_a_key_condition(self, harness: Harness) -> None:
        _seed(harness)
        uow = harness.uow([SAMPLES])
        with uow:
            repo = uow.repository(Sample)
            # The sort key against another attribute: a Query on the partition, the comparison
            # applied after it (a key attribute cannot be in a Query's filter).
            assert repo.explain(IN_S & (attr("rank") == attr("low"))) == (
                "Query contract_spec_samples"
            )
            assert repo.explain(attr("group") == attr("name")) == "Scan contract_spec_samples"
        assert _found(harness, IN_S & (attr("rank") == attr("low"))) == _s(4)
        assert _found(harness, IN_G & (attr("rank") < attr("low"))) == _g(2, 3)
        assert _found(harness, IN_G & attr("rank").between(attr("low"), attr("high"))) == _g(1, 4)
        # A key attribute as a BETWEEN bound counts as naming it, too.
        assert _found(harness, IN_G & attr("low").between(attr("rank"), attr("high"))) == _g(1, 2)
        assert _found(harness, attr("group") == attr("name")) == _s(4)
        # What DynamoDB requires of every Query sent (moto checks neither): the key condition is
        # the partition equality on a value, and the filter names no key attribute.
        for request in harness.log.of("Query"):
            names = request.get("ExpressionAttributeNames", {})
            key_names = {names[n] for n in re.findall(r"#n\d+", request["KeyConditionExpression"])}
            assert key_names == {"group"}, request
            filter_names = {
                names[n] for n in re.findall(r"#n\d+", request.get("FilterExpression", ""))
            }
            assert not filter_names & {"group", "rank"}, request

    def test_conditions_with_path_and_size_operands(self, harness: Harness) -> None:
        _seed(harness)
        repo = harness.repository(SAMPLES)
        repo.put(Sample("g", 1, low=0, high=5), condition=attr("low") < attr("high"))
        with pytest.raises(errors.ConditionFailed):
            repo.put(Sample("g", 3, low=0), condition=attr("low") < attr("high"))
        updated = (
            repo.update(group="g", rank=4)
            .set("name", "updated")
            .condition(attr("items").size() == attr("meta").size())
            .execute()
        )
        assert updated.name == "updated"
        with pytest.raises(errors.ConditionFailed):
            (
                repo.update(group="g", rank=2)
                .set("name", "updated")
                .condition(attr("items").size() > attr("meta").size())
                .execute()
            )
        assert repo.delete(group="g", rank=2, condition=attr("low") == attr("high")) is True
        with pytest.raises(errors.ConditionFailed):
            repo.delete(group="s", rank=3, condition=attr("high").between(1, attr("low")))

        uow = harness.uow([SAMPLES])
        with uow:
            uow.check(Sample, {"group": "s", "rank": 3}, attr("high") > attr("low"))
            uow.repository(Sample).get(group="s", rank=4).name = "checked"
            uow.commit()
        with uow:
            uow.check(Sample, {"group": "s", "rank": 3}, attr("low") > attr("high"))
            uow.repository(Sample).get(group="s", rank=4).name = "refused"
            with pytest.raises(errors.ConditionFailed):
                uow.commit()
        with uow:
            stored = uow.repository(Sample).get(group="s", rank=4, consistent=True)
            assert stored.name == "checked"
            assert uow.repository(Sample).find(IN_G, consistent=True).items == [
                Sample("g", 1, low=0, high=5),
                Sample("g", 3, low=7, high=2, name="q", alias="q"),
                Sample("g", 4, 3, 9, "updated", "n", items=[1, 2], meta={"a": 1, "b": 2}),
            ]

    @pytest.mark.parametrize(
        "build",
        [
            lambda: attr("low") == attr("low"),
            lambda: attr("low") != attr("low"),
            lambda: attr("low") < attr("low"),
            lambda: attr("low") <= attr("low"),
            lambda: attr("low") > attr("low"),
            lambda: attr("low") >= attr("low"),
            lambda: attr("meta.a") == attr(["meta", "a"]),
            lambda: attr("low").between(attr("low"), 5),
            lambda: attr("low").between(1, attr("low")),
        ],
    )
    def test_an_attribute_compared_with_itself_is_refused_before_any_request(
        self, harness: Harness, build: Callable[[], Spec]
    ) -> None:
        _seed(harness)
        self._refused_everywhere(harness, build, "with itself")

    @pytest.mark.parametrize(
        ("build", "message"),
        [
            (lambda: attr("low") == object(), "a specification operand is"),
            (lambda: attr("meta") == (attr("low") == 1), "a specification"),
            (lambda: attr("items") == [attr("low").size()], "size"),
            (lambda: attr("items") == [attr("low")], "attr"),
            (lambda: attr("name") == {"S": "x"}, "wire value"),
            (lambda: attr("low") > {"N": "1"}, "wire value"),
            (lambda: attr("low") < True, "orders only"),
            (lambda: attr("low") >= [1], "orders only"),
            (lambda: attr("low") <= {"a": 1}, "orders only"),
            (lambda: attr("low").between(False, True), "orders only"),
            (lambda: attr("low").between(attr("high"), {1, 2}), "orders only"),
            (lambda: attr("name").begins_with(attr("alias")), "begins_with takes"),  # type: ignore[arg-type]
            (lambda: attr("items").contains(attr("low")), "contains takes"),
            (lambda: attr("items").contains(attr("low").size()), "contains takes"),
            (lambda: attr("low").is_in([1, attr("high")]), "is_in takes"),
            (lambda: attr("name").is_in("abc"), "is_in takes a list"),
        ],
    )
    def test_operands_dynamodb_cannot_take_are_refused_before_any_request(
        self, harness: Harness, build: Callable[[], Spec], message: str
    ) -> None:
        _seed(harness)
        self._refused_everywhere(harness, build, message)

    def _refused_everywhere(self, harness: Harness, build: Callable[[], Spec], match: str) -> None:
        """Every place a spec goes: the read paths, the write conditions, uow.check."""
        repo = harness.repository(SAMPLES)
        uses: Sequence[Callable[[], Any]] = [
            lambda: repo.find(IN_G & build()),
            lambda: repo.find(build()),
            lambda: repo.count(build()),
            lambda: list(repo.iterate(build())),
            lambda: repo.put(Sample("g", 9), condition=build()),
            lambda: repo.delete(group="g", rank=1, condition=build()),
            lambda: repo.update(group="g", rank=1).set("name", "x").condition(build()).execute(),
        ]
        for use in uses:
            with pytest.raises(errors.ValidationError, match=match):
                use()
        uow = harness.uow([SAMPLES])
        with uow:
            with pytest.raises(errors.ValidationError, match=match):
                uow.check(Sample, {"group": "g", "rank": 1}, build())
            uow.commit()
        assert harness.operations() == []
