"""No secret and no item value reaches the logs: every library log event at info level and above
(debug too, as it costs nothing to check) is captured while the library does everything that
logs, and searched for the secrets and the values it handled."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest
import structlog
from structlog.testing import capture_logs

from persistence import attr, cursor
from persistence.events import MessageBus
from persistence.memory.store import InMemoryStore
from persistence.outbox import Outbox
from persistence.repository import Repository
from persistence.retry import Backoff, RetryPolicy
from persistence.testing import faults
from persistence.testing.faults import FaultPlan, FaultyBackend
from persistence.testing.models import ACCOUNTS, ALL_MAPPINGS, BANK, Account, Deposited
from persistence.unit_of_work import UnitOfWork

CURSOR_SECRET = "cursor-secret-9f8e7d"
ENV_SECRET = "env-secret-1a2b3c"
VALUES = ["account-id-0a0b", "owner-value-5c6d", "nickname-value-7e8f", "4242.4242"]


@pytest.fixture
def all_levels() -> Iterator[None]:
    """The test session filters below WARNING (conftest); let every level through here."""
    previous = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        yield
    finally:
        structlog.configure(**previous)


def _exercise(monkeypatch: pytest.MonkeyPatch) -> None:
    store = InMemoryStore()
    plan = FaultPlan(
        faults.throttle("TransactWriteItems", 2),
        faults.cancel(["TransactionConflict"], 1),
        faults.unprocessed(times=2, keep=1),
    )
    backend = FaultyBackend(store, plan)
    outbox = Outbox(BANK, event_types=[Deposited])
    uow = UnitOfWork(backend, ALL_MAPPINGS, cursor_secret=[CURSOR_SECRET], outbox=outbox)
    uow.retry_policy = RetryPolicy(attempts=5, base=0.0, cap=0.0)
    account_id, owner, nickname, amount = VALUES
    with uow:
        repo = uow.repository(Account)
        repo.add(Account(account_id, owner, nickname=nickname, tags={"tag-value-3x"}))
        uow.commit()  # retried: throttled twice, then a TransactionConflict
    with uow:
        account = uow.repository(Account).get(account_id=account_id)
        account.deposit(Decimal(amount))
        uow.commit()
    with uow:
        page = uow.repository(Account).find(attr("owner") == owner, limit=1)
        if page.cursor:
            uow.repository(Account).find(attr("owner") == owner, limit=1, cursor=page.cursor)
    standalone = Repository(backend, ACCOUNTS, cursor_secret=CURSOR_SECRET, backoff=Backoff(base=0))
    standalone.put_many([Account(f"{account_id}-{i}", owner) for i in range(3)])
    bus = MessageBus(uow, event_handlers={Deposited: [lambda e: None]})
    outbox.relay(store, bus.publish).run_once()
    # The per-process key warning, and the environment's rotation list.
    monkeypatch.setattr(cursor, "_process_secret", None)
    monkeypatch.setattr(cursor, "_fallback_warned", False)
    monkeypatch.delenv(cursor.ENV_SECRET, raising=False)
    cursor.CursorSigner().encode({"pk": {"S": VALUES[0]}}, "shape")  # warns at the first cursor
    monkeypatch.setenv(cursor.ENV_SECRET, f"{ENV_SECRET},{CURSOR_SECRET}")
    cursor.CursorSigner()


def test_no_secret_or_item_value_is_logged(
    all_levels: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with capture_logs() as captured:
        _exercise(monkeypatch)
    events = {e["event"] for e in captured}
    # The run did log: retries, the relay, the missing-secret warning.
    assert {"commit_retry", "outbox_relayed", "cursor_secret_missing"} <= events
    assert any(e["log_level"] == "info" for e in captured)
    secrets = [CURSOR_SECRET, ENV_SECRET, *VALUES, "tag-value-3x"]
    for entry in captured:
        text = repr(entry)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{entry['log_level']} log {entry['event']!r} carries {leaked}"


def test_the_check_would_see_a_leak(all_levels: None) -> None:
    """The search above is not vacuous: a value logged at info is found."""
    log = structlog.get_logger("persistence.test")
    with capture_logs() as captured:
        log.info("commit", item={"owner": {"S": VALUES[1]}})
    assert any(VALUES[1] in repr(e) for e in captured)
