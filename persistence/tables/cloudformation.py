"""CloudFormation export of declared tables."""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingABC
from typing import Any, Literal, overload

from ..errors import ValidationError
from ..model.mapping import Table
from .schema import Billing, StreamView, create_table_request, tables_of
from .yaml_emitter import to_yaml


@overload
def to_cloudformation(
    *tables: Table,
    format: Literal["json"] = "json",
    billing: Billing | None = None,
    stream: StreamView | None = None,
) -> dict[str, Any]: ...


@overload
def to_cloudformation(
    *tables: Table,
    format: Literal["yaml"],
    billing: Billing | None = None,
    stream: StreamView | None = None,
) -> str: ...


def to_cloudformation(
    *tables: Table,
    format: Literal["json", "yaml"] = "json",
    billing: Billing | None = None,
    stream: StreamView | None = None,
) -> dict[str, Any] | str:
    """A CloudFormation template with one AWS::DynamoDB::Table per table.

    `format="json"` returns the document as a dict (json.dumps it); `format="yaml"` returns text.
    The properties come from the same request `create_table` sends, so both stay in step.
    """
    if not tables:
        raise ValidationError("to_cloudformation needs at least one table")
    resources: dict[str, Any] = {}
    for table in tables_of(tables):
        logical_id = _logical_id(table.name, resources)
        resources[logical_id] = {
            "Type": "AWS::DynamoDB::Table",
            "Properties": _cfn_properties(table, create_table_request(table, billing, stream)),
        }
    document: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "DynamoDB tables declared with persistence",
        "Resources": resources,
    }
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


def _logical_id(name: str, taken: MappingABC[str, Any]) -> str:
    # Logical IDs are alphanumeric only.
    base = "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)
    base = (base or "Table") + "Table"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}{n}", n + 1
    return candidate
