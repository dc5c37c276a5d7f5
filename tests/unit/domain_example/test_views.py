"""Named specifications and the views (the read side): access paths and paging."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

import persistence as p
from domain_example.adapters import specifications as specs
from domain_example.bootstrap import Container
from domain_example.domain import commands
from domain_example.domain.model import Account, Transfer
from domain_example.service_layer import views


def test_each_named_query_takes_the_intended_access_path(app: Container) -> None:
    with app.persistence.unit_of_work() as uow:
        accounts, transfers = uow.repository(Account), uow.repository(Transfer)
        assert accounts.explain(specs.open_accounts_of("al")) == "Query payments.by_owner"
        since = date(2024, 5, 1)
        assert transfers.explain(specs.transfers_from("a", since)) == "Query payments.transfers_out"
        assert transfers.explain(specs.transfers_to("a")) == "Query payments.transfers_in"
        assert accounts.explain(specs.overdrawn()) == "Scan payments"


def test_statements_page_newest_first_in_both_directions(
    app: Container, funded: Callable[[Any], Any]
) -> None:
    for amount in ("1", "2", "3"):
        funded(commands.TransferMoney("alice-1", "bob-1", Decimal(amount)))
    first = views.transfers_of_account(app.persistence.unit_of_work(), "alice-1", limit=2)
    assert [t["amount"] for t in first.items] == ["3", "2"]
    assert first.cursor is not None
    rest = views.transfers_of_account(
        app.persistence.unit_of_work(), "alice-1", limit=2, cursor=first.cursor
    )
    assert [t["amount"] for t in rest.items] == ["1"]
    incoming = views.transfers_of_account(app.persistence.unit_of_work(), "bob-1", direction="in")
    assert len(incoming.items) == 3


def test_a_cursor_from_another_query_is_refused(
    app: Container, funded: Callable[[Any], Any]
) -> None:
    for amount in ("1", "2"):
        funded(commands.TransferMoney("alice-1", "bob-1", Decimal(amount)))
    page = views.transfers_of_account(app.persistence.unit_of_work(), "alice-1", limit=1)
    with pytest.raises(p.InvalidCursor):
        views.transfers_of_account(
            app.persistence.unit_of_work(), "bob-1", direction="in", cursor=page.cursor
        )


def test_reports_find_overdrawn_accounts_and_large_transfers(
    app: Container, send: Callable[[Any], Any], clock: Any
) -> None:
    send(commands.OpenAccount("o1", "olga", "EUR", overdraft_limit=Decimal("100")))
    send(commands.OpenAccount("o2", "olga", "EUR"))
    send(commands.TransferMoney("o1", "o2", Decimal("80")))
    send(commands.TransferMoney("o1", "o2", Decimal("5")))
    overdrawn = views.overdrawn_accounts(app.persistence.unit_of_work())
    assert [a["account_id"] for a in overdrawn] == ["o1"]
    large = views.large_transfers(app.persistence.unit_of_work(), date(2024, 5, 1), Decimal(50))
    assert [t["amount"] for t in large] == ["80"]
    assert views.total_balance(app.persistence.unit_of_work(), ["o1", "o2"]) == 0
