"""A DynamoDB Streams relay for AWS Lambda: publish the outbox's events from the table's stream.

`outbox_stream_handler(outbox, publish)` returns a Lambda handler for an event source mapping on
the table's stream (view NEW_IMAGE or NEW_AND_OLD_IMAGES, FunctionResponseTypes
["ReportBatchItemFailures"]). It publishes the events of the outbox's INSERT records in stream
order and ignores every other record: MODIFY (a polling relay marking a record done), REMOVE
(deletes and TTL expiry) and the application's own items.

Partial failures follow Lambda's rule for streams (Lambda developer guide, "Configuring partial
batch response with DynamoDB and Lambda", services-ddb-batchfailurereporting.html): Lambda
checkpoints at the LOWEST sequence number reported in `batchItemFailures` and retries every
record from there. So the first failed publish ends the batch: publishing later records would
only publish them twice (they come again after the checkpoint) and could publish them before
the failed one, breaking the order. The handler reports the failed record and every outbox
record after it; an empty list means the whole batch succeeded.

The event source mapping MUST list ReportBatchItemFailures in FunctionResponseTypes (the
CloudFormation export does): without it Lambda ignores the response, takes the batch for a
success and moves past the failed records, which are then never published by the stream.

Delivery is at least once: a record is published again when the batch is retried, so
consumers must be idempotent. Lambda retries a failing record until the mapping's
MaximumRetryAttempts (or the record's age limit), then sends its description to the on-failure
destination: the CloudFormation export sets both.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ValidationError
from .outbox import Outbox

log = logging.getLogger("persistence.outbox")

# Views whose records carry the new item: the only ones an INSERT can be decoded from.
_IMAGE_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")

Handler = Callable[[Mapping[str, Any], Any], dict[str, list[dict[str, str]]]]


def outbox_stream_handler(outbox: Outbox, publish: Callable[[Any], None]) -> Handler:
    """An AWS Lambda handler publishing `outbox`'s events from its table's DynamoDB stream.

    `handler(event, context)` takes the event Lambda delivers for a DynamoDB stream and returns
    `{"batchItemFailures": [{"itemIdentifier": <SequenceNumber>}, ...]}`: empty when every
    event was published. `publish(event)` receives the decoded event dataclass; raising means
    "not published": the handler stops there and reports that record and the outbox records
    after it, so Lambda retries from it (it checkpoints at the lowest reported number) and the
    order is kept. Only INSERT records of the outbox are published; every other record is
    ignored. Delivery is at least once. The mapping must enable ReportBatchItemFailures, or
    Lambda ignores the reported failures.

    Raises (from the handler):
        ValidationError: the event is not a DynamoDB stream batch, or the stream's view is
            KEYS_ONLY or OLD_IMAGE (records without the new item cannot be published: enable
            NEW_IMAGE or NEW_AND_OLD_IMAGES). Nothing is published then.
    """

    def handler(event: Mapping[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
        records = _records(event)
        failures: list[dict[str, str]] = []
        for position, record in enumerate(records):
            if record["eventName"] != "INSERT":
                continue
            sequence = record["dynamodb"]["SequenceNumber"]
            try:
                decoded = outbox.event_from_image(record["dynamodb"]["NewImage"])
                if decoded is None:
                    continue
                publish(decoded)
            except Exception:
                log.warning(
                    "outbox_stream_publish_failed",
                    exc_info=True,
                    extra={"sequence_number": sequence, "retried_records": len(records) - position},
                )
                failures.append({"itemIdentifier": sequence})
                failures.extend(
                    {"itemIdentifier": later["dynamodb"]["SequenceNumber"]}
                    for later in records[position + 1 :]
                    if _may_be_outbox(outbox, later)
                )
                break
        return {"batchItemFailures": failures}

    return handler


def _records(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The batch's records, checked before anything is published."""
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        raise ValidationError(
            "outbox_stream_handler expects a DynamoDB stream event ({'Records': [...]})"
        )
    for record in records:
        source = record.get("eventSource") if isinstance(record, Mapping) else None
        if source != "aws:dynamodb" or not isinstance(record.get("dynamodb"), Mapping):
            raise ValidationError(
                f"not a DynamoDB stream record (eventSource {source!r}): attach the handler to "
                "the table's stream"
            )
        change = record["dynamodb"]
        view = change.get("StreamViewType")
        if view not in _IMAGE_VIEWS:
            raise ValidationError(
                f"the stream's view type is {view!r}: its records do not carry the new item, so "
                "outbox events cannot be read from them; set the table's StreamViewType to "
                "NEW_IMAGE or NEW_AND_OLD_IMAGES"
            )
        if not isinstance(change.get("SequenceNumber"), str) or not change["SequenceNumber"]:
            raise ValidationError("a stream record without a SequenceNumber")
        if record.get("eventName") == "INSERT" and not isinstance(change.get("NewImage"), Mapping):
            raise ValidationError(
                f"INSERT record {change['SequenceNumber']} has no NewImage (view {view})"
            )
    return records


def _may_be_outbox(outbox: Outbox, record: Mapping[str, Any]) -> bool:
    """Whether a record after a failure must be retried: an outbox INSERT (or one that does not
    even decode, which is retried rather than dropped)."""
    if record["eventName"] != "INSERT":
        return False
    try:
        return outbox.event_from_image(record["dynamodb"]["NewImage"]) is not None
    except Exception:
        return True
