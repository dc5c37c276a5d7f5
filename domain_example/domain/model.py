"""Aggregates: plain dataclasses whose methods enforce the rules and append events."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from . import events
from .errors import (
    AccountNotEmpty,
    AccountNotOpen,
    CurrencyMismatch,
    DomainError,
    InsufficientFunds,
    InvalidAmount,
    SameAccount,
)

# Amounts are in a currency's major unit with at most two decimals (cents).
CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    """A positive amount with at most two decimals, or InvalidAmount."""
    try:
        amount = Decimal(value)
    except ArithmeticError:
        raise InvalidAmount(f"{value!r} is not an amount") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidAmount(f"an amount must be positive, got {value}")
    if amount != amount.quantize(CENT):
        raise InvalidAmount(f"an amount has at most two decimals, got {value}")
    return amount


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
        if overdraft_limit < 0:
            raise InvalidAmount("an overdraft limit cannot be negative")
        account = cls(account_id, owner, currency.upper(), overdraft_limit=overdraft_limit)
        account.events.append(events.AccountOpened(account_id, owner, account.currency))
        return account

    @property
    def available(self) -> Decimal:
        return self.balance + self.overdraft_limit

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
        self.balance += amount
        self.deposits += 1
        self.events.append(
            events.MoneyDeposited(self.account_id, self.owner, amount, self.currency)
        )

    def withdraw(self, amount: Decimal) -> None:
        amount = money(amount)
        self._require_open()
        self._require_funds(amount)
        self.balance -= amount
        self.withdrawals += 1
        self.events.append(
            events.MoneyWithdrawn(self.account_id, self.owner, amount, self.currency)
        )

    def _require_funds(self, amount: Decimal) -> None:
        if amount > self.available:
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
    source.balance -= amount
    target.balance += amount
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
    # The table's TTL attribute: DynamoDB deletes the record some time after this. It has a
    # default only because the library constructs the aggregate without its TTL field.
    expires_at: datetime | None = None

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
