"""Aggregates: plain dataclasses whose methods enforce the rules and append events."""

from __future__ import annotations

import decimal
import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from . import events
from .errors import (
    AccountNotEmpty,
    AccountNotOpen,
    BalanceOutOfRange,
    CurrencyMismatch,
    DomainError,
    InsufficientFunds,
    InvalidAccountId,
    InvalidAmount,
    InvalidCurrency,
    SameAccount,
)

# An account id travels in URLs (/accounts/{account_id}) and in keys: letters, digits, '-' and
# '_' only, so every id an account is opened with can be fetched back by the same path.
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Currencies are ISO 4217 style codes; lower case is accepted and upper-cased.
CURRENCY = re.compile(r"[A-Za-z]{3}")


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _account_id(value: object) -> str:
    """The id, or InvalidAccountId saying which ids are accepted."""
    if not isinstance(value, str) or ACCOUNT_ID.fullmatch(value) is None:
        raise InvalidAccountId(
            "an account id is 1 to 64 characters among letters A-Z a-z, digits, '-' and '_', "
            f"got {_shown(value)}"
        )
    return value


def _currency(value: object) -> str:
    """The upper-case three-letter code, or InvalidCurrency."""
    if not isinstance(value, str) or CURRENCY.fullmatch(value) is None:
        raise InvalidCurrency(
            f"a currency is a three-letter ISO 4217 code such as EUR or USD, got {_shown(value)}"
        )
    return value.upper()


# Amounts are in a currency's major unit with at most two decimals (cents), positive, and at
# most MAX_AMOUNT per operation (a deposit, a withdrawal, a transfer, an overdraft limit).
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000000.00")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")

# Balances are stored as DynamoDB numbers: 38 significant digits, kept exactly or refused, never
# rounded (Python's default context keeps 28 digits and would round a deposit of 0.01 into a
# large balance away). The same rules as persistence.numbers.CONTEXT, restated here so the
# domain imports no persistence (a test keeps the two in step).
BALANCE_CONTEXT = decimal.Context(
    prec=38,
    Emax=125,
    Emin=-130,
    traps=[
        decimal.InvalidOperation,
        decimal.Overflow,
        decimal.Underflow,
        decimal.Subnormal,
        decimal.Inexact,
    ],
)


def money(value: object, what: str = "an amount", *, zero_allowed: bool = False) -> Decimal:
    """A positive amount (or zero, when allowed) with at most two decimals and at most
    MAX_AMOUNT, or InvalidAmount saying what is wrong. Text must be a plain decimal number."""
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
        amount = Decimal(value)  # exact: construction from text rounds nothing
    elif isinstance(value, Decimal | int) and not isinstance(value, bool):
        amount = Decimal(value)
    else:
        raise InvalidAmount(f"{what} must be a decimal number such as 12.50, got {_shown(value)}")
    # Checked in this order, with comparisons only (exact, and cheap for 1E+999999999).
    if not amount.is_finite():
        raise InvalidAmount(f"{what} must be a finite number, got {_shown(value)}")
    if amount < 0 or (amount == 0 and not zero_allowed):
        qualifier = "zero or positive" if zero_allowed else "positive"
        raise InvalidAmount(f"{what} must be {qualifier}, got {_shown(value)}")
    if amount > MAX_AMOUNT:
        raise InvalidAmount(f"{what} is at most {MAX_AMOUNT:,}, got {_shown(value)}")
    _, digits, exponent = amount.as_tuple()
    assert isinstance(exponent, int)
    if exponent < -2 and any(digits[exponent + 2 :]):
        raise InvalidAmount(f"{what} has at most two decimals, got {_shown(value)}")
    return amount


def _balance(account_id: str, result: Callable[[], Decimal]) -> Decimal:
    try:
        return result()
    except decimal.DecimalException:
        raise BalanceOutOfRange(
            f"account {account_id}: the balance would need more than 38 digits to be kept "
            "exactly; the operation is refused"
        ) from None


class AccountStatus(enum.Enum):
    OPEN = "open"
    FROZEN = "frozen"
    CLOSED = "closed"


class TransferStatus(enum.Enum):
    COMPLETED = "completed"
    REJECTED = "rejected"


@dataclass
class Account:
    account_id: str
    owner: str
    currency: str
    balance: Decimal = Decimal("0")
    # How far below zero the balance may go; zero means no overdraft.
    overdraft_limit: Decimal = Decimal("0")
    status: AccountStatus = AccountStatus.OPEN
    deposits: int = 0  # counters: written as ADD deltas, never conflict
    withdrawals: int = 0
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None  # set by the soft delete when the account is closed
    version: int = 0
    events: list[Any] = field(default_factory=list, compare=False, repr=False)

    @classmethod
    def open(
        cls, account_id: str, owner: str, currency: str, overdraft_limit: Decimal = Decimal("0")
    ) -> Account:
        overdraft_limit = money(overdraft_limit, "an overdraft limit", zero_allowed=True)
        account = cls(
            _account_id(account_id),
            owner,
            _currency(currency),
            overdraft_limit=overdraft_limit,
        )
        account.events.append(events.AccountOpened(account_id, owner, account.currency))
        return account

    @property
    def available(self) -> Decimal:
        limit = self.overdraft_limit
        return _balance(self.account_id, lambda: BALANCE_CONTEXT.add(self.balance, limit))

    def _plus(self, amount: Decimal) -> Decimal:
        return _balance(self.account_id, lambda: BALANCE_CONTEXT.add(self.balance, amount))

    def _minus(self, amount: Decimal) -> Decimal:
        return _balance(self.account_id, lambda: BALANCE_CONTEXT.subtract(self.balance, amount))

    def _require_open(self) -> None:
        if self.status is not AccountStatus.OPEN:
            raise AccountNotOpen(f"account {self.account_id} is {self.status.value}")

    def _require_currency(self, currency: str) -> None:
        if currency != self.currency:
            raise CurrencyMismatch(
                f"account {self.account_id} holds {self.currency}, not {currency}"
            )

    def deposit(self, amount: Decimal) -> None:
        amount = money(amount)
        self._require_open()
        self.balance = self._plus(amount)
        self.deposits += 1
        self.events.append(
            events.MoneyDeposited(self.account_id, self.owner, amount, self.currency)
        )

    def withdraw(self, amount: Decimal) -> None:
        amount = money(amount)
        self._require_open()
        self._require_funds(amount)
        self.balance = self._minus(amount)
        self.withdrawals += 1
        self.events.append(
            events.MoneyWithdrawn(self.account_id, self.owner, amount, self.currency)
        )

    def _require_funds(self, amount: Decimal) -> None:
        # amount - overdraft_limit is exact (both are bounded cents), so no sum of a large
        # balance is needed to compare.
        if BALANCE_CONTEXT.subtract(amount, self.overdraft_limit) > self.balance:
            raise InsufficientFunds(
                f"account {self.account_id} can spend {self.available} {self.currency}, "
                f"not {amount}"
            )

    def freeze(self) -> None:
        self._require_open()
        self.status = AccountStatus.FROZEN
        self.events.append(events.AccountFrozen(self.account_id, self.owner))

    def close(self) -> None:
        if self.status is AccountStatus.CLOSED:
            raise AccountNotOpen(f"account {self.account_id} is already closed")
        if self.balance != 0:
            raise AccountNotEmpty(
                f"account {self.account_id} still holds {self.balance} {self.currency}"
            )
        self.status = AccountStatus.CLOSED
        self.events.append(events.AccountClosed(self.account_id, self.owner))


@dataclass
class Transfer:
    transfer_id: str
    from_account: str
    to_account: str
    amount: Decimal
    currency: str
    status: TransferStatus
    # Set by the domain, not stamped at commit: the time is part of the index key.
    created_at: datetime
    reason: str | None = None
    events: list[Any] = field(default_factory=list, compare=False, repr=False)


def transfer(
    source: Account, target: Account, amount: Decimal, transfer_id: str, now: datetime
) -> Transfer:
    """Move money between two accounts, or record why not.

    A broken business rule does not raise: the rejected transfer is recorded (and its
    idempotency record with it), so a retry of the same request gets the same answer.
    """
    amount = money(amount)
    if source.account_id == target.account_id:
        raise SameAccount("a transfer needs two different accounts")
    try:
        source._require_open()
        target._require_open()
        source._require_currency(target.currency)
        source._require_funds(amount)
        # Both new balances first: a refusal leaves both accounts as they were.
        new_source, new_target = source._minus(amount), target._plus(amount)
    except DomainError as rule:
        rejected = Transfer(
            transfer_id,
            source.account_id,
            target.account_id,
            amount,
            source.currency,
            TransferStatus.REJECTED,
            now,
            reason=rule.code,
        )
        rejected.events.append(
            events.TransferRejected(
                transfer_id,
                source.account_id,
                target.account_id,
                source.owner,
                amount,
                rule.code,
            )
        )
        return rejected
    source.balance, target.balance = new_source, new_target
    done = Transfer(
        transfer_id,
        source.account_id,
        target.account_id,
        amount,
        source.currency,
        TransferStatus.COMPLETED,
        now,
    )
    done.events.append(
        events.TransferCompleted(
            transfer_id,
            source.account_id,
            target.account_id,
            source.owner,
            target.owner,
            amount,
            source.currency,
        )
    )
    return done


@dataclass
class IdempotencyRecord:
    """The first answer to a client's request, kept for `IDEMPOTENCY_WINDOW`.

    The key is scoped by command so one client key cannot collide across operations; the
    fingerprint tells a true retry from a different request that reused the key.
    """

    key: str
    command: str
    fingerprint: str
    response: dict[str, str]
    created_at: datetime
    # The answer may be replayed until then; afterwards the record is gone or may be.
    expires_at: datetime

    @classmethod
    def remember(
        cls,
        key: str,
        command: str,
        fingerprint: str,
        response: dict[str, str],
        now: datetime,
    ) -> IdempotencyRecord:
        return cls(key, command, fingerprint, response, now, now + IDEMPOTENCY_WINDOW)


IDEMPOTENCY_WINDOW = timedelta(hours=24)


@dataclass
class OwnerStats:
    """Per-owner statistics, kept only by counters from event handlers (no version needed)."""

    owner: str
    accounts_opened: int = 0
    accounts_closed: int = 0
    deposits: int = 0
    deposited: Decimal = Decimal("0")
    withdrawals: int = 0
    transfers_sent: int = 0
    amount_sent: Decimal = Decimal("0")
    transfers_received: int = 0
    transfers_rejected: int = 0


STAT_COUNTERS = (
    "accounts_opened",
    "accounts_closed",
    "deposits",
    "deposited",
    "withdrawals",
    "transfers_sent",
    "amount_sent",
    "transfers_received",
    "transfers_rejected",
)


@dataclass
class ProcessedEvent:
    """An event a consumer has applied, written in the same transaction as what it changed.

    It is added with `attribute_not_exists`, so a second delivery of the same event cannot
    commit: at-least-once delivery, applied exactly once. It expires after the window in which
    the event could still be redelivered (`PROCESSED_EVENT_WINDOW`).
    """

    consumer: str
    event_id: str
    event_type: str
    processed_at: datetime
    expires_at: datetime


# Longer than anything that redelivers a message: an SQS queue keeps one 14 days at most, and the
# outbox keeps a published record 7 days (a replay from it is older than neither).
PROCESSED_EVENT_WINDOW = timedelta(days=15)
