"""The outbox: events written in the commit, relayed once.

Part of the behaviour contract (`persistence.testing.contract`): subclass `OutboxContract`
in a test module that provides a `harness` fixture.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from .. import errors
from . import seeding
from .harness import Harness
from .models import (
    Account,
    Deposited,
)


class OutboxContract:
    """The transactional outbox and its relay."""

    def _outbox(self) -> Any:
        from ..messaging.outbox import Outbox
        from .models import BANK

        return Outbox(BANK, event_types=[Deposited])

    def test_events_are_written_in_the_same_transaction_and_relayed_once(
        self, harness: Harness
    ) -> None:
        outbox = self._outbox()
        seeding.open_accounts(harness, Account("a1", "alice"))
        uow = harness.uow(outbox=outbox)
        harness.log.clear()
        with uow:
            a = uow.repository(Account).get(account_id="a1")
            a.deposit(Decimal("5"))
            a.deposit(Decimal("7"))
            uow.commit()
        assert harness.operations().count("TransactWriteItems") == 1
        published: list[Any] = []
        relay = outbox.relay(uow.backend, published.append)
        assert relay.run_once() == 2
        assert published == [Deposited("a1", Decimal("5")), Deposited("a1", Decimal("7"))]
        assert relay.run_once() == 0
        assert len(published) == 2

    def test_a_failed_commit_leaves_no_outbox_record(self, harness: Harness) -> None:
        outbox = self._outbox()
        seeding.open_accounts(harness, Account("a1", "alice"))
        uow, other = harness.uow(outbox=outbox), harness.uow()
        with uow:
            a = uow.repository(Account).get(account_id="a1")
            a.deposit(Decimal("5"))
            with other:
                other.repository(Account).get(account_id="a1").balance += 1
                other.commit()
            with pytest.raises(errors.ConcurrencyConflict):
                uow.commit()
        published: list[Any] = []
        assert outbox.relay(uow.backend, published.append).run_once() == 0

    def test_outbox_records_count_toward_the_100_actions(self, harness: Harness) -> None:
        outbox = self._outbox()
        uow = harness.uow(outbox=outbox)
        harness.log.clear()
        with uow:
            for i in range(60):
                account = Account(f"a{i}", "alice")
                account.events.append(Deposited(account.account_id, Decimal(1)))
                uow.repository(Account).add(account)
            with pytest.raises(errors.TransactionTooLarge):
                uow.commit()
        assert harness.operations() == []
