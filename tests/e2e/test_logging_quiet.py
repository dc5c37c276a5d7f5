"""A library is silent until the application configures logging: a typical script, in a fresh
process with no logging set up, prints nothing at all; the same script with logging configured
shows the library's records on the standard library's loggers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.dynamodb

ROOT = Path(__file__).resolve().parents[2]

# Everything that logs in ordinary use: table operations, a unit of work (add, commit, get),
# the message bus with a command and an event handler, a find with a cursor (issued without a
# configured secret, which warns), the update builder and put_many. Nothing is printed by the
# script itself: any output is the library's (or its dependencies').
SCRIPT = """
import logging
import sys

if "no-structlog" in sys.argv:
    sys.modules["structlog"] = None  # as if not installed: `import structlog` raises ImportError

if "configured" in sys.argv:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("persistence").setLevel(logging.DEBUG)

from dataclasses import dataclass
from decimal import Decimal

import persistence as p
from persistence.testing.models import ACCOUNTS, BANK, Account, Deposited
from persistence.testing.moto_server import moto_server


@dataclass(frozen=True)
class Open:
    account_id: str
    owner: str


with moto_server() as server:
    client = server.client()
    p.create_table(client, BANK, poll_interval=0.01)
    p.ensure_table(client, BANK, poll_interval=0.01)
    uow = p.DynamoDBUnitOfWork(client, [ACCOUNTS])
    with uow:
        uow.repository(Account).add(Account("a1", "ann"))
        uow.commit()
    with uow:
        account = uow.repository(Account).get(account_id="a1")
        account.deposit(Decimal("10"))
        uow.commit()

    def open_account(command):
        with uow:
            opened = Account(command.account_id, command.owner)
            opened.deposit(Decimal("1"))
            uow.repository(Account).add(opened)
            uow.commit()

    deposited = []
    bus = p.MessageBus(
        uow, event_handlers={Deposited: [deposited.append]}, command_handlers={Open: open_account}
    )
    bus.handle(Open("a2", "ann"))
    assert "a2" in [e.account_id for e in deposited]

    repo = p.DynamoDBRepository(client, ACCOUNTS)
    page = repo.find(p.attr("owner") == "ann", limit=1)
    assert page.cursor is not None
    rest = repo.find(p.attr("owner") == "ann", limit=1, cursor=page.cursor)
    assert len(page.items) + len(rest.items) == 2
    repo.update(account_id="a1").add("balance", Decimal("5")).increment("deposits").execute()
    repo.put_many([Account("a3", "bob"), Account("a4", "bob")])
    assert repo.get(account_id="a1").balance == Decimal("15")
    assert repo.count(p.attr("owner") == "bob") == 2
"""


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    # No cursor secret: the warning it causes must stay silent too while nothing is configured.
    env = {k: v for k, v in os.environ.items() if k != "PERSISTENCE_CURSOR_SECRET"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_script_that_configures_no_logging_prints_nothing() -> None:
    # Without structlog too: it is the application's choice, not a dependency of the library.
    done = run_script("no-structlog")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""


def test_the_same_script_with_logging_configured_shows_the_library_records() -> None:
    done = run_script("configured")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    for expected in (
        "INFO persistence.tables.lifecycle table_create",
        "DEBUG persistence.events handling_command",
        "DEBUG persistence.unit_of_work commit",
        "WARNING persistence.cursor cursor_secret_missing",
    ):
        assert expected in lines, done.stderr
