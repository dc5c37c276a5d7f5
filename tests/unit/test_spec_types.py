"""Which field types refuse which specification values (persistence/spec_types.py).

The backends' behaviour is the contract (persistence/testing/contract_spec_types.py); these pin
the annotation rules: what is known, and what is left alone because it cannot be known.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

import pytest

import persistence as p
from persistence.errors import ValidationError
from persistence.model.marshal import register_converter
from persistence.query.spec_types import validate_against
from persistence.query.specification import Spec, attr


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Mixed(enum.Enum):
    A = "a"
    B = 2


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


register_converter(Point, lambda pt: [pt.x], lambda raw: Point(int(raw[0])))


@dataclass
class Inner:
    label: str = ""


@dataclass
class Record:
    record_id: str
    either: str | int | None = None
    loose: str | Any = None
    anything: Any = None
    kind: str = "a"
    flagged: bool | int = 0
    cents: int = 0
    note: Annotated[str, "doc"] = ""
    level: Level = Level.LOW
    mixed: Mixed = Mixed.A
    point: Point | None = None
    inner: Inner | None = None
    items: list[Any] = field(default_factory=list)
    pairs: tuple[int, ...] = ()
    amounts: frozenset[Decimal] = frozenset()
    sets: set[Any] = field(default_factory=set)
    extra: dict[str, Any] = field(default_factory=dict)


RECORDS = p.Mapping(Record, p.Table("records", partition_key="record_id"))


def _refused(spec: Spec) -> str:
    with pytest.raises(ValidationError) as refused:
        validate_against(spec, RECORDS)
    return str(refused.value)


@pytest.mark.parametrize(
    "spec",
    [
        attr("either") == "x",
        attr("either") == 3,
        attr("loose") == b"anything",  # a union with Any: unknown
        attr("anything") == 1,
        attr("flagged") == True,  # noqa: E712
        attr("flagged") == 5,
        attr("cents") == Decimal("1.5"),
        attr("note").begins_with("x"),
        attr("level") == Level.HIGH,
        attr("level") == 2,
        attr("mixed") == "a",
        attr("mixed") == 2,
        attr("point") == "registered converters are not second-guessed",
        attr("inner.label") == "x",
        attr("inner.unknown") == 1,  # not a field of Inner: the path never resolves, not refused
        attr("items").contains(1),
        attr("items[0]") == "x",
        attr("pairs[5]") == 1,
        attr("amounts").contains(2.5),
        attr("sets").contains(b"x"),
        attr("extra.a.b[2]") == 1,
        attr("either") == attr("kind"),
        attr("either").size() > attr("cents"),
        attr("anything") == attr("cents"),
    ],
    ids=repr,
)
def test_accepted(spec: Spec) -> None:
    validate_against(spec, RECORDS)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (attr("either") == b"x", ["Record.either", "str | int", "bytes"]),
        (attr("kind") == 1, ["Record.kind", "str", "int"]),
        (attr("flagged") == "x", ["Record.flagged", "str"]),
        (attr("cents") == "1", ["Record.cents", "str"]),
        (attr("note") == 1, ["Record.note", "int"]),
        (attr("level") == "LOW", ["Record.level", "Level", "str"]),
        (attr("mixed") == True, ["Record.mixed", "bool"]),  # noqa: E712
        (attr("inner.label") == 1, ["Record.inner.label", "str", "int"]),
        (attr("pairs[0]") == "1", ["Record.pairs[0]", "int", "str"]),
        (attr("amounts").contains("2"), ["Record.amounts", "str"]),
        (attr("sets") == 1, ["Record.sets", "set", "int"]),
        (attr("either").contains(1), ["Record.either", "contains"]),
        (attr("kind") != 1, ["Record.kind", "int"]),
        (attr("cents") == attr("kind"), ["cents", "kind", "number", "string"]),
        (attr("kind").size() == attr("note"), ["size()", "note", "string"]),
    ],
    ids=lambda v: repr(v) if isinstance(v, Spec) else "",
)
def test_refused(spec: Spec, words: list[str]) -> None:
    message = _refused(spec)
    for word in words:
        assert word in message, (word, message)


def test_the_planner_and_update_conditions_refuse_too() -> None:
    repo = p.InMemoryRepository(RECORDS, cursor_secret="x")
    repo.put(Record("r1", cents=5))
    with pytest.raises(ValidationError, match=r"Record\.cents"):
        repo.find(attr("cents") == "5")
    with pytest.raises(ValidationError, match=r"Record\.cents"):
        repo.put(Record("r1"), condition=attr("cents") > "1")
    assert [r.cents for r in repo.find(attr("cents") == 5).items] == [5]
