"""persistence.numbers and the in-memory ADD: exact within DynamoDB's limits, refused beyond.

DynamoDB refuses an ADD whose result it cannot store (ValidationException) rather than rounding
it: 1E+50 + 1 needs 51 digits, 9E+125 + 9E+125 overflows. The blind ADD cases are checked on the
in-memory store only: moto stores them (tests/integration/test_contract_dynamodb.py).
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

import pytest

import persistence as p
from persistence import numbers
from persistence.testing.models import ACCOUNTS, TALLIES, Tally

# A context wide enough to add any two DynamoDB numbers exactly: the reference.
EXACT = decimal.Context(prec=400, Emax=999, Emin=-999)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (10**35 + 1, 1),
        (Decimal("1234567890123456789012345678.90"), Decimal("0.01")),
        (Decimal("9.9999999999999999999999999999999999998E+125"), Decimal("1E+88")),
        (Decimal("1E-130"), Decimal("1E-130")),
        (Decimal(10**50), Decimal(10**50)),
        (Decimal("-12345678901234567890123456789012345678"), Decimal(1)),
    ],
)
def test_add_is_exact_within_38_digits(a: Decimal | int, b: Decimal | int) -> None:
    assert numbers.add(a, b) == EXACT.add(a, b)
    assert numbers.sub(a, numbers.neg(b)) == EXACT.add(a, b)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (Decimal("1E+50"), 1, "more than 38 significant digits"),
        (Decimal(10**37), Decimal("0.5"), "more than 38 significant digits"),
        (Decimal("9E+125"), Decimal("9E+125"), "overflow"),
        (Decimal("1.5E-130"), Decimal("-1E-130"), "underflow"),
    ],
)
def test_add_refuses_what_dynamodb_cannot_store(a: Any, b: Any, message: str) -> None:
    with pytest.raises(p.ValidationError, match=message):
        numbers.add(a, b)


def test_plain_is_dynamodbs_text() -> None:
    assert numbers.plain(Decimal("2.50")) == "2.5"
    assert numbers.plain(Decimal("1E+3")) == "1000"
    assert numbers.plain(Decimal("-0.00")) == "0"
    assert numbers.plain(Decimal(10**37 + 1)) == str(10**37 + 1)


def _store_with(tally: Tally) -> p.InMemoryStore:
    store = p.InMemoryStore()
    repo = p.InMemoryRepository(TALLIES, store=store)
    repo.put(tally)
    return store


def test_memory_add_keeps_38_digits() -> None:
    store = _store_with(Tally("t", total=Decimal(10**35 + 1), count=10**35 + 1))
    repo = p.InMemoryRepository(TALLIES, store=store)
    repo.update(tally_id="t").add("total", 1).add("count", 1).execute()
    got = repo.get(tally_id="t")
    assert (got.total, got.count) == (10**35 + 2, 10**35 + 2)


@pytest.mark.parametrize(
    ("start", "delta", "message"),
    [
        (Decimal("1E+50"), Decimal(1), "more than 38 significant digits"),
        (Decimal(10**37), Decimal("0.5"), "more than 38 significant digits"),
        (Decimal("9E+125"), Decimal("9E+125"), "overflow"),
    ],
)
def test_memory_blind_add_beyond_the_limits_is_refused(
    start: Decimal, delta: Decimal, message: str
) -> None:
    store = _store_with(Tally("t", total=start))
    repo = p.InMemoryRepository(TALLIES, store=store)
    with pytest.raises(p.ValidationError, match=message):
        repo.update(tally_id="t").add("total", delta).execute()
    uow = p.InMemoryUnitOfWork([TALLIES], store=store)
    with uow:
        uow.increment(Tally, {"tally_id": "t"}, "total", delta)
        with pytest.raises(p.ValidationError, match=message):
            uow.commit()
    assert repo.get(tally_id="t").total == start  # nothing written


def test_increments_summed_beyond_38_digits_are_refused() -> None:
    uow = p.InMemoryUnitOfWork([TALLIES, ACCOUNTS])
    with uow:
        uow.increment(Tally, {"tally_id": "t"}, "total", Decimal(10**37))
        with pytest.raises(p.ValidationError, match="38 significant digits"):
            uow.increment(Tally, {"tally_id": "t"}, "total", Decimal("0.1"))
