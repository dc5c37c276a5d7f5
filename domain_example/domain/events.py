"""Domain events: facts that happened, raised by aggregates and handled after the commit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class AccountOpened:
    account_id: str
    owner: str
    currency: str


@dataclass(frozen=True)
class MoneyDeposited:
    account_id: str
    owner: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class MoneyWithdrawn:
    account_id: str
    owner: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class TransferCompleted:
    transfer_id: str
    from_account: str
    to_account: str
    from_owner: str
    to_owner: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class TransferRejected:
    transfer_id: str
    from_account: str
    to_account: str
    from_owner: str
    amount: Decimal
    reason: str


@dataclass(frozen=True)
class AccountFrozen:
    account_id: str
    owner: str


@dataclass(frozen=True)
class AccountClosed:
    account_id: str
    owner: str
