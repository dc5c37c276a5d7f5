"""The read side for asyncio: `views.py`'s questions on an `aio` unit of work, awaited.

The same specifications, indexes and JSON shapes (`views.Page`, `to_json`); each view opens its
unit of work for its reads only and never commits.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import persistence as p
from persistence import aio

from ..adapters import specifications as specs
from ..adapters.mappings import TRANSFERS_IN, TRANSFERS_OUT
from ..domain.errors import AccountNotFound
from ..domain.model import Account, OwnerStats, Transfer
from . import to_json
from .views import Direction, Page


async def account(
    uow: aio.UnitOfWork,
    account_id: str,
    *,
    consistent: bool = False,
    include_closed: bool = False,
) -> dict[str, Any]:
    """`views.account`: one account (`include_closed` finds a closed one too)."""
    async with uow:
        try:
            found = await uow.repository(Account).get(
                account_id=account_id, consistent=consistent, include_deleted=include_closed
            )
        except p.NotFound:
            raise AccountNotFound(f"no open account {account_id}") from None
        return to_json.account(found)


async def accounts_of_owner(
    uow: aio.UnitOfWork, owner: str, *, limit: int = 25, cursor: str | None = None
) -> Page:
    async with uow:
        page = await uow.repository(Account).find(
            specs.accounts_of(owner), limit=limit, cursor=cursor
        )
        return Page([to_json.account(a) for a in page.items], page.cursor)


async def transfers_of_account(
    uow: aio.UnitOfWork,
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
    async with uow:
        page = await uow.repository(Transfer).find(
            spec, index=index, descending=True, limit=limit, cursor=cursor
        )
        return Page([to_json.transfer(t) for t in page.items], page.cursor)


async def owner_stats(uow: aio.UnitOfWork, owner: str) -> dict[str, Any]:
    async with uow:
        stats = await uow.repository(OwnerStats).find_one(p.attr("owner") == owner)
        return to_json.stats(stats if stats is not None else OwnerStats(owner))


async def iter_overdrawn(uow: aio.UnitOfWork) -> AsyncIterator[dict[str, Any]]:
    """Lazily, page by page: a caller with a deadline can stop early."""
    async with uow:
        async for found in uow.repository(Account).iterate(specs.overdrawn()):
            yield to_json.account(found)
