"""Seeding for the contract suites: the data a test starts from, written through a unit of work.

The suites call these through the module (`seeding.open_accounts(...)`), so a backend without
transactions can swap them for one-commit-per-item versions in its test module.
"""

from __future__ import annotations

from .harness import Harness
from .models import Account, Order


def open_accounts(h: Harness, *accounts: Account) -> None:
    """Store `accounts` in one commit."""
    uow = h.uow()
    with uow:
        for a in accounts:
            uow.repository(Account).add(a)
        uow.commit()


def place_orders(h: Harness, customer: str, n: int, day: str = "2024-01-01") -> list[Order]:
    """Store `n` orders of `customer` on `day` in one commit; returns them."""
    orders = [Order(customer, day, f"o{i:03d}", total_cents=i * 100) for i in range(n)]
    uow = h.uow()
    with uow:
        for o in orders:
            uow.repository(Order).add(o)
        uow.commit()
    return orders


def stored_account(h: Harness, account_id: str) -> Account:
    """The account as stored (a consistent read in a fresh unit of work)."""
    uow = h.uow()
    with uow:
        return uow.repository(Account).get(account_id=account_id, consistent=True)
