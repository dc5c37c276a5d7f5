"""What a unit of work's commit writes when several changes meet on one item."""

from __future__ import annotations

from .harness import Harness
from .models import ACCOUNTS, Account


class CommitContract:
    """Changes, increments and checks of one item in one block, committed more than once."""

    def test_a_second_commit_does_not_repeat_an_increment_merged_into_an_update(
        self, harness: Harness
    ) -> None:
        uow = harness.uow()
        with uow:
            uow.repository(Account).add(Account("merge1", "ann"))
            uow.commit()
        with uow:
            account = uow.repository(Account).get(account_id="merge1")
            account.nickname = "changed"  # an UpdateItem, which the increment joins
            uow.increment(Account, {"account_id": "merge1"}, "deposits", 5)
            uow.commit()
            harness.log.clear()
            uow.commit()  # nothing changed since the first commit: nothing to send
            assert "TransactWriteItems" not in harness.operations()
            assert account.deposits == 5
        stored = harness.repository(ACCOUNTS).get(account_id="merge1", consistent=True)
        assert (stored.deposits, stored.nickname) == (5, "changed")
