"""Table lifecycle: create, delete, ensure and describe a table."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from ..errors import TableError
from ..model.mapping import Table
from .live import keys_of, live_billing_mode, live_index_specs, live_ttl, raw_describe
from .schema import Billing, Client, KmsEncryption, StreamView, create_table_request, table_name_of
from .waiting import DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT, Sleep, new_waiter, wait_for_active

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexDescription:
    """One index of a live table, as `describe_table` reports it: "global" or "local", its
    status, key attributes and projection ("ALL", "KEYS_ONLY" or "INCLUDE" with
    `projected_attributes`).
    """

    name: str
    kind: Literal["global", "local"]
    status: str
    partition_key: str
    sort_key: str | None
    projection: str
    projected_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableDescription:
    """A live table as `describe_table` reports it: status, approximate item count and size
    (DynamoDB refreshes them about every six hours), keys, billing mode and capacity, indexes,
    TTL attribute and status, stream view type and ARN.
    """

    name: str
    status: str
    item_count: int
    size_bytes: int
    partition_key: str
    sort_key: str | None
    billing: str
    read_capacity: int | None
    write_capacity: int | None
    indexes: tuple[IndexDescription, ...]
    ttl_attribute: str | None
    ttl_status: str
    stream: str | None
    arn: str | None


def create_table(
    client: Client,
    table: Table,
    billing: Billing | None = None,
    stream: StreamView | None = None,
    tags: MappingABC[str, str] | None = None,
    encryption: KmsEncryption | None = None,
    wait: bool = True,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    sleep: Sleep = time.sleep,
) -> None:
    """Create the table with its indexes (billing on demand unless told), then enable TTL when
    the table declares a `ttl_attribute` (TTL needs an ACTIVE table, so only when `wait`)."""
    request = create_table_request(table, billing, stream, tags, encryption)
    try:
        client.create_table(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceInUseException":
            raise TableError(
                f"table {table.name!r} already exists; use ensure_table (CLI: `tables ensure`) "
                "to accept an existing table, or update_table to change it"
            ) from error
        raise
    log.info("table_create", extra={"table": table.name, "billing": request["BillingMode"]})
    if not wait:
        return
    wait_for_active(client, table, timeout=timeout, poll_interval=poll_interval, sleep=sleep)
    if table.ttl_attribute:
        set_ttl(client, table.name, table.ttl_attribute, enabled=True)


def delete_table(
    client: Client,
    table: Table | str,
    wait: bool = True,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    sleep: Sleep = time.sleep,
) -> bool:
    """Delete the table and its items; False when it did not exist."""
    name = table_name_of(table)
    try:
        client.delete_table(TableName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise
    log.info("table_delete", extra={"table": name})
    if wait:
        waiter = new_waiter(timeout, poll_interval, sleep)
        waiter.until(f"table {name!r} to be deleted", lambda: raw_describe(client, name) is None)
    return True


def ensure_table(
    client: Client,
    table: Table,
    billing: Billing | None = None,
    stream: StreamView | None = None,
    tags: MappingABC[str, str] | None = None,
    encryption: KmsEncryption | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    sleep: Sleep = time.sleep,
) -> TableDescription:
    """Create the table if it is missing, wait until ACTIVE, enable the declared TTL.

    An existing table is otherwise left as it is; `diff_table`/`update_table` change it.
    """
    timing: dict[str, Any] = {"timeout": timeout, "poll_interval": poll_interval, "sleep": sleep}
    if raw_describe(client, table.name) is None:
        try:
            create_table(client, table, billing, stream, tags, encryption, **timing)
        except TableError as error:
            if not isinstance(error.__cause__, ClientError):
                raise
            # Somebody else created it between our check and our call: that is what we wanted.
            wait_for_active(client, table, **timing)
    else:
        wait_for_active(client, table, **timing)
    if table.ttl_attribute:
        status, attribute = live_ttl(client, table.name)
        if status not in ("ENABLED", "ENABLING") or attribute != table.ttl_attribute:
            if status in ("ENABLED", "ENABLING"):
                raise TableError(
                    f"table {table.name!r} has TTL on {attribute!r}, declared "
                    f"{table.ttl_attribute!r}; run update_table (CLI: `tables update`) to switch it"
                )
            set_ttl(client, table.name, table.ttl_attribute, enabled=True)
    return describe_table(client, table)


def set_ttl(client: Client, name: str, attribute: str, *, enabled: bool) -> None:
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": enabled, "AttributeName": attribute}
    )
    log.info("table_ttl", extra={"table": name, "attribute": attribute, "enabled": enabled})


def describe_table(client: Client, table: Table | str) -> TableDescription:
    """A typed summary of the live table (TableError when it does not exist)."""
    name = table_name_of(table)
    raw = raw_describe(client, name)
    if raw is None:
        raise TableError(
            f"table {name!r} does not exist; create it with ensure_table "
            "(CLI: `python -m persistence tables ensure MODULE`)"
        )
    ttl_status, ttl_attribute = live_ttl(client, name)
    pk, sk = keys_of(raw["KeySchema"])
    throughput = raw.get("ProvisionedThroughput") or {}
    billing = live_billing_mode(raw)
    stream = raw.get("StreamSpecification") or {}
    return TableDescription(
        name=name,
        status=raw.get("TableStatus", "UNKNOWN"),
        item_count=int(raw.get("ItemCount", 0)),
        size_bytes=int(raw.get("TableSizeBytes", 0)),
        partition_key=pk,
        sort_key=sk,
        billing=billing,
        read_capacity=throughput.get("ReadCapacityUnits") if billing == "PROVISIONED" else None,
        write_capacity=throughput.get("WriteCapacityUnits") if billing == "PROVISIONED" else None,
        indexes=tuple(_describe_index(i, kind) for i, kind in live_index_specs(raw)),
        ttl_attribute=ttl_attribute if ttl_status in ("ENABLED", "ENABLING") else None,
        ttl_status=ttl_status,
        stream=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        arn=raw.get("TableArn"),
    )


def _describe_index(spec: dict[str, Any], kind: Literal["global", "local"]) -> IndexDescription:
    pk, sk = keys_of(spec["KeySchema"])
    projection = spec.get("Projection", {})
    return IndexDescription(
        name=spec["IndexName"],
        kind=kind,
        status=spec.get("IndexStatus", "ACTIVE"),
        partition_key=pk,
        sort_key=sk,
        projection=projection.get("ProjectionType", "ALL"),
        projected_attributes=tuple(projection.get("NonKeyAttributes", ())),
    )
