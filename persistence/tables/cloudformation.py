"""CloudFormation export of declared tables."""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any, Literal, overload

from ..errors import ValidationError
from ..model.mapping import Table
from .schema import Billing, StreamView, create_table_request, tables_of
from .yaml_emitter import to_yaml

# The template parameters a stream relay adds (the function and the destination are deployed
# elsewhere: the template only wires them to the table's stream).
FUNCTION_PARAMETER = "StreamRelayFunctionName"
ON_FAILURE_PARAMETER = "StreamRelayOnFailureDestinationArn"


@dataclass(frozen=True)
class StreamRelay:
    """Ask `to_cloudformation` for the table's stream and the Lambda event source mapping of
    `persistence.outbox_stream_handler` on it.

    The mapping's function name and its on-failure destination (an SQS queue or SNS topic ARN)
    become template parameters. The defaults: TRIM_HORIZON, so that events committed before the
    mapping existed (or while it was being replaced) are still published: LATEST would skip
    them, and the outbox promises at least once; batches of 100; a failing batch split in two
    (BisectBatchOnFunctionError) and retried at most 10 times, then described to the on-failure
    destination so one bad record cannot hold its shard for the stream's 24 hours (Lambda's
    default, -1, retries until the record expires); ReportBatchItemFailures, which the handler
    answers.

    Args:
        table: the table holding the outbox (a Table among those exported, or its name).
        view: the stream view, NEW_IMAGE (default) or NEW_AND_OLD_IMAGES.
        batch_size: records per invocation, 1 to 10000 (Lambda's limit for DynamoDB streams).
        maximum_retry_attempts: -1 (until the record expires) or 0 to 10000.
        bisect_batch_on_function_error: split a failing batch in two before retrying.
        starting_position: "TRIM_HORIZON" or "LATEST".
    """

    table: Table | str
    view: StreamView = "NEW_IMAGE"
    batch_size: int = 100
    maximum_retry_attempts: int = 10
    bisect_batch_on_function_error: bool = True
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"

    def __post_init__(self) -> None:
        if self.view not in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            raise ValidationError(
                f"a stream relay needs the new item in each record: view must be NEW_IMAGE or "
                f"NEW_AND_OLD_IMAGES, got {self.view!r}"
            )
        if not 1 <= self.batch_size <= 10000:
            raise ValidationError(f"batch_size must be 1 to 10000, got {self.batch_size}")
        if not (self.maximum_retry_attempts == -1 or 0 <= self.maximum_retry_attempts <= 10000):
            raise ValidationError(
                f"maximum_retry_attempts must be -1 or 0 to 10000, got "
                f"{self.maximum_retry_attempts}"
            )
        if self.starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise ValidationError(
                f"starting_position must be TRIM_HORIZON or LATEST, got {self.starting_position!r}"
            )

    @property
    def table_name(self) -> str:
        """The name of the relayed table."""
        return self.table.name if isinstance(self.table, Table) else self.table


@overload
def to_cloudformation(
    *tables: Table,
    format: Literal["json"] = "json",
    billing: Billing | None = None,
    stream: StreamView | None = None,
    stream_relay: StreamRelay | None = None,
) -> dict[str, Any]: ...


@overload
def to_cloudformation(
    *tables: Table,
    format: Literal["yaml"],
    billing: Billing | None = None,
    stream: StreamView | None = None,
    stream_relay: StreamRelay | None = None,
) -> str: ...


def to_cloudformation(
    *tables: Table,
    format: Literal["json", "yaml"] = "json",
    billing: Billing | None = None,
    stream: StreamView | None = None,
    stream_relay: StreamRelay | None = None,
) -> dict[str, Any] | str:
    """A CloudFormation template with one AWS::DynamoDB::Table per table.

    `format="json"` returns the document as a dict (json.dumps it); `format="yaml"` returns text.
    The properties come from the same request `create_table` sends, so both stay in step.
    With `stream_relay`, its table gets a stream (the relay's view) and the template an
    AWS::Lambda::EventSourceMapping from that stream to the function named by the
    `StreamRelayFunctionName` parameter, failures described to the
    `StreamRelayOnFailureDestinationArn` parameter (see `StreamRelay`).
    """
    if not tables:
        raise ValidationError("to_cloudformation needs at least one table")
    resources: dict[str, Any] = {}
    found = tables_of(tables)
    relayed: str | None = None
    if stream_relay is not None:
        names = [t.name for t in found]
        if stream_relay.table_name not in names:
            raise ValidationError(
                f"stream_relay names table {stream_relay.table_name!r}, which is not exported "
                f"(tables: {names})"
            )
        if stream is not None and stream != stream_relay.view:
            raise ValidationError(
                f"stream={stream!r} contradicts the stream relay's view {stream_relay.view!r}"
            )
    for table in found:
        logical_id = _logical_id(table.name, resources)
        view = stream
        if stream_relay is not None and table.name == stream_relay.table_name:
            view, relayed = stream_relay.view, logical_id
        resources[logical_id] = {
            "Type": "AWS::DynamoDB::Table",
            "Properties": _cfn_properties(table, create_table_request(table, billing, view)),
        }
    document: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "DynamoDB tables declared with persistence",
    }
    if stream_relay is not None and relayed is not None:
        document["Parameters"] = {
            FUNCTION_PARAMETER: {
                "Type": "String",
                "Description": "The Lambda function running persistence.outbox_stream_handler "
                "(name or ARN)",
            },
            ON_FAILURE_PARAMETER: {
                "Type": "String",
                "Description": "ARN of the SQS queue or SNS topic told about batches that "
                "failed every retry",
            },
        }
        mapping_id = relayed + "StreamRelay"
        while mapping_id in resources:
            mapping_id += "X"
        resources[mapping_id] = {
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": _event_source_mapping(stream_relay, relayed),
        }
    document["Resources"] = resources
    if format == "json":
        return document
    if format == "yaml":
        return to_yaml(document)
    raise ValidationError(f"format must be 'json' or 'yaml', got {format!r}")


def _cfn_properties(table: Table, request: MappingABC[str, Any]) -> dict[str, Any]:
    props = {
        k: v for k, v in request.items() if k not in ("StreamSpecification", "SSESpecification")
    }
    if "StreamSpecification" in request:
        props["StreamSpecification"] = {
            "StreamViewType": request["StreamSpecification"]["StreamViewType"]
        }
    if table.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": table.ttl_attribute, "Enabled": True}
    return props


def _event_source_mapping(relay: StreamRelay, table_id: str) -> dict[str, Any]:
    # Property names: CloudFormation template reference, AWS::Lambda::EventSourceMapping
    # (aws-resource-lambda-eventsourcemapping.html) and its DestinationConfig and OnFailure;
    # StreamArn is a documented Fn::GetAtt of AWS::DynamoDB::Table.
    return {
        "EventSourceArn": {"Fn::GetAtt": [table_id, "StreamArn"]},
        "FunctionName": {"Ref": FUNCTION_PARAMETER},
        "StartingPosition": relay.starting_position,
        "BatchSize": relay.batch_size,
        "BisectBatchOnFunctionError": relay.bisect_batch_on_function_error,
        "MaximumRetryAttempts": relay.maximum_retry_attempts,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {"OnFailure": {"Destination": {"Ref": ON_FAILURE_PARAMETER}}},
    }


def _logical_id(name: str, taken: MappingABC[str, Any]) -> str:
    # Logical IDs are alphanumeric only.
    base = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)
    base = (base or "Table") + "Table"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    return candidate
