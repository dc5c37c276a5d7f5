"""Domain events: facts that happened, raised by aggregates and handled after the commit.

Each event carries an `event_id` made when it is raised. The outbox stores it with the event, so
every delivery of one event (a relay may publish it twice: delivery is at least once) carries the
same id, and a consumer recognises a message it has already applied. It takes no part in
equality: two deposits of the same amount are equal facts, told apart only by their ids.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal


def new_event_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class AccountOpened:
    account_id: str
    owner: str
    currency: str
    event_id: str = field(default_factory=new_event_id, compare=False)


@dataclass(frozen=True)
class MoneyDeposited:
    account_id: str
    owner: str
    amount: Decimal
    currency: str
    event_id: str = field(default_factory=new_event_id, compare=False)


@dataclass(frozen=True)
class MoneyWithdrawn:
    account_id: str
    owner: str
    amount: Decimal
    currency: str
    event_id: str = field(default_factory=new_event_id, compare=False)


@dataclass(frozen=True)
class TransferCompleted:
    transfer_id: str
    from_account: str
    to_account: str
    from_owner: str
    to_owner: str
    amount: Decimal
    currency: str
    event_id: str = field(default_factory=new_event_id, compare=False)


@dataclass(frozen=True)
class TransferRejected:
    transfer_id: str
    from_account: str
    to_account: str
    from_owner: str
    amount: Decimal
    reason: str
    event_id: str = field(default_factory=new_event_id, compare=False)


@dataclass(frozen=True)
class AccountFrozen:
    account_id: str
    owner: str
    event_id: str = field(default_factory=new_event_id, compare=False)


@dataclass(frozen=True)
class AccountClosed:
    account_id: str
    owner: str
    event_id: str = field(default_factory=new_event_id, compare=False)


ALL_EVENTS: tuple[type, ...] = (
    AccountOpened,
    MoneyDeposited,
    MoneyWithdrawn,
    TransferCompleted,
    TransferRejected,
    AccountFrozen,
    AccountClosed,
)
