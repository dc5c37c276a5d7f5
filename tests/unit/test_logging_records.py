"""The library logs on the standard library's loggers under `persistence`: the record's message
is the event name, its structured fields are record attributes (passed as `extra=`), and it
never brings structlog in (that is the application's choice)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

import persistence as p
from persistence.backends.memory.store import InMemoryStore
from persistence.query import cursor
from persistence.retry import RetryPolicy
from persistence.session.unit_of_work import UnitOfWork
from persistence.testing import faults
from persistence.testing.faults import FaultPlan, FaultyBackend
from persistence.testing.models import ACCOUNTS, Account, Deposited

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Open:
    account_id: str


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="persistence")
    return caplog


def _one(caplog: pytest.LogCaptureFixture, event: str) -> logging.LogRecord:
    found = [r for r in caplog.records if r.getMessage() == event]
    assert len(found) == 1, [r.getMessage() for r in caplog.records]
    return found[0]


def test_records_carry_their_fields_as_attributes(
    records: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = FaultyBackend(InMemoryStore(), FaultPlan(faults.throttle("TransactWriteItems", 1)))
    uow = UnitOfWork(backend, [ACCOUNTS])
    uow.retry_policy = RetryPolicy(attempts=3, base=0.0, cap=0.0)

    def open_account(command: Open) -> None:
        with uow:
            account = Account(command.account_id, "ann")
            account.deposit(Decimal("1"))
            uow.repository(Account).add(account)
            uow.commit()

    bus = p.MessageBus(
        uow, event_handlers={Deposited: [lambda e: None]}, command_handlers={Open: open_account}
    )
    bus.handle(Open("a1"))

    handling = _one(records, "handling_command")
    assert (handling.name, handling.levelno) == ("persistence.events", logging.DEBUG)
    assert handling.command == "Open"  # type: ignore[attr-defined]
    retry = _one(records, "commit_retry")
    assert (retry.name, retry.levelno) == ("persistence.unit_of_work", logging.INFO)
    assert retry.attempt == 1  # type: ignore[attr-defined]
    assert retry.error == "ProvisionedThroughputExceededException"  # type: ignore[attr-defined]
    commit = _one(records, "commit")
    assert (commit.name, commit.levelno) == ("persistence.unit_of_work", logging.DEBUG)
    assert commit.actions == 1  # type: ignore[attr-defined]
    assert commit.args == ()  # the message is the event name alone, nothing to interpolate

    monkeypatch.delenv(cursor.ENV_SECRET, raising=False)
    monkeypatch.setattr(cursor, "_fallback_warned", False)
    cursor.CursorSigner().encode({"pk": {"S": "x"}}, "shape")
    missing = _one(records, "cursor_secret_missing")
    assert (missing.name, missing.levelno) == ("persistence.cursor", logging.WARNING)
    assert cursor.ENV_SECRET in missing.detail  # type: ignore[attr-defined]


def test_the_library_logger_has_a_null_handler_and_propagates() -> None:
    """An application that configures nothing sees nothing (not even the last-resort handler's
    warnings); one that configures the root logger sees everything at its level."""
    library = logging.getLogger("persistence")
    assert any(isinstance(h, logging.NullHandler) for h in library.handlers)
    assert library.propagate


def test_the_library_never_imports_structlog() -> None:
    code = (
        "import importlib, pkgutil, sys, persistence\n"
        "for m in pkgutil.walk_packages(persistence.__path__, 'persistence.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.split('.')[0] == 'structlog'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
