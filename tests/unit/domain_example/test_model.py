"""Domain rules on plain aggregates: no storage involved."""

from __future__ import annotations

import decimal
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain_example.domain import errors, events
from domain_example.domain.model import (
    BALANCE_CONTEXT,
    MAX_AMOUNT,
    Account,
    AccountStatus,
    TransferStatus,
    money,
    transfer,
)

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def account(account_id: str = "a1", balance: str = "100", currency: str = "EUR") -> Account:
    return Account(account_id, "alice", currency, balance=Decimal(balance))


@pytest.mark.parametrize("value", ["0", "-1", "0.001", "NaN", "Infinity", "abc"])
def test_money_refuses_what_is_not_a_positive_amount_in_cents(value: str) -> None:
    with pytest.raises(errors.InvalidAmount):
        money(value)


def test_opening_raises_the_event_and_normalises_the_currency() -> None:
    opened = Account.open("a1", "alice", "eur")
    assert opened.currency == "EUR"
    assert opened.events == [events.AccountOpened("a1", "alice", "EUR")]


def test_withdraw_within_the_overdraft_goes_negative_beyond_it_is_refused() -> None:
    a = Account("a1", "alice", "EUR", balance=Decimal("20"), overdraft_limit=Decimal("50"))
    a.withdraw(Decimal("60"))
    assert a.balance == Decimal("-40")
    with pytest.raises(errors.InsufficientFunds):
        a.withdraw(Decimal("10.01"))
    assert a.balance == Decimal("-40")


def test_a_frozen_account_takes_no_deposit() -> None:
    a = account()
    a.freeze()
    with pytest.raises(errors.AccountNotOpen):
        a.deposit(Decimal("1"))


def test_only_an_empty_account_closes() -> None:
    a = account(balance="1")
    with pytest.raises(errors.AccountNotEmpty):
        a.close()
    a.balance = Decimal("0")
    a.close()
    assert a.status is AccountStatus.CLOSED
    assert a.events[-1] == events.AccountClosed("a1", "alice")


def test_transfer_moves_money_and_raises_one_event() -> None:
    source, target = account("a1"), account("a2", balance="0")
    done = transfer(source, target, Decimal("30"), "t1", NOW)
    assert (source.balance, target.balance) == (Decimal("70"), Decimal("30"))
    assert done.status is TransferStatus.COMPLETED
    assert [type(e) for e in done.events] == [events.TransferCompleted]


@pytest.mark.parametrize(
    ("target_currency", "amount", "reason"),
    [("EUR", "100.01", "insufficient_funds"), ("USD", "1", "currency_mismatch")],
)
def test_a_refused_transfer_is_recorded_as_rejected_and_moves_nothing(
    target_currency: str, amount: str, reason: str
) -> None:
    source, target = account("a1"), account("a2", balance="0", currency=target_currency)
    rejected = transfer(source, target, Decimal(amount), "t1", NOW)
    assert rejected.status is TransferStatus.REJECTED
    assert rejected.reason == reason
    assert (source.balance, target.balance) == (Decimal("100"), Decimal("0"))
    assert isinstance(rejected.events[0], events.TransferRejected)


def test_a_transfer_to_the_same_account_is_a_bad_request() -> None:
    a = account()
    with pytest.raises(errors.SameAccount):
        transfer(a, a, Decimal("1"), "t1", NOW)


@pytest.mark.parametrize(
    "value",
    [
        "1e27",
        Decimal("1e27"),
        "1e999999999",
        Decimal("1e999999999"),
        Decimal("1e-999999999"),
        "9" * 38,
        10**38 - 1,
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("-Infinity"),
        "Infinity",
        Decimal("-5"),
        0,
        "0.00",
        "five",
        "5_000",
        True,
        1.5,
        None,
        "0.001",
        Decimal("1000000000.01"),
    ],
)
def test_money_refuses_anything_but_positive_cents_up_to_the_maximum(value: object) -> None:
    with pytest.raises(errors.InvalidAmount) as refused:
        money(value)
    assert len(str(refused.value)) < 120  # a clear message, not an echo of a huge input


def test_money_accepts_cents_up_to_the_maximum() -> None:
    assert money("1000000000.00") == MAX_AMOUNT
    assert money("0.01") == Decimal("0.01")
    assert money(Decimal("12.500")) == Decimal("12.5")
    assert money(7) == 7


def test_a_deposit_into_a_large_balance_changes_it_exactly() -> None:
    a = account(balance=str(10**30))
    a.deposit(Decimal("0.01"))
    assert str(a.balance) == "1000000000000000000000000000000.01"
    assert a.deposits == 1


def test_a_deposit_beyond_what_can_be_stored_exactly_is_refused() -> None:
    a = account(balance=str(10**36))
    with pytest.raises(errors.BalanceOutOfRange, match="38 digits"):
        a.deposit(Decimal("0.01"))
    assert (a.balance, a.deposits, a.events) == (Decimal(10**36), 0, [])


def test_a_transfer_into_a_balance_beyond_the_limit_is_rejected_and_moves_nothing() -> None:
    source, target = account("a1", "100"), account("b1", str(10**36))
    done = transfer(source, target, Decimal("0.01"), "t1", NOW)
    assert (done.status, done.reason) == (TransferStatus.REJECTED, "balance_out_of_range")
    assert (source.balance, target.balance) == (Decimal("100"), Decimal(10**36))


def test_the_balance_context_is_the_librarys_number_context() -> None:
    from persistence import numbers

    mine, library = BALANCE_CONTEXT, numbers.CONTEXT
    assert (mine.prec, mine.Emax, mine.Emin) == (library.prec, library.Emax, library.Emin)
    assert {s for s, on in mine.traps.items() if on} == {
        s for s, on in library.traps.items() if on
    } - {decimal.DivisionByZero, decimal.FloatOperation}


@pytest.mark.parametrize("bad", ["x/y", "", "a b", "é1", "a#b", "k" * 65, "a?b", "..", 7])
def test_an_account_id_outside_the_url_safe_charset_is_refused(bad: object) -> None:
    with pytest.raises(errors.InvalidAccountId, match="letters A-Z a-z, digits, '-' and '_'"):
        Account.open(bad, "alice", "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("good", ["a1", "A-b_9", "k" * 64, "0"])
def test_url_safe_account_ids_are_accepted(good: str) -> None:
    assert Account.open(good, "alice", "EUR").account_id == good


@pytest.mark.parametrize("bad", ["euro!!", "EURO", "EU", "", "E1R", "€UR", "\u0131NR", None])
def test_a_currency_that_is_not_three_letters_is_refused(bad: object) -> None:
    with pytest.raises(errors.InvalidCurrency, match="three-letter ISO 4217 code"):
        Account.open("a1", "alice", bad)  # type: ignore[arg-type]


def test_a_lower_case_currency_is_upper_cased() -> None:
    assert Account.open("a1", "alice", "usd").currency == "USD"
