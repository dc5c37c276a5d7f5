"""Reading the live table: DescribeTable (the only caller), TTL status, keys, indexes, billing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from collections.abc import Mapping as MappingABC
from typing import Any, Literal

from botocore.exceptions import ClientError

from .schema import Billing, Client, OnDemand, Provisioned


def raw_describe(client: Client, name: str) -> dict[str, Any] | None:
    try:
        table: dict[str, Any] = client.describe_table(TableName=name)["Table"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    return table


def live_ttl(client: Client, name: str) -> tuple[str, str | None]:
    description = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
    return description.get("TimeToLiveStatus", "DISABLED"), description.get("AttributeName")


def keys_of(schema: Sequence[MappingABC[str, str]]) -> tuple[str, str | None]:
    pk = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    sk = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return pk, sk


def live_index_specs(
    raw: MappingABC[str, Any],
) -> Iterator[tuple[dict[str, Any], Literal["global", "local"]]]:
    for spec in raw.get("GlobalSecondaryIndexes") or []:
        yield spec, "global"
    for spec in raw.get("LocalSecondaryIndexes") or []:
        yield spec, "local"


def live_billing_mode(raw: MappingABC[str, Any]) -> str:
    # Tables created before on-demand existed carry no BillingModeSummary: they are provisioned.
    return str((raw.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"))


def live_billing(raw: MappingABC[str, Any]) -> Billing:
    if live_billing_mode(raw) == "PAY_PER_REQUEST":
        return OnDemand()
    throughput = raw.get("ProvisionedThroughput") or {}
    return Provisioned(
        max(int(throughput.get("ReadCapacityUnits", 1)), 1),
        max(int(throughput.get("WriteCapacityUnits", 1)), 1),
    )
