"""The message bus: a command, then every event it raised, each handler in its own work."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import pytest

import persistence as p
from persistence.testing.models import ACCOUNTS, Account, Deposited


@dataclass(frozen=True)
class OpenAndDeposit:
    account_id: str
    amount: Decimal


@dataclass(frozen=True)
class Audited:
    account_id: str


def open_and_deposit(cmd: OpenAndDeposit, uow: p.UnitOfWork) -> str:
    with uow:
        account = Account(cmd.account_id, "alice")
        account.deposit(cmd.amount)
        uow.repository(Account).add(account)
        uow.commit()
    return cmd.account_id


def count_deposit(event: Deposited, uow: p.UnitOfWork) -> None:
    with uow:
        uow.increment(Account, {"account_id": event.account_id}, "deposits", 10)
        a = uow.repository(Account).get(account_id=event.account_id)
        a.events.append(Audited(event.account_id))
        uow.commit()


def test_command_then_events_then_events_of_events() -> None:
    uow = p.InMemoryUnitOfWork([ACCOUNTS])
    audited: list[Audited] = []
    bus = p.MessageBus(
        uow,
        event_handlers={Deposited: [partial(count_deposit, uow=uow)], Audited: [audited.append]},
        command_handlers={OpenAndDeposit: partial(open_and_deposit, uow=uow)},
    )
    assert bus.handle(OpenAndDeposit("a1", Decimal("5"))) == "a1"
    assert audited == [Audited("a1")]
    with uow:
        assert uow.repository(Account).get(account_id="a1").deposits == 11


def test_a_failing_event_handler_is_logged_and_does_not_undo_the_command(
    caplog: pytest.LogCaptureFixture,
) -> None:
    uow = p.InMemoryUnitOfWork([ACCOUNTS])

    def broken(event: Any) -> None:
        raise RuntimeError("notifier down")

    seen: list[Any] = []
    bus = p.MessageBus(
        uow,
        event_handlers={Deposited: [broken, seen.append]},
        command_handlers={OpenAndDeposit: partial(open_and_deposit, uow=uow)},
    )
    with caplog.at_level(logging.DEBUG, logger="persistence"):
        bus.handle(OpenAndDeposit("a1", Decimal("5")))
    assert seen == [Deposited("a1", Decimal("5"))]  # the other handler still ran
    [failed] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failed.getMessage() == "event_handler_failed"
    assert (failed.event_type, failed.handler) == ("Deposited", "broken")  # type: ignore[attr-defined]
    assert failed.exc_info is not None and "notifier down" in str(failed.exc_info[1])
    with uow:
        assert uow.repository(Account).get(account_id="a1").balance == Decimal("5")


def test_a_failing_command_propagates_and_publishes_nothing() -> None:
    uow = p.InMemoryUnitOfWork([ACCOUNTS])
    seen: list[Any] = []

    def failing(cmd: OpenAndDeposit) -> None:
        with uow:
            account = Account(cmd.account_id, "x")
            account.deposit(cmd.amount)
            uow.repository(Account).add(account)
            raise ValueError("rule broken")

    bus = p.MessageBus(uow, {Deposited: [seen.append]}, {OpenAndDeposit: failing})
    with pytest.raises(ValueError, match="rule broken"):
        bus.handle(OpenAndDeposit("a1", Decimal("5")))
    assert seen == []
    with pytest.raises(p.ValidationError, match="no handler"):
        bus.handle("not a command")
