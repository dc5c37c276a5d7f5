"""Specification values whose type the field can never hold are refused before any request.

DynamoDB compares attributes of different types as unequal and never orders them ("Comparison
operator reference" in the DynamoDB developer guide: values of different data types are not
equal), so `attr("price") == "10"` on a Decimal field matches nothing and `!=` matches every
item. Both backends refuse such a spec with ValidationError naming the field and both types; a
value of a type the field can hold (any number for a number field, an Enum member or its value,
a datetime or its ISO string) is accepted and matches as it would on DynamoDB.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from .. import errors
from ..query.specification import Spec, attr
from .harness import Harness
from .models import GADGETS, SESSIONS, Address, Color, Gadget, Session

UID = uuid.UUID("12345678-1234-5678-1234-567812345678")
SEEN = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)

SEED = Gadget(
    "g1",
    name="abc",
    price=Decimal("10"),
    weight=1.5,
    count=3,
    active=True,
    color=Color.BLUE,
    made=date(2024, 5, 1),
    seen_at=SEEN,
    uid=UID,
    blob=b"\x01\x02",
    tags={"a", "b"},
    scores={1, 2},
    blobs=frozenset({b"x"}),
    address=Address("Paris", "75001"),
    lines=[Address("Lyon")],
    meta={"k": 1},
    extra={"free": 5},
    pair=(7, "seven"),
)

# name -> (spec, the field and the two type words the message must name)
REFUSED: dict[str, tuple[Spec, tuple[str, ...]]] = {
    "decimal-vs-str": (attr("price") == "10", ("Gadget.price", "Decimal", "str")),
    "not-equal-too": (attr("price") != "10", ("Gadget.price", "Decimal", "str")),
    "int-vs-str-ordered": (attr("count") > "2", ("Gadget.count", "int", "str")),
    "str-vs-number": (attr("name") == 5, ("Gadget.name", "str", "int")),
    "bool-vs-number": (attr("active") == 1, ("Gadget.active", "bool", "int")),
    "number-vs-bool": (attr("count") == True, ("Gadget.count", "int", "bool")),  # noqa: E712
    "enum-vs-number": (attr("color") == 1, ("Gadget.color", "Color", "int")),
    "date-vs-number": (attr("made") > 20240101, ("Gadget.made", "date", "int")),
    "uuid-vs-bytes": (attr("uid") == b"x", ("Gadget.uid", "UUID", "bytes")),
    "set-vs-member": (attr("tags") == "a", ("Gadget.tags", "set[str]", "str", "contains")),
    "set-contains-number": (attr("tags").contains(1), ("Gadget.tags", "set[str]", "int")),
    "number-set-contains-str": (attr("scores").contains("1"), ("Gadget.scores", "int", "str")),
    "list-contains-str": (attr("lines").contains("Lyon"), ("Gadget.lines", "Address", "str")),
    "begins-with-on-number": (attr("price").begins_with("1"), ("Gadget.price", "Decimal", "str")),
    "between-on-str": (attr("name").between(1, 5), ("Gadget.name", "str", "int")),
    "is-in": (attr("count").is_in([1, "2"]), ("Gadget.count", "int", "str")),
    "size-vs-str": (attr("name").size() == "3", ("size()", "number", "str")),
    "optional-nested": (attr("address.city") == 75001, ("Gadget.address.city", "str", "int")),
    "list-element": (attr("lines[0].city") == 1, ("Gadget.lines[0].city", "str", "int")),
    "dict-value": (attr("meta.k") == "1", ("Gadget.meta.k", "int", "str")),
    "tuple-member": (attr("pair[1]") == 7, ("Gadget.pair[1]", "str", "int")),
    "path-vs-path": (attr("name") == attr("count"), ("name", "count", "string", "number")),
    "inside-or-and-not": (
        (attr("name") == "abc") | ~(attr("price") < "1"),
        ("Gadget.price", "Decimal", "str"),
    ),
}

# Values of a type the field holds: each spec matches the seeded gadget on both backends.
ACCEPTED: dict[str, Spec] = {
    "decimal-vs-int": attr("price") == 10,
    "decimal-vs-float": attr("price") < 10.5,
    "float-vs-decimal": attr("weight") == Decimal("1.5"),
    "int-vs-decimal": attr("count") == Decimal(3),
    "bool": attr("active") == True,  # noqa: E712
    "enum-member": attr("color") == Color.BLUE,
    "enum-value": attr("color") == "blue",
    "date": attr("made") == date(2024, 5, 1),
    "date-as-iso-text": attr("made") >= "2024-05-01",
    "datetime": attr("seen_at") == SEEN,
    "datetime-as-iso-text": attr("seen_at") == SEEN.isoformat(),
    "uuid": attr("uid") == UID,
    "uuid-as-text": attr("uid") == str(UID),
    "bytes": attr("blob") == b"\x01\x02",
    "string-begins-with": attr("name").begins_with("ab"),
    "set-contains": attr("tags").contains("a"),
    "number-set-contains": attr("scores").contains(Decimal(2)),
    "bytes-set-contains": attr("blobs").contains(b"x"),
    "whole-set": attr("tags") == {"a", "b"},
    "string-contains": attr("name").contains("b"),
    "list-contains-member": attr("lines").contains(Address("Lyon")),
    "size": attr("name").size() == 3,
    "size-of-a-set": attr("tags").size() == 2,
    "size-vs-number-field": attr("tags").size() < attr("count"),
    "optional-nested": attr("address.city") == "Paris",
    "list-element": attr("lines[0].city") == "Lyon",
    "dict-value": attr("meta.k") == 1,
    "tuple-member": attr("pair[0]") == 7,
    "any-nested-is-not-checked": attr("extra.free") == 5,
    "path-vs-path": attr("count") < attr("price"),
    "is-in": attr("count").is_in([3, Decimal(4)]),
}


def _find(h: Harness, spec: Spec) -> list[str]:
    return [g.gadget_id for g in h.repository(GADGETS).find(spec).items]


def _seed(h: Harness) -> None:
    uow = h.uow()
    with uow:
        uow.repository(Gadget).add(SEED)
        uow.commit()
    h.log.clear()


# Every entry point that takes a specification with a mapping.
USES: dict[str, Callable[[Harness, Spec], Any]] = {
    "find": _find,
    "count": lambda h, spec: h.repository(GADGETS).count(spec),
    "put-condition": lambda h, spec: h.repository(GADGETS).put(Gadget("g2"), condition=spec),
    "uow-check": lambda h, spec: _check(h, spec),
}


def _check(h: Harness, spec: Spec) -> None:
    uow = h.uow()
    with uow:
        uow.check(Gadget, {"gadget_id": "g1"}, spec)
        uow.commit()


class SpecTypesContract:
    """A spec value of a type the field never holds is refused on every entry point, before any
    request; values of a type it holds (any number, an Enum member or value, a datetime or its
    ISO text) are accepted and match as on DynamoDB."""

    @pytest.mark.parametrize("name", sorted(REFUSED))
    def test_a_value_the_field_cannot_hold_is_refused(self, harness: Harness, name: str) -> None:
        _seed(harness)
        spec, words = REFUSED[name]
        with pytest.raises(errors.ValidationError) as refused:
            _find(harness, spec)
        for word in words:
            assert word in str(refused.value), (word, str(refused.value))
        assert harness.log.names() == []

    @pytest.mark.parametrize("use", sorted(USES))
    def test_every_entry_point_refuses_it(self, harness: Harness, use: str) -> None:
        _seed(harness)
        with pytest.raises(errors.ValidationError, match=r"Gadget\.price"):
            USES[use](harness, attr("price") == "10")
        assert harness.log.names() == []
        assert _find(harness, attr("gadget_id") == "g2") == []

    @pytest.mark.parametrize("name", sorted(ACCEPTED))
    def test_a_value_the_field_can_hold_matches(self, harness: Harness, name: str) -> None:
        _seed(harness)
        assert _find(harness, ACCEPTED[name]) == ["g1"]

    def test_the_ttl_field_is_compared_as_epoch_seconds(self, harness: Harness) -> None:
        uow = harness.uow()
        with uow:
            uow.repository(Session).add(Session("s1", "ann", EXPIRES))
            uow.commit()
        repo = harness.repository(SESSIONS)
        epoch = int(EXPIRES.timestamp())
        assert [s.session_id for s in repo.find(attr("expires_at") == epoch).items] == ["s1"]
        # The TTL attribute holds a number: a datetime (an ISO string) would never match.
        with pytest.raises(errors.ValidationError, match=r"Session\.expires_at.*datetime"):
            repo.find(attr("expires_at") < EXPIRES)
