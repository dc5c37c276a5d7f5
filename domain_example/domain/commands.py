"""Commands: what a client asks the service to do.

Money-moving commands carry an optional `request_id` (the client's idempotency key): the same
request sent twice moves money once and gets the first answer back.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class OpenAccount:
    account_id: str
    owner: str
    currency: str
    overdraft_limit: Decimal = Decimal("0")


@dataclass(frozen=True)
class Deposit:
    account_id: str
    amount: Decimal
    request_id: str | None = None


@dataclass(frozen=True)
class Withdraw:
    account_id: str
    amount: Decimal
    request_id: str | None = None


@dataclass(frozen=True)
class TransferMoney:
    from_account: str
    to_account: str
    amount: Decimal
    request_id: str | None = None


@dataclass(frozen=True)
class FreezeAccount:
    account_id: str


@dataclass(frozen=True)
class CloseAccount:
    account_id: str


Command = OpenAccount | Deposit | Withdraw | TransferMoney | FreezeAccount | CloseAccount
