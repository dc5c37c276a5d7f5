"""Events between processes: an SNS topic fanning out to SQS queues, or an in-memory twin.

The outbox relay publishes each committed event to the topic (`Topic.publish`); each consumer
reads its own queue subscribed to the topic (`Queue.receive`, then `Queue.delete` once applied).
Both twins deliver at least once: a message received but not deleted comes back (on SQS when its
visibility timeout ends; in memory when `InMemoryQueue.expire_in_flight` says it ended), and the
relay itself may publish an event twice. Consumers are idempotent (service_layer/statistics.py).

Standard (not FIFO) SNS and SQS do not keep order: fine for the statistics, whose counters
commute. A consumer that needs each account's events in order would use a FIFO topic and queue
with the account as the message group (docs/events.md).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, get_type_hints

from ..domain.events import ALL_EVENTS

_EVENT_TYPES = {t.__name__: t for t in ALL_EVENTS}


# ---------------------------------------------------------------------------- the message body


def encode_event(event: Any) -> str:
    """The message body: the event's type, its id and its fields (decimals as strings)."""
    data = {f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event)}
    return json.dumps({"event_type": type(event).__name__, "event": data}, sort_keys=True)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def decode_event(body: str) -> Any:
    """The event of a message body; `ValueError` if it is not one of ours."""
    try:
        message = json.loads(body)
        event_type = _EVENT_TYPES[message["event_type"]]
        data = message["event"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a payments event: {body[:200]!r}") from exc
    hints = get_type_hints(event_type)
    return event_type(**{k: Decimal(v) if hints.get(k) is Decimal else v for k, v in data.items()})


# ---------------------------------------------------------------------------- the interfaces


@dataclass(frozen=True)
class Message:
    """One received message: its body, the handle that deletes it, and how often it came."""

    body: str
    receipt: str
    receive_count: int


class Topic(Protocol):
    published: int  # publishes so far, duplicates included

    def publish(self, event: Any) -> None: ...


class Queue(Protocol):
    def receive(self, max_messages: int = 10) -> list[Message]: ...

    def delete(self, message: Message) -> None: ...


# ---------------------------------------------------------------------------- SNS and SQS


class SnsTopic:
    """Publishes to an SNS topic; `published` counts the publishes (duplicates included)."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self.sns = sns
        self.topic_arn = topic_arn
        self._lock = threading.Lock()
        self.published = 0

    def publish(self, event: Any) -> None:
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=encode_event(event),
            # Lets a subscription filter by type (a FilterPolicy) without reading the body.
            MessageAttributes={
                "event_type": {"DataType": "String", "StringValue": type(event).__name__}
            },
        )
        with self._lock:
            self.published += 1


class SqsQueue:
    """Receives from an SQS queue subscribed to the topic with raw message delivery."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url

    def receive(self, max_messages: int = 10) -> list[Message]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            # No long polling: a drain stops as soon as the queue looks empty.
            WaitTimeSeconds=0,
            AttributeNames=["ApproximateReceiveCount"],
        )
        return [
            Message(
                m["Body"],
                m["ReceiptHandle"],
                int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
            )
            for m in answer.get("Messages", [])
        ]

    def delete(self, message: Message) -> None:
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message.receipt)


@dataclass(frozen=True)
class SnsSqsNames:
    topic_arn: str
    queue_url: str
    dead_letter_queue_url: str


def ensure_sns_sqs(
    sns: Any, sqs: Any, topic_name: str, queue_name: str, *, max_receive_count: int = 5
) -> SnsSqsNames:
    """The topic, the consumer's queue subscribed to it (raw delivery, 14 days retention) and
    its dead-letter queue; idempotent. For local runs and tests: in AWS these belong to
    infrastructure as code, like the table."""
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    fourteen_days = str(14 * 24 * 3600)  # SQS's maximum retention
    dlq_url = sqs.create_queue(
        QueueName=f"{queue_name}-dlq", Attributes={"MessageRetentionPeriod": fourteen_days}
    )["QueueUrl"]
    dlq_arn = _queue_arn(sqs, dlq_url)
    queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    # The topic may send to the queue, and only this topic (SNS needs this policy in AWS).
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={
            "MessageRetentionPeriod": fourteen_days,
            "VisibilityTimeout": "30",
            "RedrivePolicy": json.dumps(redrive),
            "Policy": json.dumps(policy),
        },
    )
    subscribed = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    if not any(s["Endpoint"] == queue_arn for s in subscribed):
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            # The queue gets the published body itself, not SNS's JSON envelope around it.
            Attributes={"RawMessageDelivery": "true"},
        )
    return SnsSqsNames(topic_arn, queue_url, dlq_url)


def _queue_arn(sqs: Any, queue_url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    arn: str = attributes["Attributes"]["QueueArn"]
    return arn


# ---------------------------------------------------------------------------- in memory


class InMemoryQueue:
    """An SQS queue's delivery rules without the network: a received message is invisible
    until deleted, and comes back (its receive count one higher) once `expire_in_flight()`
    says its visibility timeout ended. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._visible: list[tuple[str, int]] = []  # (body, times received before)
        self._in_flight: dict[str, tuple[str, int]] = {}
        self._receipts = itertools.count(1)

    def send(self, body: str) -> None:
        with self._lock:
            self._visible.append((body, 0))

    def receive(self, max_messages: int = 10) -> list[Message]:
        with self._lock:
            taken, self._visible = self._visible[:max_messages], self._visible[max_messages:]
            out = []
            for body, received in taken:
                receipt = f"r{next(self._receipts)}"
                self._in_flight[receipt] = (body, received + 1)
                out.append(Message(body, receipt, received + 1))
            return out

    def delete(self, message: Message) -> None:
        with self._lock:
            # Like SQS, deleting with a stale receipt is not an error.
            self._in_flight.pop(message.receipt, None)

    def expire_in_flight(self) -> int:
        """Every received, undeleted message becomes visible again; returns how many."""
        with self._lock:
            returned = list(self._in_flight.values())
            self._in_flight.clear()
            self._visible.extend(returned)
            return len(returned)

    def __len__(self) -> int:
        with self._lock:
            return len(self._visible) + len(self._in_flight)


class InMemoryTopic:
    """An SNS topic without the network: each publish goes to every subscribed queue."""

    def __init__(self, *queues: InMemoryQueue) -> None:
        self.queues = list(queues)
        self._lock = threading.Lock()
        self.published = 0

    def publish(self, event: Any) -> None:
        body = encode_event(event)
        for queue in self.queues:
            queue.send(body)
        with self._lock:
            self.published += 1
