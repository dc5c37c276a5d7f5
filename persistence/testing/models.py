"""The aggregates and mappings the contract suite runs on.

A single-table design (accounts and orders share "contract_bank", with a global index, a local
index and a soft delete) and a one-table-per-aggregate design ("contract_gadgets", keyed directly
by a field) with every supported field type.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..model.keys import Key
from ..model.mapping import GlobalIndex, LocalIndex, Mapping, Table


@dataclass
class Account:
    account_id: str
    owner: str
    balance: Decimal = Decimal("0")
    deposits: int = 0
    tags: set[str] = field(default_factory=set)
    closed_at: str | None = None
    nickname: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0
    events: list[Any] = field(default_factory=list, compare=False, repr=False)

    def deposit(self, amount: Decimal) -> None:
        """Add `amount` to the balance and raise Deposited."""
        self.balance += amount
        self.deposits += 1
        self.events.append(Deposited(self.account_id, amount))


@dataclass(frozen=True)
class Deposited:
    account_id: str
    amount: Decimal


@dataclass
class Order:
    customer_id: str
    day: str
    order_id: str
    total_cents: int = 0
    status: str = "new"
    deleted: bool = False
    version: int = 0
    events: list[Any] = field(default_factory=list, compare=False, repr=False)


class Color(enum.Enum):
    """An Enum field type."""

    RED = "red"
    BLUE = "blue"


@dataclass
class Address:
    city: str
    zip: str | None = None


@dataclass
class Gadget:
    gadget_id: str
    name: str = ""
    price: Decimal = Decimal("0")
    weight: float = 0.0
    count: int = 0
    active: bool = True
    color: Color = Color.RED
    made: date | None = None
    seen_at: datetime | None = None
    uid: uuid.UUID | None = None
    blob: bytes | None = None
    tags: set[str] = field(default_factory=set)
    scores: set[int] = field(default_factory=set)
    blobs: frozenset[bytes] = frozenset()
    address: Address | None = None
    lines: list[Address] = field(default_factory=list)
    meta: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    pair: tuple[int, str] | None = None


BANK = Table(
    "contract_bank",
    partition_key="pk",
    sort_key="sk",
    indexes=[
        GlobalIndex("by_owner", partition_key="gsi1pk", sort_key="gsi1sk"),
        LocalIndex("by_total", sort_key="lsi1sk"),
    ],
)

ACCOUNTS: Mapping[Account] = Mapping(
    Account,
    BANK,
    key=Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT"),
    index_keys={"by_owner": Key(pk="OWNER#{owner}", sk="ACCOUNT#{account_id}")},
    version="version",
    counters=["deposits"],
    created_at="created_at",
    updated_at="updated_at",
)

ORDERS: Mapping[Order] = Mapping(
    Order,
    BANK,
    key=Key(pk="CUSTOMER#{customer_id}", sk="ORDER#{day}#{order_id}"),
    index_keys={"by_total": Key(sk="TOTAL#{total_cents:012d}")},
    version="version",
    soft_delete="deleted",
)


@dataclass
class Session:
    session_id: str
    user: str
    expires_at: datetime  # the TTL field: stored as epoch seconds
    created_at: datetime | None = None


SESSIONS: Mapping[Session] = Mapping(
    Session,
    BANK,
    key=Key(pk="SESSION#{session_id}", sk="SESSION"),
    # An index key built from a field the unit of work stamps at commit.
    index_keys={"by_owner": Key(pk="USER#{user}", sk="{created_at}")},
    created_at="created_at",
    ttl="expires_at",
)

GADGETS_TABLE = Table("contract_gadgets", partition_key="gadget_id")
GADGETS: Mapping[Gadget] = Mapping(Gadget, GADGETS_TABLE)

ALL_MAPPINGS: tuple[Mapping[Any], ...] = (ACCOUNTS, ORDERS, GADGETS, SESSIONS)
ALL_TABLES: tuple[Table, ...] = (BANK, GADGETS_TABLE)


@dataclass
class Thing:
    """Keys with a separator between two holes: the injectivity contract (ADR 0009)."""

    a: str
    b: str
    label: str = ""
    kind: str | None = None
    day: str = "d"
    hits: int = 0


KEYS_TABLE = Table(
    "contract_keys",
    partition_key="pk",
    sort_key="sk",
    indexes=[GlobalIndex("by_kind", partition_key="gsi1pk", sort_key="gsi1sk")],
)

THINGS: Mapping[Thing] = Mapping(
    Thing,
    KEYS_TABLE,
    key=Key(pk="T#{a}#{b}", sk="THING"),
    # `kind` is not the last hole: a value holding '#' would make the index key ambiguous.
    index_keys={"by_kind": Key(pk="KIND#{kind}#{day}", sk="T#{a}#{b}")},
    counters=["hits"],
)

ALL_MAPPINGS += (THINGS,)
ALL_TABLES += (KEYS_TABLE,)


@dataclass
class Tally:
    """Number counters at DynamoDB's full 38 digits (the numbers contract)."""

    tally_id: str
    total: Decimal = Decimal("0")
    count: int = 0
    note: str = ""


TALLIES: Mapping[Tally] = Mapping(
    Tally,
    BANK,
    key=Key(pk="TALLY#{tally_id}", sk="TALLY"),
    counters=["total", "count"],
)

ALL_MAPPINGS = (*ALL_MAPPINGS, TALLIES)
