"""Random ADD sequences agree with exact arithmetic at DynamoDB's 38 digits, on both backends.

Each step adds a random number (up to 38 significant digits, in DynamoDB's range) to a counter
through one public path: `uow.increment` (a blind ADD), the update builder's `add`, or a loaded
aggregate whose counter field changed (the unit of work sends ADD of the difference). The result
must be the exact sum when DynamoDB can store it, and a ValidationError that writes nothing when
it needs more than 38 digits or leaves the range (DynamoDB's ValidationException).

On moto only the sequences whose every result DynamoDB can store run, with operands written
without a "." or with two decimals and sums under 28 digits: moto computes an ADD of integer
texts with unbounded ints (it never refuses) and one with a "." in Python's 28-digit context
(it rounds), and crashes on exponent notation such as "1E+2" (moto 5.2.5,
moto/dynamodb/models/dynamo_type.py DynamoType.__add__). See adr/0012-numbers.md.
"""

from __future__ import annotations

import decimal
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import persistence as p
from persistence import limits
from persistence.testing.models import TALLIES, Tally
from persistence.validation import significant_digits

# Wide enough to add any two DynamoDB numbers exactly (exponents -167..125): the reference.
EXACT = decimal.Context(prec=1000, Emax=10**6, Emin=-(10**6), traps=[decimal.Inexact])
PATHS = ("increment", "builder", "loaded")


def storable(value: Decimal) -> bool:
    """Whether DynamoDB stores `value` exactly (its documented 38 digits and range)."""
    if value.is_zero():
        return True
    magnitude = value.copy_abs()
    return (
        significant_digits(value) <= limits.MAX_NUMBER_DIGITS
        and limits.MIN_NUMBER_MAGNITUDE <= magnitude <= limits.MAX_NUMBER_MAGNITUDE
    )


@st.composite
def dynamodb_numbers(draw: st.DrawFn, exponents: st.SearchStrategy[int]) -> Decimal:
    digits = draw(st.integers(1, 38))
    coefficient = draw(st.integers(0, 10**digits - 1))
    value = Decimal((draw(st.integers(0, 1)), tuple(map(int, str(coefficient))), draw(exponents)))
    assume(storable(value))
    return value


# Mostly exponents close together, so sums often need more than 38 digits; sometimes the edges.
ANY_NUMBER = dynamodb_numbers(st.one_of(st.integers(-12, 12), st.integers(-167, 125)))
INTEGERS = dynamodb_numbers(st.integers(0, 40)).map(int)


@dataclass(frozen=True)
class Step:
    path: str
    field: str  # "total" (Decimal) or "count" (int)
    delta: Decimal | int


def steps(decimals: st.SearchStrategy[Decimal], ints: st.SearchStrategy[int]) -> Any:
    step = st.one_of(
        st.builds(Step, st.sampled_from(PATHS), st.just("total"), decimals),
        st.builds(Step, st.sampled_from(PATHS), st.just("count"), ints),
    )
    return st.lists(step, min_size=1, max_size=6)


def run(uow: p.UnitOfWork, repo: Any, start: Tally, plan: list[Step]) -> None:
    """Apply `plan`, checking each step against exact arithmetic."""
    repo.put(start)
    key = {"tally_id": start.tally_id}
    current: dict[str, Decimal] = {"total": Decimal(start.total), "count": Decimal(start.count)}
    for step in plan:
        exact = EXACT.add(current[step.field], step.delta)
        try:
            if step.path == "increment":
                with uow:
                    uow.increment(Tally, key, step.field, step.delta)
                    uow.commit()
            elif step.path == "builder":
                repo.update(**key).add(step.field, step.delta).execute()
            else:
                with uow:
                    tally = uow.repository(Tally).get(**key)
                    new = int(exact) if step.field == "count" and exact == int(exact) else exact
                    setattr(tally, step.field, new)
                    uow.commit()
        except p.ValidationError:
            assert not storable(exact), (step, exact)
            event(f"{step.path}: refused")
        else:
            assert storable(exact), (step, exact)
            current[step.field] = exact
        stored = repo.get(**key)
        assert Decimal(stored.total) == current["total"], (step, stored.total, current)
        assert Decimal(stored.count) == current["count"], (step, stored.count, current)
        assert isinstance(stored.count, int)


SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@settings(SETTINGS, max_examples=150)
@given(total=ANY_NUMBER, count=INTEGERS, plan=steps(ANY_NUMBER, INTEGERS))
def test_in_memory_adds_are_exact_or_refused(total: Decimal, count: int, plan: list[Step]) -> None:
    store = p.InMemoryStore()
    uow = p.InMemoryUnitOfWork([TALLIES], store=store)
    repo = p.InMemoryRepository(TALLIES, store=store)
    run(uow, repo, Tally(uuid.uuid4().hex, total=total, count=count), plan)


# What moto computes right: integer texts (exact), and cents whose sums stay under 28 digits.
MOTO_INTS = st.integers(-(10**37), 10**37)
MOTO_CENTS = st.integers(-(10**25), 10**25).map(lambda cents: Decimal(cents).scaleb(-2))
MOTO_DECIMALS = st.one_of(MOTO_CENTS, MOTO_INTS.map(Decimal))


@settings(SETTINGS, max_examples=12)
@given(total=MOTO_DECIMALS, count=MOTO_INTS, plan=steps(MOTO_DECIMALS, MOTO_INTS))
def test_on_dynamodb_adds_are_exact(
    bank_client: Any, total: Decimal, count: int, plan: list[Step]
) -> None:
    sums = {"total": [Decimal(total)], "count": [Decimal(count)]}
    for step in plan:
        sums[step.field].append(EXACT.add(sums[step.field][-1], step.delta))
    assume(all(storable(s) for values in sums.values() for s in values))
    if any(s.as_tuple().exponent != 0 for s in sums["total"]):  # type: ignore[union-attr]
        assume(all(significant_digits(s) <= 28 for s in sums["total"]))
    client = bank_client
    uow = p.DynamoDBUnitOfWork(client, [TALLIES])
    repo = p.DynamoDBRepository(client, TALLIES, cursor_secret="x")
    run(uow, repo, Tally(uuid.uuid4().hex, total=total, count=count), plan)
