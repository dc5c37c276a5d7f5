"""Numbers keep DynamoDB's 38 significant digits through every write path (adr/0012).

Only results DynamoDB can store are asserted on every backend: for a blind ADD whose result
needs more than 38 digits, DynamoDB answers ValidationException but moto stores the exact
integer or a 28-digit rounding (see tests/unit/test_numbers.py for the in-memory refusal).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from .. import errors
from .harness import Harness
from .models import TALLIES, Tally


def _tally(h: Harness, tally: Tally) -> None:
    uow = h.uow()
    with uow:
        uow.repository(Tally).add(tally)
        uow.commit()


def _read(h: Harness, tally_id: str) -> Tally:
    tally: Tally = h.repository(TALLIES).get(tally_id=tally_id)
    return tally


class NumbersContract:
    """Numbers keep 38 significant digits through every write path."""

    def test_increment_keeps_38_digits(self, harness: Harness) -> None:
        # 10**35 + 2 needs 36 digits: Python's default 28-digit context gives 10**35.
        _tally(harness, Tally("t1", total=Decimal(10**35 + 1), count=10**35 + 1))
        uow = harness.uow()
        with uow:
            uow.increment(Tally, {"tally_id": "t1"}, "total", 1)
            uow.increment(Tally, {"tally_id": "t1"}, "count", 1)
            uow.commit()
        got = _read(harness, "t1")
        assert got.total == 10**35 + 2
        assert got.count == 10**35 + 2

    def test_update_builder_add_keeps_38_digits(self, harness: Harness) -> None:
        big = Decimal("1234567890123456789012345678.90")  # 30 digits
        _tally(harness, Tally("t2", total=big))
        harness.repository(TALLIES).update(tally_id="t2").add("total", Decimal("0.01")).execute()
        assert _read(harness, "t2").total == Decimal("1234567890123456789012345678.91")

    def test_loaded_counter_change_is_exact(self, harness: Harness) -> None:
        # The ADD delta is new - loaded = 1000000000000000000000000000000.01 (33 digits).
        _tally(harness, Tally("t3", total=Decimal("1000000000000000000000000000000.01")))
        uow = harness.uow()
        with uow:
            tally = uow.repository(Tally).get(tally_id="t3")
            tally.total = Decimal("2000000000000000000000000000000.02")
            uow.commit()
        assert _read(harness, "t3").total == Decimal("2000000000000000000000000000000.02")

    def test_increments_merged_in_one_commit_are_exact(self, harness: Harness) -> None:
        _tally(harness, Tally("t4"))
        uow = harness.uow()
        with uow:
            uow.increment(Tally, {"tally_id": "t4"}, "total", Decimal(10**36))
            uow.increment(Tally, {"tally_id": "t4"}, "total", Decimal("1"))
            uow.commit()
        assert _read(harness, "t4").total == 10**36 + 1

    def test_counter_beyond_38_digits_is_refused_before_sending(self, harness: Harness) -> None:
        _tally(harness, Tally("t5", total=Decimal(10**37)))
        uow = harness.uow()
        with uow:
            tally = uow.repository(Tally).get(tally_id="t5")
            tally.note = "changed"
            uow.increment(Tally, {"tally_id": "t5"}, "total", Decimal("0.5"))
            harness.log.clear()
            with pytest.raises(errors.ValidationError, match="38 significant digits"):
                uow.commit()
        assert "TransactWriteItems" not in harness.operations()
        stored = _read(harness, "t5")
        assert (stored.total, stored.note) == (Decimal(10**37), "")
