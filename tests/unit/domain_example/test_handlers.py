"""Every command handler through the message bus, on the in-memory unit of work."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

import persistence as p
from domain_example.adapters.notifications import LoggingNotifier
from domain_example.bootstrap import Container
from domain_example.domain import commands, errors
from domain_example.domain.model import Account, IdempotencyRecord, OwnerStats, Transfer
from domain_example.service_layer import views
from domain_example.service_layer.handlers import COMMAND_HANDLERS, EVENT_HANDLERS

Send = Callable[[Any], Any]


def elsewhere(work: Callable[[], Any]) -> Any:
    """Run `work` in another thread (a concurrent request: its own bus and unit of work)."""
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(work()))
    thread.start()
    thread.join()
    assert done, "the work in the other thread failed"
    return done[0]


def balance(app: Container, account_id: str) -> Decimal:
    with app.persistence.unit_of_work() as uow:
        return uow.repository(Account).get(account_id=account_id).balance


def stats(app: Container, owner: str) -> OwnerStats:
    with app.persistence.unit_of_work() as uow:
        return uow.repository(OwnerStats).get(owner=owner)


def test_open_account_stores_it_and_counts_it_for_the_owner(app: Container, send: Send) -> None:
    assert send(commands.OpenAccount("a1", "alice", "eur", Decimal("50"))) is None
    view = views.account(app.persistence.unit_of_work(), "a1")
    assert view["currency"] == "EUR" and view["version"] == 1
    assert stats(app, "alice").accounts_opened == 1


def test_opening_an_existing_account_id_is_refused(send: Send) -> None:
    send(commands.OpenAccount("a1", "alice", "EUR"))
    with pytest.raises(errors.AccountAlreadyExists):
        send(commands.OpenAccount("a1", "bob", "EUR"))


def test_deposit_adds_to_balance_counter_and_statistics(app: Container, funded: Send) -> None:
    result = funded(commands.Deposit("alice-1", Decimal("0.50")))
    assert result["balance"] == "100.50"
    with app.persistence.unit_of_work() as uow:
        assert uow.repository(Account).get(account_id="alice-1").deposits == 2
    assert stats(app, "alice").deposited == Decimal("100.50")


def test_deposit_on_an_unknown_account_is_not_found(send: Send) -> None:
    with pytest.raises(errors.AccountNotFound):
        send(commands.Deposit("nope", Decimal("1")))


def test_withdraw_beyond_the_balance_changes_nothing(app: Container, funded: Send) -> None:
    with pytest.raises(errors.InsufficientFunds):
        funded(commands.Withdraw("bob-1", Decimal("50.01"), request_id="w1"))
    assert balance(app, "bob-1") == Decimal("50")
    # A refused request is not remembered: the same key may succeed once funds arrive.
    funded(commands.Deposit("bob-1", Decimal("1")))
    assert funded(commands.Withdraw("bob-1", Decimal("50.01"), "w1"))["balance"] == "0.99"


def test_transfer_commits_both_accounts_the_transfer_and_the_record_together(
    app: Container, funded: Send, store: p.InMemoryStore
) -> None:
    result = funded(commands.TransferMoney("alice-1", "bob-1", Decimal("30"), "req-1"))
    assert result["status"] == "completed"
    assert (balance(app, "alice-1"), balance(app, "bob-1")) == (Decimal("70"), Decimal("80"))
    with app.persistence.unit_of_work() as uow:
        stored = uow.repository(Transfer).get(transfer_id=result["transfer_id"])
        record = uow.repository(IdempotencyRecord).get(key="TransferMoney#req-1")
    assert stored.amount == Decimal("30")
    assert record.response == result
    # Stored as epoch seconds in the TTL attribute, 24 hours on, and read back as a datetime.
    assert isinstance(record.expires_at, datetime)
    assert record.expires_at.timestamp() == int(record.created_at.timestamp()) + 24 * 3600


def test_transfer_beyond_the_funds_is_recorded_as_rejected(
    app: Container, funded: Send, notifier: LoggingNotifier
) -> None:
    result = funded(commands.TransferMoney("bob-1", "alice-1", Decimal("500")))
    assert (result["status"], result["reason"]) == ("rejected", "insufficient_funds")
    assert balance(app, "bob-1") == Decimal("50")
    assert stats(app, "bob").transfers_rejected == 1
    assert any("rejected" in n.message for n in notifier.sent if n.owner == "bob")


def test_transfer_between_currencies_is_rejected(funded: Send) -> None:
    result = funded(commands.TransferMoney("alice-1", "dave-usd", Decimal("1")))
    assert result["reason"] == "currency_mismatch"


def test_a_retried_transfer_moves_money_once_and_gets_the_first_answer(
    app: Container, funded: Send
) -> None:
    command = commands.TransferMoney("alice-1", "bob-1", Decimal("10"), "req-42")
    first = funded(command)
    again = funded(command)
    assert again == first
    assert balance(app, "alice-1") == Decimal("90")
    assert stats(app, "alice").transfers_sent == 1


def test_reusing_a_request_id_for_another_request_is_refused(funded: Send) -> None:
    funded(commands.TransferMoney("alice-1", "bob-1", Decimal("10"), "req-7"))
    with pytest.raises(errors.IdempotencyKeyReused):
        funded(commands.TransferMoney("alice-1", "bob-1", Decimal("11"), "req-7"))


def test_a_concurrent_twin_that_committed_first_is_replayed(app: Container, funded: Send) -> None:
    """The same request commits in another thread between our replay check and our commit:
    ours must fail, rerun, find the twin's record and return its answer."""
    from domain_example.service_layer import idempotency

    command = commands.TransferMoney("alice-1", "bob-1", Decimal("10"), "req-twin")
    original = idempotency.replay
    twin: dict[str, Any] = {}

    def replay_then_twin(uow: p.UnitOfWork, cmd: Any) -> Any:
        found = original(uow, cmd)
        if not twin:
            twin["answer"] = None  # the twin's own replay check must not start a third copy
            twin["answer"] = elsewhere(lambda: app.bus().handle(cmd))
        return found

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(idempotency, "replay", replay_then_twin)
        result = funded(command)
    assert result == twin["answer"]
    assert balance(app, "alice-1") == Decimal("90")


def test_freeze_then_deposit_is_refused(app: Container, funded: Send) -> None:
    funded(commands.FreezeAccount("bob-1"))
    assert views.account(app.persistence.unit_of_work(), "bob-1")["status"] == "frozen"
    with pytest.raises(errors.AccountNotOpen):
        funded(commands.Deposit("bob-1", Decimal("1")))


def test_transfer_to_a_frozen_account_is_rejected(funded: Send) -> None:
    funded(commands.FreezeAccount("bob-1"))
    result = funded(commands.TransferMoney("alice-1", "bob-1", Decimal("1")))
    assert result["reason"] == "account_not_open"


def test_close_soft_deletes_an_empty_account(app: Container, funded: Send) -> None:
    with pytest.raises(errors.AccountNotEmpty):
        funded(commands.CloseAccount("bob-1"))
    funded(commands.Withdraw("bob-1", Decimal("50")))
    funded(commands.CloseAccount("bob-1"))
    closed_view = views.account(app.persistence.unit_of_work(), "bob-1", include_closed=True)
    assert closed_view["status"] == "closed"
    with app.persistence.unit_of_work() as uow:
        repo = uow.repository(Account)
        with pytest.raises(p.NotFound):
            repo.get(account_id="bob-1")
        closed = repo.get(account_id="bob-1", include_deleted=True)
    assert closed.closed_at is not None
    assert views.accounts_of_owner(app.persistence.unit_of_work(), "bob").items == []
    assert stats(app, "bob").accounts_closed == 1
    with pytest.raises(errors.AccountAlreadyExists):
        funded(commands.OpenAccount("bob-1", "bob", "EUR"))  # ids are never reused


def test_a_lost_race_is_retried_as_a_whole_unit_of_work(app: Container, funded: Send) -> None:
    """Another writer bumps alice-1 between our read and our commit, once."""
    from domain_example.service_layer import handlers

    original = handlers.load_account
    raced = {"done": False}

    def load_then_race(uow: p.UnitOfWork, account_id: str) -> Account:
        account = original(uow, account_id)
        if account_id == "alice-1" and not raced["done"]:
            raced["done"] = True
            elsewhere(lambda: app.bus().handle(commands.Deposit("alice-1", Decimal("5"))))
        return account

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(handlers, "load_account", load_then_race)
        funded(commands.TransferMoney("alice-1", "bob-1", Decimal("10")))
    assert balance(app, "alice-1") == Decimal("95")  # 100 + 5 - 10: nothing lost
    assert app.retry().conflicts == 1


def test_every_event_reaches_its_handlers(app: Container, funded: Send) -> None:
    bus = app.bus()
    handled, failed = bus.handled_events, bus.failed_events
    applied = app.consumer().applied
    bus.handle(commands.TransferMoney("alice-1", "bob-1", Decimal("10")))
    # In-process: the notification. Through the outbox and the queue: the statistics.
    assert (bus.handled_events - handled, bus.failed_events - failed) == (1, 0)
    assert app.consumer().applied == applied + 1
    assert stats(app, "bob").transfers_received == 1


def test_the_container_provides_one_bus_per_thread_over_that_thread_s_unit_of_work(
    app: Container,
) -> None:
    bus = app.bus()
    assert app.bus() is bus  # not rebuilt per message
    other = elsewhere(app.bus)
    assert other is not bus and other.uow is not bus.uow
    for buses in (bus, other):
        handlers = [*buses.command_handlers.values()]
        handlers += [h for hs in buses.event_handlers.values() for h in hs]
        # Each handler bound to its own bus's unit of work (those that need one).
        assert all(h.keywords.get("uow", buses.uow) is buses.uow for h in handlers)
    assert set(bus.command_handlers) == set(COMMAND_HANDLERS)
    assert set(bus.event_handlers) == set(EVENT_HANDLERS)
