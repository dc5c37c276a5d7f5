"""Moving committed events along: outbox -> relay -> topic -> queue -> consumer.

In AWS each step is its own process: the relay is a Lambda function on the table's stream (or a
polling `OutboxRelay` worker), the consumer a Lambda function on the SQS queue. Local runs and
tests have no such processes, so `EventDelivery.deliver()` runs both steps once, in the caller's
thread: the demo calls it between its steps, and with `deliver_events_inline` the bus calls it
after each command (bootstrap.py), so a client reads statistics that include its own commands.
"""

from __future__ import annotations

import threading
from typing import Any

import structlog

import persistence as p

from ..adapters.messaging import Queue
from .statistics import StatisticsConsumer

log = structlog.get_logger(__name__)


class EventDelivery:
    """The relay and the consumer of one application. `relayed` counts the outbox records
    this relay marked published; the consumer counts what it applied and absorbed."""

    def __init__(
        self, relay: p.OutboxRelay, queue: Queue, consumer: StatisticsConsumer, batch: int = 100
    ) -> None:
        self.relay = relay
        self.queue = queue
        self.consumer = consumer
        self.batch = batch
        self._lock = threading.Lock()
        self.relayed = 0

    def relay_pending(self) -> int:
        """Publish every pending outbox record; returns how many this call marked published."""
        total = 0
        while published := self.relay.run_once(limit=self.batch):
            total += published
        with self._lock:
            self.relayed += total
        return total

    def consume(self) -> int:
        return self.consumer.drain(self.queue)

    def deliver(self) -> None:
        self.relay_pending()
        self.consume()


def deliver_quietly(delivery: EventDelivery) -> Any:
    """`delivery.deliver()` after a command: the command is committed whatever happens here,
    and what was not delivered stays in the outbox or on the queue for the next delivery."""
    try:
        delivery.deliver()
    except Exception:
        log.exception("event_delivery_failed")
