"""The DynamoDB Streams relay: outbox events committed through a unit of work reach
`outbox_stream_handler` through the table's stream, in order, and a failed publish is
redelivered from that record.

Part of the behaviour contract (`persistence.testing.contract`): subclass `StreamsContract`
in a test module that provides a `harness` fixture. The table's stream is read through the
DynamoDB Streams API (moto's, or `MemoryStreamsClient` over the in-memory store) by
`persistence.testing.stream_poller.StreamPoller`, as Lambda's event source mapping would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model.keys import Key
from ..model.mapping import Mapping, Table
from .harness import Harness, MemoryHarness
from .harness_aio import AsyncMemoryHarness


@dataclass
class Ledger:
    """A test aggregate raising `Recorded` events."""

    ledger_id: str
    entries: int = 0
    events: list[Any] = field(default_factory=list, compare=False, repr=False)

    def record(self, n: int) -> None:
        """Count one entry and raise Recorded."""
        self.entries += 1
        self.events.append(Recorded(self.ledger_id, n))


@dataclass(frozen=True)
class Recorded:
    """The event the stream relay publishes in these tests."""

    ledger_id: str
    n: int


class StreamsContract:
    """The outbox's events through the table's stream to the Lambda handler."""

    def _setup(self, harness: Harness, view: str = "NEW_IMAGE") -> tuple[Any, Any, Any]:
        """(outbox, ledgers mapping, streams client and ARN) on a fresh table with a stream."""
        from ..messaging.outbox import Outbox
        from ..tables import create_table
        from .stream_poller import stream_arn_of, streams_client_for

        # A new Table per test: the outbox may declare what it needs on the table it is given.
        table = Table("contract_streams", partition_key="pk", sort_key="sk")
        ledgers = Mapping(Ledger, table, key=Key(pk="LEDGER#{ledger_id}", sk="LEDGER"))
        outbox = Outbox(table, event_types=[Recorded])
        if isinstance(harness, MemoryHarness | AsyncMemoryHarness):
            from ..backends.memory.stream import MemoryStreamsClient

            harness.store.register(table)
            arn = harness.store.enable_stream(table.name, view)
            streams: Any = MemoryStreamsClient(harness.store)
        else:
            client = harness.client  # type: ignore[attr-defined]
            create_table(client, table, stream=view)  # type: ignore[arg-type]
            arn, streams = stream_arn_of(client, table.name), streams_client_for(client)
        return outbox, ledgers, (streams, arn)

    def _commit(self, harness: Harness, ledgers: Any, outbox: Any, *entries: int) -> None:
        uow = harness.uow([ledgers], outbox=outbox)
        with uow:
            repo = uow.repository(Ledger)
            ledger = _get_or_new(repo, "L1")
            for n in entries:
                ledger.record(n)
            uow.commit()

    def test_committed_events_reach_the_handler_in_order(self, harness: Harness) -> None:
        from ..messaging.streams import outbox_stream_handler
        from .stream_poller import StreamPoller

        outbox, ledgers, (streams, arn) = self._setup(harness)
        self._commit(harness, ledgers, outbox, 1, 2)
        self._commit(harness, ledgers, outbox, 3)
        published: list[Any] = []
        poller = StreamPoller(streams, arn, outbox_stream_handler(outbox, published.append))
        delivered = poller.drain()
        assert published == [Recorded("L1", 1), Recorded("L1", 2), Recorded("L1", 3)]
        # The ledger's own INSERT and MODIFY went through the handler too, and were ignored.
        names = [r["eventName"] for e in poller.invocations for r in e["Records"]]
        assert names.count("MODIFY") == 1 and names.count("INSERT") == 4
        assert delivered == 5
        record = poller.invocations[0]["Records"][0]
        assert record["eventSource"] == "aws:dynamodb" and record["eventSourceARN"] == arn
        assert set(record["dynamodb"]) >= {"Keys", "NewImage", "SequenceNumber", "SizeBytes"}
        assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
        assert poller.drain() == 0 and len(published) == 3

    def test_a_failed_publish_is_redelivered_from_that_record(self, harness: Harness) -> None:
        from ..messaging.streams import outbox_stream_handler
        from .stream_poller import StreamPoller

        outbox, ledgers, (streams, arn) = self._setup(harness, "NEW_AND_OLD_IMAGES")
        self._commit(harness, ledgers, outbox, 1, 2, 3, 4)
        attempts: list[int] = []
        published: list[Any] = []

        def publish(event: Recorded) -> None:
            attempts.append(event.n)
            if event.n == 2 and attempts.count(2) == 1:
                raise ConnectionError("the broker is down")
            published.append(event)

        poller = StreamPoller(streams, arn, outbox_stream_handler(outbox, publish), batch_size=10)
        poller.drain()
        assert published == [Recorded("L1", n) for n in (1, 2, 3, 4)]
        # Stopped at the failure (3 and 4 not attempted), then redelivered from record 2.
        assert attempts == [1, 2, 2, 3, 4]
        first, second = poller.invocations[0], poller.invocations[1]
        outbox_records = [r for r in first["Records"] if "event_type" in r["dynamodb"]["NewImage"]]
        failed = outbox_records[1]
        assert (
            second["Records"][0]["dynamodb"]["SequenceNumber"]
            == (failed["dynamodb"]["SequenceNumber"])
        )

    def test_the_stream_logs_inserts_modifies_and_removes(self, harness: Harness) -> None:
        from .stream_poller import StreamPoller

        outbox, ledgers, (streams, arn) = self._setup(harness, "NEW_AND_OLD_IMAGES")
        del outbox
        repo = harness.repository(ledgers)
        repo.put(Ledger("L9"))
        repo.put(Ledger("L9", entries=1))
        repo.delete(ledger_id="L9")
        seen: list[dict[str, Any]] = []
        StreamPoller(streams, arn, lambda event, _: seen.extend(event["Records"])).drain()
        assert [r["eventName"] for r in seen] == ["INSERT", "MODIFY", "REMOVE"]
        insert, modify, remove = (r["dynamodb"] for r in seen)
        key = {"pk": {"S": "LEDGER#L9"}, "sk": {"S": "LEDGER"}}
        assert insert["Keys"] == modify["Keys"] == remove["Keys"] == key
        assert "OldImage" not in insert and "NewImage" not in remove
        assert modify["OldImage"]["entries"] == {"N": "0"}
        assert modify["NewImage"]["entries"] == {"N": "1"}
        assert remove["OldImage"]["entries"] == {"N": "1"}
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in seen]
        assert numbers == sorted(set(numbers))


def _get_or_new(repo: Any, ledger_id: str) -> Ledger:
    from ..errors import NotFound

    try:
        found: Ledger = repo.get(ledger_id=ledger_id)
    except NotFound:
        found = Ledger(ledger_id)
        repo.add(found)
    return found
