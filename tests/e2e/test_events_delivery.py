"""Events from the commit to the statistics, when processes die on the way.

The payments service writes its events to the outbox in the commit's transaction; a relay
publishes them to the topic (SNS on the moto server, or the in-memory twin), and the statistics
consumer applies them from its queue (SQS, or the twin), deduplicating on the event's id. Each
test kills a process at one point of that path and checks that the statistics end exact: nothing
lost, nothing counted twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

import persistence as p
from domain_example.adapters.messaging import Message, Queue, SqsQueue, decode_event
from domain_example.bootstrap import Container, build_container, use_in_memory_messaging
from domain_example.config import Settings
from domain_example.domain import commands
from domain_example.entrypoints.demo import Demo
from domain_example.entrypoints.lambda_handlers import make_statistics_handler
from domain_example.entrypoints.local import local_container
from domain_example.service_layer import views
from domain_example.service_layer.statistics import StatisticsConsumer
from persistence.containers import in_memory


class Died(BaseException):
    """A process killed at a chosen point (a BaseException, as SystemExit is: nothing in the
    library takes it for a failed publish and carries on)."""


@dataclass
class Events:
    app: Container
    redeliver: Callable[[list[Message]], object]  # their visibility timeout ends now

    def send(self, command: Any) -> Any:
        return self.app.bus().handle(command)

    def new_relay(self, publish: Callable[[Any], None] | None = None) -> p.OutboxRelay:
        """A relay process started afresh (nothing carried over from an earlier one)."""
        publish = publish or self.app.topic().publish
        return p.OutboxRelay(self.app.outbox(), self.app.storage(), publish)

    def relay_all(self) -> int:
        relay, total = self.new_relay(), 0
        while published := relay.run_once(limit=100):
            total += published
        return total

    def consume(self) -> int:
        consumer: StatisticsConsumer = self.app.consumer()
        return consumer.drain(self.app.queue())

    def stats(self, owner: str) -> dict[str, Any]:
        return views.owner_stats(self.app.persistence.unit_of_work(), owner)

    def pending(self) -> int:
        return self.app.delivery().relay.count()


@pytest.fixture(params=["memory", "moto"])
def events(request: pytest.FixtureRequest) -> Iterator[Events]:
    if request.param == "memory":
        app = build_container(Settings(cursor_secret="e2e"))
        queue = use_in_memory_messaging(app)
        with in_memory(app.persistence):
            yield Events(app, lambda _: queue.expire_in_flight())
        return
    moto = request.getfixturevalue("moto")
    request.getfixturevalue("dynamodb_client")  # a freshly reset server: no table, no queue
    app = local_container(moto.endpoint_url, deliver_events_inline=False)
    sqs_queue: SqsQueue = app.queue()

    def visible_again(messages: list[Message]) -> None:
        for message in messages:
            sqs_queue.sqs.change_message_visibility(
                QueueUrl=sqs_queue.queue_url, ReceiptHandle=message.receipt, VisibilityTimeout=0
            )

    yield Events(app, visible_again)


def open_and_deposit(events: Events) -> None:
    events.send(commands.OpenAccount("a1", "ann", "EUR"))
    events.send(commands.Deposit("a1", Decimal("10.5")))
    events.send(commands.Deposit("a1", Decimal("10.5")))  # equal facts, two events


def assert_ann_exact(events: Events) -> None:
    stats = events.stats("ann")
    assert (stats["accounts_opened"], stats["deposits"]) == (1, 2)
    # Compared as numbers: moto answers ADD 10.5 + 10.5 with "21.0", where DynamoDB (and the
    # in-memory store) trims trailing zeroes to "21" (the Number type, "Leading and trailing
    # zeroes are trimmed": HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number).
    assert Decimal(stats["deposited"]) == Decimal("21")


def test_a_process_dying_between_commit_and_relay_loses_nothing(events: Events) -> None:
    open_and_deposit(events)
    events.new_relay()  # the relay of the process that died: it never ran
    assert events.pending() == 3  # committed with the changes, waiting in the outbox
    assert events.stats("ann")["accounts_opened"] == 0

    assert events.relay_all() == 3  # a relay started afresh finds every one
    assert events.consume() == 3
    assert events.pending() == 0
    assert_ann_exact(events)


def test_a_publish_that_fails_leaves_the_event_pending_for_the_next_relay(
    events: Events,
) -> None:
    open_and_deposit(events)

    def broker_down(event: Any) -> None:
        raise ConnectionError("topic unreachable")

    relay = events.new_relay(broker_down)
    assert relay.run_once(limit=100) == 0  # the shard stops at its first event...
    assert [type(f.error) for f in relay.failures] == [ConnectionError]  # ...and says why
    assert events.pending() == 3
    assert events.consume() == 0  # nothing reached the queue

    assert events.relay_all() == 3
    assert events.consume() == 3
    assert_ann_exact(events)


def test_a_relay_dying_after_publishing_publishes_again_and_the_duplicate_is_absorbed(
    events: Events,
) -> None:
    open_and_deposit(events)
    publish = events.app.topic().publish

    def publish_then_die(event: Any) -> None:
        publish(event)
        raise Died  # before the record is marked published

    with pytest.raises(Died):
        events.new_relay(publish_then_die).run_once(limit=100)
    assert events.pending() == 3  # the published one too: nobody marked it

    assert events.relay_all() == 3  # the first event is published a second time
    assert events.app.topic().published == 4
    assert events.consume() == 4  # both deliveries taken off the queue...
    consumer = events.app.consumer()
    assert (consumer.applied, consumer.duplicates) == (3, 1)  # ...one of them applied
    assert_ann_exact(events)


class DiesBeforeDelete:
    """The consumer's queue, in a process that dies after applying a message's event and
    before deleting the message."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue
        self.received: list[Message] = []

    def receive(self, max_messages: int = 10) -> list[Message]:
        messages = self.queue.receive(max_messages)
        self.received.extend(messages)
        return messages

    def delete(self, message: Message) -> None:
        raise Died


def test_a_consumer_dying_before_deleting_gets_the_message_again_and_changes_nothing(
    events: Events,
) -> None:
    open_and_deposit(events)
    events.relay_all()
    dying = DiesBeforeDelete(events.app.queue())
    with pytest.raises(Died):
        events.app.consumer().drain(dying)
    assert events.stats("ann")["accounts_opened"] + events.stats("ann")["deposits"] == 1

    events.redeliver(dying.received)  # its visibility timeout ended
    assert events.consume() == 3
    consumer = events.app.consumer()
    assert (consumer.applied, consumer.duplicates) == (3, 1)
    assert_ann_exact(events)


def test_two_consumers_given_one_event_at_once_apply_it_once(events: Events) -> None:
    """The dedupe record is a conditional write in the same transaction as the counters: the
    consumer that commits second is refused, looks again, and finds the event applied."""
    events.send(commands.OpenAccount("a1", "ann", "EUR"))
    events.relay_all()
    [message] = events.app.queue().receive(10)
    event = decode_event(message.body)
    persistence = events.app.persistence
    other = StatisticsConsumer(persistence.unit_of_work, events.app.clock())
    raced = threading.Event()

    class CommitsSecond:
        """A unit of work whose first commit waits until the other consumer applied."""

        def __init__(self) -> None:
            self.uow = persistence.unit_of_work()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.uow, name)

        def __enter__(self) -> Any:
            self.uow.__enter__()
            return self

        def __exit__(self, *exc: Any) -> Any:
            return self.uow.__exit__(*exc)

        def commit(self) -> None:
            if not raced.is_set():
                raced.set()
                done = threading.Thread(target=other.apply, args=(event,))
                done.start()
                done.join()
            self.uow.commit()

    first = StatisticsConsumer(CommitsSecond, events.app.clock())  # type: ignore[arg-type]
    assert first.apply(event) is False  # refused at commit, then found applied
    assert (other.applied, first.applied, first.duplicates) == (1, 0, 1)
    assert events.stats("ann")["accounts_opened"] == 1


def test_the_demo_s_events_agree_on_the_in_memory_store() -> None:
    app = build_container(Settings(cursor_secret="e2e"))
    use_in_memory_messaging(app)
    with in_memory(app.persistence):
        summary = Demo(app, threads=2, transfers=3).run()
    assert summary.money_conserved
    assert summary.events_agree
    assert summary.events_committed == summary.events_relayed == summary.events_consumed > 0
    # The demo's relay that dies after publishing: one event published twice, applied once.
    assert summary.events_published == summary.events_committed + 1
    assert summary.duplicates_absorbed == 1
    sent = sum(s["transfers_sent"] for s in summary.stats.values())
    assert sent == summary.transfers_completed + 1  # + the idempotent one


def sqs_lambda_event(messages: list[tuple[str, str]]) -> dict[str, Any]:
    """(messageId, body) pairs as Lambda's SQS event source mapping delivers them."""
    return {
        "Records": [
            {
                "messageId": message_id,
                "receiptHandle": f"handle-{message_id}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1700000000000",
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": "1700000000001",
                },
                "messageAttributes": {},
                "md5OfBody": "0" * 32,
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:payments-statistics",
                "awsRegion": "us-east-1",
            }
            for message_id, body in messages
        ]
    }


def test_the_statistics_lambda_reports_only_the_records_that_failed(events: Events) -> None:
    open_and_deposit(events)
    events.relay_all()
    bodies = [m.body for m in events.app.queue().receive(10)]
    assert len(bodies) == 3
    handler = make_statistics_handler(lambda: events.app)
    batch = [(f"m{n}", body) for n, body in enumerate(bodies)]
    batch += [("again", bodies[0]), ("junk", '{"not": "an event"}')]  # a duplicate, a poison

    answer = handler(sqs_lambda_event(batch), None)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "junk"}]}
    consumer = events.app.consumer()
    assert (consumer.applied, consumer.duplicates) == (3, 1)
    assert_ann_exact(events)


def test_an_endpoint_without_sns_or_sqs_gets_the_in_memory_twins(
    moto: Any, dynamodb_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DynamoDB Local serves only DynamoDB: local runs against it still deliver events."""
    from botocore.exceptions import ClientError

    from domain_example.adapters.messaging import InMemoryQueue
    from domain_example.entrypoints import local

    def unknown_operation(*args: Any, **kwargs: Any) -> Any:
        error: Any = {"Error": {"Code": "UnknownOperationException", "Message": "CreateTopic"}}
        raise ClientError(error, "CreateTopic")

    monkeypatch.setattr(local, "ensure_sns_sqs", unknown_operation)
    app = local_container(moto.endpoint_url)
    assert isinstance(app.queue(), InMemoryQueue)
    app.bus().handle(commands.OpenAccount("a1", "ann", "EUR"))  # delivered after the command
    assert views.owner_stats(app.persistence.unit_of_work(), "ann")["accounts_opened"] == 1
