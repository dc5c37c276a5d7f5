"""Declared table schema: billing and encryption settings, key/index/projection request
parts and the CreateTable request built from a Table.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any, Literal

from .. import limits
from ..errors import ValidationError
from ..model.mapping import GlobalIndex, LocalIndex, Mapping, Projection, Table

Client = Any


StreamView = Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"]
STREAM_VIEWS: tuple[str, ...] = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")


MAX_LOCAL_INDEXES = 5  # hard limit; LSIs exist only from table creation on
MAX_PROJECTED_ATTRIBUTES = limits.MAX_PROJECTED_ATTRIBUTES  # the old public name


@dataclass(frozen=True)
class OnDemand:
    """PAY_PER_REQUEST billing: no capacity to plan."""


@dataclass(frozen=True)
class Provisioned:
    """PROVISIONED billing; every global index gets the same capacity as the table."""

    read: int
    write: int

    def __post_init__(self) -> None:
        if self.read < 1 or self.write < 1:
            raise ValidationError(
                f"provisioned capacity must be at least 1 read and 1 write unit, "
                f"got read={self.read} write={self.write}"
            )


Billing = OnDemand | Provisioned


@dataclass(frozen=True)
class KmsEncryption:
    """Server-side encryption with a KMS key; `key_id=None` uses the AWS managed key."""

    key_id: str | None = None


def table_name_of(table: Table | Mapping[Any] | str) -> str:
    if isinstance(table, Mapping):
        return table.table.name
    return table if isinstance(table, str) else table.name


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return schema


def projection_request(projection: Projection, where: str) -> dict[str, Any]:
    if projection in ("ALL", "KEYS_ONLY"):
        return {"ProjectionType": projection}
    if isinstance(projection, str):
        raise ValidationError(
            f"{where}: projection must be 'ALL', 'KEYS_ONLY' or a list of attribute names, "
            f"got {projection!r}"
        )
    names = list(dict.fromkeys(projection))
    if not names:
        raise ValidationError(f"{where}: an INCLUDE projection needs at least one attribute name")
    return {"ProjectionType": "INCLUDE", "NonKeyAttributes": names}


def throughput_request(billing: Billing) -> dict[str, int]:
    assert isinstance(billing, Provisioned)
    return {"ReadCapacityUnits": billing.read, "WriteCapacityUnits": billing.write}


def gsi_request(table: Table, index: GlobalIndex, billing: Billing) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "IndexName": index.name,
        "KeySchema": _key_schema(index.partition_key, index.sort_key),
        "Projection": projection_request(index.projection, f"{table.name}.{index.name}"),
    }
    if isinstance(billing, Provisioned):
        spec["ProvisionedThroughput"] = throughput_request(billing)
    return spec


def _lsi_request(table: Table, index: LocalIndex) -> dict[str, Any]:
    return {
        "IndexName": index.name,
        "KeySchema": _key_schema(table.partition_key, index.sort_key),
        "Projection": projection_request(index.projection, f"{table.name}.{index.name}"),
    }


def check_declaration(table: Table) -> None:
    local = [i for i in table.indexes.values() if isinstance(i, LocalIndex)]
    if len(local) > MAX_LOCAL_INDEXES:
        raise ValidationError(
            f"table {table.name!r} declares {len(local)} local indexes; DynamoDB allows "
            f"{MAX_LOCAL_INDEXES} (use global indexes for the rest)"
        )
    projected = sum(
        len(i.projection)
        for i in table.indexes.values()
        if i.projection not in ("ALL", "KEYS_ONLY")
    )
    if projected > MAX_PROJECTED_ATTRIBUTES:
        raise ValidationError(
            f"table {table.name!r} projects {projected} non-key attributes over its indexes; "
            f"DynamoDB allows {MAX_PROJECTED_ATTRIBUTES} in total (project ALL instead)"
        )


def create_table_request(
    table: Table,
    billing: Billing | None = None,
    stream: StreamView | None = None,
    tags: MappingABC[str, str] | None = None,
    encryption: KmsEncryption | None = None,
) -> dict[str, Any]:
    """The CreateTable parameters for a declared table (also the base of the CloudFormation)."""
    check_declaration(table)
    billing = billing or OnDemand()
    types = table.attribute_types()
    request: dict[str, Any] = {
        "TableName": table.name,
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in types.items()
        ],
        "KeySchema": _key_schema(table.partition_key, table.sort_key),
    }
    if isinstance(billing, Provisioned):
        request["BillingMode"] = "PROVISIONED"
        request["ProvisionedThroughput"] = throughput_request(billing)
    else:
        request["BillingMode"] = "PAY_PER_REQUEST"
    gsis = [
        gsi_request(table, i, billing) for i in table.indexes.values() if isinstance(i, GlobalIndex)
    ]
    lsis = [_lsi_request(table, i) for i in table.indexes.values() if isinstance(i, LocalIndex)]
    if gsis:
        request["GlobalSecondaryIndexes"] = gsis
    if lsis:
        request["LocalSecondaryIndexes"] = lsis
    if stream is not None:
        if stream not in STREAM_VIEWS:
            raise ValidationError(f"stream must be one of {list(STREAM_VIEWS)}, got {stream!r}")
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream}
    if encryption is not None:
        sse: dict[str, Any] = {"Enabled": True, "SSEType": "KMS"}
        if encryption.key_id:
            sse["KMSMasterKeyId"] = encryption.key_id
        request["SSESpecification"] = sse
    if tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return request


def tables_of(objects: Iterable[Mapping[Any] | Table]) -> list[Table]:
    """The distinct tables of some mappings and tables, in order; one Table object per name."""
    found: dict[str, Table] = {}
    for obj in objects:
        table = obj.table if isinstance(obj, Mapping) else obj
        if not isinstance(table, Table):
            raise ValidationError(f"expected a Table or a Mapping, got {obj!r}")
        other = found.setdefault(table.name, table)
        if other is not table:
            raise ValidationError(
                f"two different Table objects are named {table.name!r}; declare the table once "
                "and share it between mappings"
            )
    return list(found.values())
