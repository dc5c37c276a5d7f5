"""No secret and no item value reaches the logs: every library log record at info level and above
(debug too, as it costs nothing to check) is captured while the library does everything that
logs, and searched (message, arguments, `extra=` fields, traceback) for the secrets and the
values it handled."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from persistence import attr
from persistence.backends.memory.store import InMemoryStore
from persistence.messaging.bus import MessageBus
from persistence.messaging.outbox import Outbox
from persistence.query import cursor
from persistence.repository import Repository
from persistence.retry import Backoff, RetryPolicy
from persistence.session.unit_of_work import UnitOfWork
from persistence.testing import faults
from persistence.testing.faults import FaultPlan, FaultyBackend
from persistence.testing.models import ACCOUNTS, ALL_MAPPINGS, BANK, Account, Deposited

CURSOR_SECRET = "cursor-secret-9f8e7d"
ENV_SECRET = "env-secret-1a2b3c"
VALUES = ["account-id-0a0b", "owner-value-5c6d", "nickname-value-7e8f", "4242.4242"]


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of the library's loggers, at every level (`captured.records`)."""
    caplog.set_level(logging.DEBUG, logger="persistence")
    return caplog


def _text(record: logging.LogRecord) -> str:
    """All a handler could render: the attributes (message, args, fields) and the traceback."""
    text = repr(vars(record))
    if record.exc_info:
        text += logging.Formatter().formatException(record.exc_info)
    return text


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
    captured: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    _exercise(monkeypatch)
    records = [r for r in captured.records if r.name.startswith("persistence.")]
    events = {r.getMessage() for r in records}
    # The run did log: retries, the relay, the missing-secret warning.
    assert {"commit_retry", "outbox_relayed", "cursor_secret_missing"} <= events
    assert any(r.levelno == logging.INFO for r in records)
    secrets = [CURSOR_SECRET, ENV_SECRET, *VALUES, "tag-value-3x"]
    for record in records:
        leaked = [s for s in secrets if s in _text(record)]
        assert not leaked, f"{record.levelname} log {record.getMessage()!r} carries {leaked}"


def test_the_check_would_see_a_leak(captured: pytest.LogCaptureFixture) -> None:
    """The search above is not vacuous: a value logged at info is found."""
    logging.getLogger("persistence.test").info(
        "commit", extra={"item": {"owner": {"S": VALUES[1]}}}
    )
    assert any(VALUES[1] in _text(r) for r in captured.records)
