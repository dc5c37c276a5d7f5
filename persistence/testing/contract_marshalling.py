"""Marshalling: every field type round-trips through both backends.

Part of the behaviour contract (`persistence.testing.contract`): subclass `MarshallingContract`
in a test module that provides a `harness` fixture.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from .. import errors
from ..query.specification import attr
from .harness import Harness
from .models import (
    ACCOUNTS,
    GADGETS,
    Account,
    Address,
    Color,
    Gadget,
)


class MarshallingContract:
    """Every supported field type round-trips through the backend unchanged."""

    def test_every_field_type_round_trips_through_the_backend(self, harness: Harness) -> None:
        gadget = Gadget(
            "g1",
            name="ünïcode ✓",
            price=Decimal("12345678901234567890.123456789"),
            weight=0.1,
            count=-(10**37),
            active=False,
            color=Color.BLUE,
            made=date(2024, 2, 29),
            seen_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            uid=uuid.UUID(int=7),
            blob=b"\x00\xffbytes",
            tags={"a", "b"},
            scores={1, 2, 3},
            blobs=frozenset({b"x", b"y"}),
            address=Address("Paris", None),
            lines=[Address("A", "1"), Address("B")],
            meta={"x": 1},
            extra={"nested": {"list": [1, "two", None, True]}, "n": Decimal("1.5")},
            pair=(1, "one"),
        )
        repo = harness.repository(GADGETS)
        repo.add(gadget)
        assert repo.get(gadget_id="g1") == gadget

    def test_empty_sets_are_absent_and_read_back_empty(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        repo.add(Gadget("g2"))
        loaded = repo.get(gadget_id="g2")
        assert loaded.tags == set() and loaded.scores == set() and loaded.blobs == frozenset()
        assert repo.count(attr("tags").exists()) == 0
        assert repo.count(attr("tags").not_exists()) == 1

    def test_number_beyond_38_digits_is_refused_and_nothing_written(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        with pytest.raises(errors.ValidationError, match="38"):
            repo.add(Gadget("g3", price=Decimal("1" * 39)))
        with pytest.raises(errors.ValidationError, match="NaN or infinity"):
            repo.add(Gadget("g3", weight=float("nan")))
        with pytest.raises(errors.ValidationError, match="range"):
            repo.add(Gadget("g3", price=Decimal("1E+126")))
        assert repo.count() == 0

    def test_empty_key_and_oversized_item_are_refused(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        with pytest.raises(errors.ValidationError, match="empty"):
            repo.add(Gadget(""))
        with pytest.raises(errors.ValidationError, match="400"):
            repo.add(Gadget("big", name="x" * (400 * 1024)))
        uow = harness.uow([ACCOUNTS])
        with uow, pytest.raises(errors.ValidationError, match="2048"):
            uow.repository(Account).add(Account("k" * 2100, "alice"))
            uow.commit()
        assert repo.count() == 0

    def test_unknown_attributes_in_stored_items_are_ignored(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        repo.add(Gadget("g4", name="n"))
        # A newer writer added an attribute this reader does not know.
        uow = harness.uow([GADGETS])
        from ..backends.actions import Meaning, SetValue, Update

        with uow:
            uow.add_action(
                Update(
                    "contract_gadgets",
                    {"gadget_id": {"S": "g4"}},
                    [SetValue(("future_field",), {"S": "x"})],
                    None,
                    Meaning("Gadget", {"gadget_id": "g4"}, "update"),
                )
            )
            uow.commit()
        with uow:
            loaded = uow.repository(Gadget).get(gadget_id="g4")
            loaded.name = "changed"
            uow.commit()
        assert repo.get(gadget_id="g4").name == "changed"
