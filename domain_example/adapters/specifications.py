"""Named queries: each read the service makes is a Specification with a business name.

The planner picks the access path: `accounts_of(owner)` is a Query on `by_owner`,
`transfers_from(a, since=...)` a Query on `transfers_out` with the time in the key condition,
`overdrawn()` and `large_transfers_since(...)` are Scans (reporting, not the hot path).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import persistence as p

from ..domain.model import AccountStatus, TransferStatus


def accounts_of(owner: str) -> p.Spec:
    return p.attr("owner") == owner


def open_accounts_of(owner: str) -> p.Spec:
    return accounts_of(owner) & (p.attr("status") == AccountStatus.OPEN)


def overdrawn() -> p.Spec:
    return p.attr("balance") < 0


def transfers_from(account_id: str, since: date | datetime | None = None) -> p.Spec:
    spec = p.attr("from_account") == account_id
    return spec if since is None else spec & (p.attr("created_at") >= since)


def transfers_to(account_id: str, since: date | datetime | None = None) -> p.Spec:
    spec = p.attr("to_account") == account_id
    return spec if since is None else spec & (p.attr("created_at") >= since)


def large_transfers_since(day: date | datetime, amount: Decimal | int) -> p.Spec:
    return (
        (p.attr("created_at") >= day)
        & (p.attr("amount") >= amount)
        & (p.attr("status") == TransferStatus.COMPLETED)
    )


def rejected_transfers() -> p.Spec:
    return p.attr("status") == TransferStatus.REJECTED
