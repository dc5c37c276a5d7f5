"""The README demo: a scenario that exercises the whole service against DynamoDB (or moto).

Every step goes through the message bus exactly as the API does; the result is a `Summary`
that `report.py` prints. Between steps the demo delivers the committed events (outbox -> relay
-> SNS topic -> SQS queue -> statistics consumer), as the relay and consumer processes would in
AWS; one step stages a relay that dies between publishing and marking, so one event is published
twice and the consumer absorbs it.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import persistence as p
from persistence.testing.harness import record_requests

from ..adapters import specifications as specs
from ..bootstrap import Container
from ..domain import commands
from ..domain.model import Account, Transfer
from ..service_layer import views

EUR_ACCOUNTS = {"alice-1": "alice", "alice-2": "alice", "bob-1": "bob", "carol-1": "carol"}
OPENING_DEPOSITS = {"alice-1": "1000", "alice-2": "500", "bob-1": "800", "carol-1": "300"}


@dataclass
class Summary:
    balances: dict[str, str] = field(default_factory=dict)
    eur_before: Decimal = Decimal(0)
    eur_after: Decimal = Decimal(0)
    transfers_attempted: int = 0
    transfers_completed: int = 0
    transfers_rejected: int = 0
    transfers_failed: int = 0
    conflicts_retried: int = 0
    gave_up: int = 0
    rejections: list[str] = field(default_factory=list)
    idempotent_replay: bool = False
    queries: list[tuple[str, str, int]] = field(default_factory=list)  # (name, plan, results)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    events_handled: int = 0
    event_handler_failures: int = 0
    notifications: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    closed_account_hidden: bool = False
    events_committed: int = 0  # outbox records written by commits
    events_pending: int = 0  # outbox records not yet published
    events_relayed: int = 0  # outbox records the relay published and marked
    events_published: int = 0  # publishes to the topic, duplicates included
    events_consumed: int = 0  # events the statistics consumer applied
    duplicates_absorbed: int = 0  # deliveries of an event already applied
    consumer_failures: int = 0

    @property
    def money_conserved(self) -> bool:
        return self.eur_before == self.eur_after

    @property
    def events_agree(self) -> bool:
        """Every committed event was relayed and applied once, and none is left behind."""
        return (
            self.events_committed == self.events_relayed == self.events_consumed
            and self.events_pending == 0
            and self.consumer_failures == 0
        )


class RelayCrashed(Exception):
    """The staged death of a relay process right after a publish."""


class Demo:
    def __init__(self, container: Container, threads: int = 4, transfers: int = 8) -> None:
        self.app = container
        self.threads = threads
        self.transfers_per_thread = transfers
        # The library's recorder (botocore before-call events): API calls, not HTTP retries.
        self.requests = record_requests(container.client())
        self.summary = Summary()
        self._lock = threading.Lock()

    def send(self, command: Any) -> Any:
        """One command on this thread's bus (and unit of work): safe from any thread."""
        bus = self.app.bus()
        handled, failed = bus.handled_events, bus.failed_events
        try:
            return bus.handle(command)
        finally:
            with self._lock:
                self.summary.events_handled += bus.handled_events - handled
                self.summary.event_handler_failures += bus.failed_events - failed

    def run(self) -> Summary:
        for step in (
            self.open_accounts,
            self.concurrent_transfers,
            self.rejected_transfers,
            self.idempotent_retry,
            self.overdraft_and_closing,
            self.relay_dies_after_publishing,
        ):
            step()
            self.deliver_events()
        self.run_queries()
        self.collect()
        return self.summary

    def deliver_events(self) -> None:
        """What the relay and the consumer processes do in AWS, once, here."""
        self.app.delivery().deliver()

    # ------------------------------------------------------------------ steps

    def open_accounts(self) -> None:
        for account_id, owner in EUR_ACCOUNTS.items():
            self.send(commands.OpenAccount(account_id, owner, "EUR"))
        self.send(commands.OpenAccount("dave-usd", "dave", "USD"))
        for account_id, amount in OPENING_DEPOSITS.items():
            self.send(commands.Deposit(account_id, Decimal(amount), f"opening-{account_id}"))
        self.summary.eur_before = self.eur_total()

    def concurrent_transfers(self) -> None:
        """Threads moving money between the same few accounts: version conflicts are certain,
        and each is retried as a whole unit of work."""
        ids = list(EUR_ACCOUNTS)

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(self.transfers_per_thread):
                source, target = rng.sample(ids, 2)
                amount = Decimal(rng.randint(1, 60))
                try:
                    result = self.send(commands.TransferMoney(source, target, amount))
                except (p.ConcurrencyConflict, p.TransactionCanceled):
                    with self._lock:
                        self.summary.transfers_failed += 1
                    continue
                with self._lock:
                    self.summary.transfers_attempted += 1
                    if result["status"] == "completed":
                        self.summary.transfers_completed += 1
                    else:
                        self.summary.transfers_rejected += 1

        workers = [threading.Thread(target=worker, args=(n,)) for n in range(self.threads)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()

    def rejected_transfers(self) -> None:
        for command in (
            commands.TransferMoney("carol-1", "bob-1", Decimal("100000")),  # overdraft
            commands.TransferMoney("alice-1", "dave-usd", Decimal("10")),  # currency mismatch
        ):
            result = self.send(command)
            self.summary.rejections.append(
                f"{command.from_account} -> {command.to_account} {command.amount}: "
                f"{result.get('reason')}"
            )

    def idempotent_retry(self) -> None:
        command = commands.TransferMoney("bob-1", "alice-2", Decimal("25"), "client-retry-42")
        first = self.send(command)
        again = self.send(command)  # the client timed out and sent it again
        self.summary.idempotent_replay = first == again

    def overdraft_and_closing(self) -> None:
        self.send(commands.OpenAccount("erin-1", "erin", "EUR", overdraft_limit=Decimal("100")))
        self.send(commands.Deposit("erin-1", Decimal("20")))
        self.send(commands.Withdraw("erin-1", Decimal("70")))  # within the overdraft: -50
        self.send(commands.OpenAccount("alice-old", "alice", "EUR"))
        self.send(commands.FreezeAccount("alice-old"))
        self.send(commands.CloseAccount("alice-old"))

    def relay_dies_after_publishing(self) -> None:
        """A relay publishes an event, then its process dies before it marks the record
        published: the record stays pending, the next relay publishes it again, and the
        consumer recognises the second delivery by the event's id."""
        self.send(commands.OpenAccount("frank-1", "frank", "EUR"))
        publish = self.app.topic().publish

        def publish_then_die(event: Any) -> None:
            publish(event)
            raise RelayCrashed

        doomed = p.OutboxRelay(self.app.outbox(), self.app.storage(), publish_then_die)
        with contextlib.suppress(RelayCrashed):
            doomed.run_once(limit=1)

    def run_queries(self) -> None:
        uow = self.app.persistence.unit_of_work()
        since = datetime.now(UTC).date()
        with uow:
            accounts = uow.repository(Account)
            transfers = uow.repository(Transfer)
            checks: list[tuple[str, p.Repository[Any], p.Spec]] = [
                ("accounts of alice", accounts, specs.accounts_of("alice")),
                ("alice-1 sent today", transfers, specs.transfers_from("alice-1", since)),
                ("alice-1 received", transfers, specs.transfers_to("alice-1")),
                ("overdrawn accounts", accounts, specs.overdrawn()),
                ("large transfers today", transfers, specs.large_transfers_since(since, 50)),
            ]
            for name, repo, spec in checks:
                self.summary.queries.append((name, repo.explain(spec), repo.count(spec)))
        alice = views.accounts_of_owner(self.app.persistence.unit_of_work(), "alice")
        self.summary.closed_account_hidden = all(
            a["account_id"] != "alice-old" for a in alice.items
        )

    def collect(self) -> None:
        summary = self.summary
        summary.eur_after = self.eur_total()
        uow = self.app.persistence.unit_of_work()
        with uow:
            for account in uow.repository(Account).get_many(
                [{"account_id": a} for a in [*EUR_ACCOUNTS, "dave-usd", "erin-1"]]
            ):
                summary.balances[account.account_id] = f"{account.balance} {account.currency}"
        for owner in ("alice", "bob", "carol"):
            summary.stats[owner] = views.owner_stats(self.app.persistence.unit_of_work(), owner)
        retry = self.app.retry()
        summary.conflicts_retried = retry.conflicts
        summary.gave_up = retry.gave_up
        summary.notifications = len(self.app.notifier().sent)
        self.collect_events()
        summary.requests = dict(Counter(self.requests.names()))

    def collect_events(self) -> None:
        summary = self.summary
        relay = self.app.delivery().relay
        # Counted in the table, not by the relay's own tally: pending records plus the archive
        # copies published records leave behind (adr/0021).
        summary.events_pending = relay.count()
        summary.events_committed = summary.events_pending + relay.count(published=True)
        delivery = self.app.delivery()
        summary.events_relayed = delivery.relayed
        summary.events_published = self.app.topic().published
        consumer = self.app.consumer()
        summary.events_consumed = consumer.applied
        summary.duplicates_absorbed = consumer.duplicates
        summary.consumer_failures = consumer.failed

    def eur_total(self) -> Decimal:
        return views.total_balance(self.app.persistence.unit_of_work(), list(EUR_ACCOUNTS))
