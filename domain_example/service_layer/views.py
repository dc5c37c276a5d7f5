"""Views: the read side (cosmicpython's `views.py`), one function per question the API answers.

Views do not go through the message bus (they change nothing): each opens a unit of work only
for its repositories, asks a named specification, and never commits. They return JSON-ready
dicts (`to_json`), not aggregates, so nothing read here can be changed and saved by mistake.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import persistence as p
from persistence import numbers

from ..adapters import specifications as specs
from ..adapters.mappings import TRANSFERS_IN, TRANSFERS_OUT
from ..domain.errors import AccountNotFound
from ..domain.model import Account, OwnerStats, Transfer
from . import to_json

Direction = Literal["out", "in"]


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    cursor: str | None

    def as_json(self) -> dict[str, Any]:
        return {"items": self.items, "cursor": self.cursor}


def account(
    uow: p.UnitOfWork, account_id: str, *, consistent: bool = False, include_closed: bool = False
) -> dict[str, Any]:
    """One account. `consistent` reads what a command just wrote (the API's answer to it);
    `include_closed` finds a closed (soft-deleted) account too."""
    with uow:
        try:
            found = uow.repository(Account).get(
                account_id=account_id, consistent=consistent, include_deleted=include_closed
            )
        except p.NotFound:
            raise AccountNotFound(f"no open account {account_id}") from None
        return to_json.account(found)


def accounts_of_owner(
    uow: p.UnitOfWork, owner: str, *, limit: int = 25, cursor: str | None = None
) -> Page:
    with uow:
        page = uow.repository(Account).find(specs.accounts_of(owner), limit=limit, cursor=cursor)
        return Page([to_json.account(a) for a in page.items], page.cursor)


def transfers_of_account(
    uow: p.UnitOfWork,
    account_id: str,
    *,
    direction: Direction = "out",
    since: date | datetime | None = None,
    limit: int = 25,
    cursor: str | None = None,
) -> Page:
    """Newest first, from the index of that direction."""
    spec = (
        specs.transfers_from(account_id, since)
        if direction == "out"
        else specs.transfers_to(account_id, since)
    )
    index = TRANSFERS_OUT if direction == "out" else TRANSFERS_IN
    with uow:
        page = uow.repository(Transfer).find(
            spec, index=index, descending=True, limit=limit, cursor=cursor
        )
        return Page([to_json.transfer(t) for t in page.items], page.cursor)


def owner_stats(uow: p.UnitOfWork, owner: str) -> dict[str, Any]:
    with uow:
        stats = uow.repository(OwnerStats).find_one(p.attr("owner") == owner)
        return to_json.stats(stats if stats is not None else OwnerStats(owner))


def iter_overdrawn(uow: p.UnitOfWork) -> Iterator[dict[str, Any]]:
    """Lazily, page by page: a caller with a deadline can stop early."""
    with uow:
        for found in uow.repository(Account).iterate(specs.overdrawn()):
            yield to_json.account(found)


def overdrawn_accounts(uow: p.UnitOfWork) -> list[dict[str, Any]]:
    return list(iter_overdrawn(uow))


def large_transfers(
    uow: p.UnitOfWork, since: date | datetime, amount: Decimal
) -> list[dict[str, Any]]:
    with uow:
        spec = specs.large_transfers_since(since, amount)
        return [to_json.transfer(t) for t in uow.repository(Transfer).iterate(spec)]


def total_balance(uow: p.UnitOfWork, account_ids: list[str]) -> Decimal:
    """Sum of the balances of some accounts, read in one BatchGetItem."""
    with uow:
        keys = [{"account_id": a} for a in account_ids]
        # Summed at DynamoDB's 38 digits: exact, or a ValidationError rather than a rounded total.
        return numbers.total(a.balance for a in uow.repository(Account).get_many(keys))
