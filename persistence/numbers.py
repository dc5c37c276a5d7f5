"""DynamoDB numbers: the one decimal context the library computes in.

DynamoDB keeps 38 significant digits and magnitudes from 1E-130 to 9.99...E+125, and refuses a
result it cannot store rather than rounding it (an ADD of 1 to 1E+50 is a ValidationException,
not 1E+50). Python's default context keeps 28 digits and rounds silently, so every Decimal
operation of the library that can round (+, -, unary minus, abs, normalize, sum, quantize) goes
through this module: exact within DynamoDB's limits, a ValidationError beyond them.

Constructing a Decimal from text or an int, comparisons, `int()`, `as_tuple()`, `copy_abs()`,
`copy_negate()` and `adjusted()` are exact and need no context. See adr/0012-numbers.md.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from decimal import Decimal

from . import limits
from .errors import ValidationError

PRECISION = limits.MAX_NUMBER_DIGITS

# Emax/Emin bound the adjusted exponent (the power of ten of the leading digit), which is how
# DynamoDB states its range: 9.99...E+125 at most, 1E-130 at least. Every signal that changes a
# value or leaves the range is trapped. Rounded is not: it also fires when only trailing zeroes
# are dropped (1E+50 as an int has 51 digits, 1 significant), which loses nothing and which
# DynamoDB accepts; Clamped only changes the exponent of a zero.
CONTEXT = decimal.Context(
    prec=PRECISION,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=125,
    Emin=-130,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[
        decimal.InvalidOperation,
        decimal.DivisionByZero,
        decimal.Overflow,
        decimal.Underflow,
        decimal.Subnormal,
        decimal.Inexact,
        decimal.FloatOperation,
    ],
)

_OVERFLOW = (
    "Number overflow: {what} has a magnitude larger than DynamoDB stores "
    "(at most 9.9999999999999999999999999999999999999E+125)"
)
_UNDERFLOW = (
    "Number underflow: {what} has a magnitude smaller than DynamoDB stores "
    "(at least 1E-130, or exactly 0)"
)
_PRECISION = (
    "{what} needs more than 38 significant digits; DynamoDB refuses it rather than round it "
    "(keep the values smaller, or store the number as a string)"
)


def _refuse(exc: decimal.DecimalException, what: str) -> ValidationError:
    # With several signals trapped, decimal raises the first of Overflow, Underflow, Subnormal,
    # Inexact; an overflow is also inexact, so the order here matters.
    if isinstance(exc, decimal.Overflow):
        return ValidationError(_OVERFLOW.format(what=what))
    if isinstance(exc, decimal.Underflow | decimal.Subnormal):
        return ValidationError(_UNDERFLOW.format(what=what))
    if isinstance(exc, decimal.Inexact):
        return ValidationError(_PRECISION.format(what=what))
    return ValidationError(f"{what} is not a number DynamoDB can store ({exc!r})")


def add(a: Decimal | int, b: Decimal | int, what: str = "the sum") -> Decimal:
    """a + b exactly, or ValidationError when DynamoDB could not store the result."""
    try:
        return CONTEXT.add(a, b)
    except decimal.DecimalException as exc:
        raise _refuse(exc, f"{what} {a} + {b}") from None


def sub(a: Decimal | int, b: Decimal | int, what: str = "the difference") -> Decimal:
    """a - b exactly, or ValidationError when DynamoDB could not store the result."""
    try:
        return CONTEXT.subtract(a, b)
    except decimal.DecimalException as exc:
        raise _refuse(exc, f"{what} {a} - {b}") from None


def neg(a: Decimal | int) -> Decimal:
    """-a, exact (a number DynamoDB stores has a negation it stores)."""
    return Decimal(a).copy_negate()


def total(values: Iterable[Decimal | int], what: str = "the total") -> Decimal:
    """The exact sum of `values`, or ValidationError (never a silently rounded sum)."""
    result = Decimal(0)
    for value in values:
        result = add(result, value, what)
    return result


def is_integer(value: Decimal) -> bool:
    """Whether a finite `value` is a whole number (exact: rounding to an integer never rounds
    to fewer digits than the integer has)."""
    return bool(value == value.to_integral_value(context=CONTEXT))


def plain(value: Decimal) -> str:
    """The text DynamoDB answers for a computed number: no exponent, no trailing zeroes.

    `value` must already be a number DynamoDB stores (38 digits, in range), so normalizing in
    CONTEXT is exact."""
    if value.is_zero():
        return "0"
    value = CONTEXT.normalize(value)
    if value.as_tuple().exponent >= 0:  # type: ignore[operator]
        return str(int(value))
    return format(value, "f")
