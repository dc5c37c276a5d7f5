"""Table operations: create, ensure, describe, diff, update, delete, copy and CloudFormation export.

This is the only module that calls DescribeTable; nothing here runs implicitly when a repository
or a unit of work is used. Every function takes a boto3 DynamoDB low-level client first. Waiting
is hand-written polling with injectable `timeout`, `poll_interval` and `sleep`, so tests can stub
time and a slow index backfill ends in a clear `TableError` instead of hanging.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Mapping as MappingABC
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO, overload

import structlog
from botocore.exceptions import ClientError

from .errors import BatchIncomplete, TableError, ValidationError
from .mapping import GlobalIndex, Index, LocalIndex, Mapping, Projection, Table
from .retry import Backoff

log = structlog.get_logger(__name__)

Client = Any
Item = dict[str, Any]
Sleep = Callable[[float], None]
StreamView = Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"]
STREAM_VIEWS: tuple[str, ...] = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")

DEFAULT_TIMEOUT = 900.0  # a GSI backfill on a large table takes minutes, not seconds
DEFAULT_POLL_INTERVAL = 2.0
MAX_POLL_INTERVAL = 20.0  # the interval botocore's own table waiters use
BATCH_WRITE_LIMIT = 25  # BatchWriteItem: at most 25 put/delete requests per call
MAX_LOCAL_INDEXES = 5  # hard limit; LSIs exist only from table creation on
MAX_PROJECTED_ATTRIBUTES = 100  # NonKeyAttributes summed over every index of a table


# ---------------------------------------------------------------------------------- settings


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


# ---------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class IndexDescription:
    name: str
    kind: Literal["global", "local"]
    status: str
    partition_key: str
    sort_key: str | None
    projection: str
    projected_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableDescription:
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


ChangeKind = Literal[
    "create_table", "add_index", "remove_index", "replace_index", "billing", "ttl", "recreate_table"
]


@dataclass(frozen=True)
class Change:
    """One difference between the declared and the live schema.

    `in_place` is False for what UpdateTable cannot do (table keys, local indexes): the table
    must be recreated and its items copied. `destructive` marks what takes something away that
    running code may still use (an index, TTL); `update_table(prune=False)` skips those.
    """

    kind: ChangeKind
    description: str
    index: str | None = None
    in_place: bool = True
    destructive: bool = False


@dataclass(frozen=True)
class TableDiff:
    table: str
    changes: tuple[Change, ...]

    @property
    def in_sync(self) -> bool:
        return not self.changes

    @property
    def errors(self) -> tuple[Change, ...]:
        """Changes that cannot be applied in place."""
        return tuple(c for c in self.changes if not c.in_place)

    @property
    def needs_recreate(self) -> bool:
        return bool(self.errors)


@dataclass(frozen=True)
class CopyProgress:
    source: str
    target: str
    scanned: int
    written: int
    skipped: int
    segments_done: int
    segments: int
    estimated_total: int | None


@dataclass(frozen=True)
class CopyResult:
    source: str
    target: str
    scanned: int
    written: int
    skipped: int
    target_count: int
    resumed: bool


# ---------------------------------------------------------------------------------- waiting


@dataclass(frozen=True)
class _Waiter:
    timeout: float
    interval: float
    sleep: Sleep

    def until(self, what: str, done: Callable[[], bool]) -> None:
        # Time is counted both by the clock and by what was slept, so a stubbed `sleep` still
        # reaches the timeout and a slow DescribeTable cannot stretch it.
        start, slept, delay = time.monotonic(), 0.0, self.interval
        while not done():
            elapsed = max(slept, time.monotonic() - start)
            if elapsed >= self.timeout:
                raise TableError(
                    f"timed out after {self.timeout:g}s waiting for {what}; the operation may "
                    "still complete in AWS: check with `describe`, then rerun (or raise the "
                    "timeout)"
                )
            pause = max(min(delay, self.timeout - elapsed), 0.0)
            self.sleep(pause)
            slept += pause
            delay = min(delay * 1.5, max(self.interval, MAX_POLL_INTERVAL))


def _waiter(timeout: float, poll_interval: float, sleep: Sleep) -> _Waiter:
    if timeout < 0 or poll_interval <= 0:
        raise ValidationError("timeout must be >= 0 and poll_interval > 0")
    return _Waiter(timeout, poll_interval, sleep)


def _raw_describe(client: Client, name: str) -> dict[str, Any] | None:
    try:
        table: dict[str, Any] = client.describe_table(TableName=name)["Table"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    return table


def _is_active(raw: dict[str, Any] | None, gone_index: str | None = None) -> bool:
    if raw is None or raw.get("TableStatus") != "ACTIVE":
        return False
    for gsi in raw.get("GlobalSecondaryIndexes") or []:
        if gsi["IndexName"] == gone_index or gsi.get("IndexStatus", "ACTIVE") != "ACTIVE":
            return False
    return True


def wait_for_active(
    client: Client,
    table: Table | str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    sleep: Sleep = time.sleep,
) -> None:
    """Wait until the table and every global index are ACTIVE (TableError on timeout)."""
    name = _name(table)
    waiter = _waiter(timeout, poll_interval, sleep)
    waiter.until(
        f"table {name!r} to become ACTIVE", lambda: _is_active(_raw_describe(client, name))
    )


# ---------------------------------------------------------------------------------- requests


def _name(table: Table | Mapping[Any] | str) -> str:
    if isinstance(table, Mapping):
        return table.table.name
    return table if isinstance(table, str) else table.name


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return schema


def _projection(projection: Projection, where: str) -> dict[str, Any]:
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


def _throughput(billing: Billing) -> dict[str, int]:
    assert isinstance(billing, Provisioned)
    return {"ReadCapacityUnits": billing.read, "WriteCapacityUnits": billing.write}


def _gsi_request(table: Table, index: GlobalIndex, billing: Billing) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "IndexName": index.name,
        "KeySchema": _key_schema(index.partition_key, index.sort_key),
        "Projection": _projection(index.projection, f"{table.name}.{index.name}"),
    }
    if isinstance(billing, Provisioned):
        spec["ProvisionedThroughput"] = _throughput(billing)
    return spec


def _lsi_request(table: Table, index: LocalIndex) -> dict[str, Any]:
    return {
        "IndexName": index.name,
        "KeySchema": _key_schema(table.partition_key, index.sort_key),
        "Projection": _projection(index.projection, f"{table.name}.{index.name}"),
    }


def _check_declaration(table: Table) -> None:
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
    _check_declaration(table)
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
        request["ProvisionedThroughput"] = _throughput(billing)
    else:
        request["BillingMode"] = "PAY_PER_REQUEST"
    gsis = [
        _gsi_request(table, i, billing)
        for i in table.indexes.values()
        if isinstance(i, GlobalIndex)
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


# ---------------------------------------------------------------------------------- lifecycle


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
    log.info("table_create", table=table.name, billing=request["BillingMode"])
    if not wait:
        return
    wait_for_active(client, table, timeout=timeout, poll_interval=poll_interval, sleep=sleep)
    if table.ttl_attribute:
        _set_ttl(client, table.name, table.ttl_attribute, enabled=True)


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
    name = _name(table)
    try:
        client.delete_table(TableName=name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise
    log.info("table_delete", table=name)
    if wait:
        waiter = _waiter(timeout, poll_interval, sleep)
        waiter.until(f"table {name!r} to be deleted", lambda: _raw_describe(client, name) is None)
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
    if _raw_describe(client, table.name) is None:
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
        status, attribute = _live_ttl(client, table.name)
        if status not in ("ENABLED", "ENABLING") or attribute != table.ttl_attribute:
            if status in ("ENABLED", "ENABLING"):
                raise TableError(
                    f"table {table.name!r} has TTL on {attribute!r}, declared "
                    f"{table.ttl_attribute!r}; run update_table (CLI: `tables update`) to switch it"
                )
            _set_ttl(client, table.name, table.ttl_attribute, enabled=True)
    return describe_table(client, table)


def _set_ttl(client: Client, name: str, attribute: str, *, enabled: bool) -> None:
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": enabled, "AttributeName": attribute}
    )
    log.info("table_ttl", table=name, attribute=attribute, enabled=enabled)


def _live_ttl(client: Client, name: str) -> tuple[str, str | None]:
    description = client.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
    return description.get("TimeToLiveStatus", "DISABLED"), description.get("AttributeName")


def describe_table(client: Client, table: Table | str) -> TableDescription:
    """A typed summary of the live table (TableError when it does not exist)."""
    name = _name(table)
    raw = _raw_describe(client, name)
    if raw is None:
        raise TableError(
            f"table {name!r} does not exist; create it with ensure_table "
            "(CLI: `python -m persistence tables ensure MODULE`)"
        )
    ttl_status, ttl_attribute = _live_ttl(client, name)
    pk, sk = _keys_of(raw["KeySchema"])
    throughput = raw.get("ProvisionedThroughput") or {}
    billing = _live_billing_mode(raw)
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
        indexes=tuple(_describe_index(i, kind) for i, kind in _live_index_specs(raw)),
        ttl_attribute=ttl_attribute if ttl_status in ("ENABLED", "ENABLING") else None,
        ttl_status=ttl_status,
        stream=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        arn=raw.get("TableArn"),
    )


def _describe_index(spec: dict[str, Any], kind: Literal["global", "local"]) -> IndexDescription:
    pk, sk = _keys_of(spec["KeySchema"])
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


def _keys_of(schema: Sequence[MappingABC[str, str]]) -> tuple[str, str | None]:
    pk = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    sk = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return pk, sk


def _live_index_specs(
    raw: MappingABC[str, Any],
) -> Iterator[tuple[dict[str, Any], Literal["global", "local"]]]:
    for spec in raw.get("GlobalSecondaryIndexes") or []:
        yield spec, "global"
    for spec in raw.get("LocalSecondaryIndexes") or []:
        yield spec, "local"


def _live_billing_mode(raw: MappingABC[str, Any]) -> str:
    # Tables created before on-demand existed carry no BillingModeSummary: they are provisioned.
    return str((raw.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"))


def _live_billing(raw: MappingABC[str, Any]) -> Billing:
    if _live_billing_mode(raw) == "PAY_PER_REQUEST":
        return OnDemand()
    throughput = raw.get("ProvisionedThroughput") or {}
    return Provisioned(
        max(int(throughput.get("ReadCapacityUnits", 1)), 1),
        max(int(throughput.get("WriteCapacityUnits", 1)), 1),
    )


# ---------------------------------------------------------------------------------- diff


@dataclass(frozen=True)
class _Shape:
    """The comparable part of a table key or an index: keys, their types, projection."""

    partition_key: str
    sort_key: str | None
    types: tuple[tuple[str, str], ...]
    projection: tuple[str, tuple[str, ...]] = ("ALL", ())

    def describe(self) -> str:
        keys = ", ".join(f"{a}:{t}" for a, t in self.types)
        kind, names = self.projection
        projected = f"INCLUDE {list(names)}" if kind == "INCLUDE" else kind
        return f"keys ({keys}), projection {projected}"


def _declared_shape(table: Table, index: Index | None, types: MappingABC[str, str]) -> _Shape:
    pk, sk = table.index_keys(index.name if index else None)
    key_types = tuple((a, types[a]) for a in (pk, sk) if a)
    if index is None:
        return _Shape(pk, sk, key_types)
    spec = _projection(index.projection, f"{table.name}.{index.name}")
    names = tuple(sorted(spec.get("NonKeyAttributes", ())))
    return _Shape(pk, sk, key_types, (spec["ProjectionType"], names))


def _live_shape(spec: MappingABC[str, Any], types: MappingABC[str, str]) -> _Shape:
    pk, sk = _keys_of(spec["KeySchema"])
    key_types = tuple((a, types.get(a, "?")) for a in (pk, sk) if a)
    projection = spec.get("Projection")
    if projection is None:
        return _Shape(pk, sk, key_types)
    names = tuple(sorted(projection.get("NonKeyAttributes", ())))
    return _Shape(pk, sk, key_types, (projection.get("ProjectionType", "ALL"), names))


def diff_table(client: Client, table: Table, *, billing: Billing | None = None) -> TableDiff:
    """Compare the declared table with the live one.

    Billing is compared only when `billing` is given (the Table does not declare it). Changes
    come in the order `update_table` applies them: removals first, then billing, then additions.
    """
    _check_declaration(table)
    raw = _raw_describe(client, table.name)
    if raw is None:
        return TableDiff(table.name, (Change("create_table", f"create table {table.name!r}"),))
    declared_types: dict[str, str] = dict(table.attribute_types())
    live_types = {
        d["AttributeName"]: d["AttributeType"] for d in raw.get("AttributeDefinitions", [])
    }
    changes: list[Change] = []
    changes += _key_changes(table, raw, declared_types, live_types)
    changes += _local_index_changes(table, raw, declared_types, live_types)
    removals, additions = _global_index_changes(table, raw, declared_types, live_types)
    changes += removals
    changes += _billing_changes(table, raw, billing)
    changes += additions
    changes += _ttl_changes(client, table)
    return TableDiff(table.name, tuple(changes))


def _recreate(table: Table, what: str) -> Change:
    return Change(
        "recreate_table",
        f"{what}: DynamoDB cannot change this in place; the table must be recreated "
        f"(create a new table and copy_table the items, or replace it through CloudFormation)",
        in_place=False,
    )


def _key_changes(
    table: Table, raw: MappingABC[str, Any], declared: dict[str, str], live: dict[str, str]
) -> list[Change]:
    want = _declared_shape(table, None, declared)
    have = _live_shape(raw, live)
    if want == have:
        return []
    return [_recreate(table, f"table key is {have.describe()}, declared {want.describe()}")]


def _local_index_changes(
    table: Table, raw: MappingABC[str, Any], declared: dict[str, str], live: dict[str, str]
) -> list[Change]:
    want = {
        n: _declared_shape(table, i, declared)
        for n, i in table.indexes.items()
        if isinstance(i, LocalIndex)
    }
    have = {s["IndexName"]: _live_shape(s, live) for s in raw.get("LocalSecondaryIndexes") or []}
    changes = []
    for name in sorted(want.keys() | have.keys()):
        if want.get(name) == have.get(name):
            continue
        if name not in have:
            what = f"local index {name!r} is missing"
        elif name not in want:
            what = f"local index {name!r} exists but is not declared"
        else:
            what = (
                f"local index {name!r} is {have[name].describe()}, declared {want[name].describe()}"
            )
        changes.append(_recreate(table, what))
    return changes


def _global_index_changes(
    table: Table, raw: MappingABC[str, Any], declared: dict[str, str], live: dict[str, str]
) -> tuple[list[Change], list[Change]]:
    want = {
        n: _declared_shape(table, i, declared)
        for n, i in table.indexes.items()
        if isinstance(i, GlobalIndex)
    }
    have = {s["IndexName"]: _live_shape(s, live) for s in raw.get("GlobalSecondaryIndexes") or []}
    removals: list[Change] = []
    additions: list[Change] = []
    for name in sorted(have.keys() - want.keys()):
        removals.append(
            Change("remove_index", f"remove global index {name!r}", index=name, destructive=True)
        )
    for name in sorted(want.keys() - have.keys()):
        additions.append(
            Change("add_index", f"add global index {name!r} ({want[name].describe()})", index=name)
        )
    for name in sorted(want.keys() & have.keys()):
        if want[name] != have[name]:
            removals.append(
                Change(
                    "replace_index",
                    f"global index {name!r} is {have[name].describe()}, declared "
                    f"{want[name].describe()}: it will be deleted and rebuilt "
                    "(unavailable meanwhile)",
                    index=name,
                    destructive=True,
                )
            )
    return removals, additions


def _billing_changes(
    table: Table, raw: MappingABC[str, Any], billing: Billing | None
) -> list[Change]:
    if billing is None:
        return []
    live = _live_billing(raw)
    if live == billing:
        return []
    return [
        Change("billing", f"billing is {_billing_text(live)}, declared {_billing_text(billing)}")
    ]


def _billing_text(billing: Billing) -> str:
    if isinstance(billing, Provisioned):
        return f"PROVISIONED (read {billing.read}, write {billing.write})"
    return "PAY_PER_REQUEST"


def _ttl_changes(client: Client, table: Table) -> list[Change]:
    status, attribute = _live_ttl(client, table.name)
    enabled = status in ("ENABLED", "ENABLING")
    want = table.ttl_attribute
    if want is None and not enabled:
        return []
    if want is not None and enabled and attribute == want:
        return []
    if want is None:
        text = f"disable TTL on {attribute!r} (the table declares no ttl_attribute)"
    elif enabled:
        text = (
            f"switch TTL from {attribute!r} to {want!r} (AWS allows one TTL change per hour: "
            "the second step may need a rerun)"
        )
    else:
        text = f"enable TTL on {want!r}"
    return [Change("ttl", text, destructive=enabled)]


# ---------------------------------------------------------------------------------- update


def update_table(
    client: Client,
    table: Table,
    *,
    billing: Billing | None = None,
    prune: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    sleep: Sleep = time.sleep,
) -> TableDiff:
    """Apply `diff_table`: one UpdateTable per index create/delete (DynamoDB's rule), waiting
    for each to finish before the next; `timeout` bounds each wait.

    With `prune=False` only additive changes are made (missing table, missing indexes, enabling
    TTL): nothing another running version of the code may still read is removed or rebuilt.
    Returns the diff that was applied.
    """
    diff = diff_table(client, table, billing=billing)
    if diff.errors:
        reasons = "; ".join(c.description for c in diff.errors)
        raise TableError(f"table {table.name!r} cannot be updated in place: {reasons}")
    waiter = _waiter(timeout, poll_interval, sleep)
    applied: list[Change] = []
    for change in diff.changes:
        if change.destructive and not prune:
            log.warning("table_change_skipped", table=table.name, change=change.description)
            continue
        _apply(client, table, change, billing, waiter)
        applied.append(change)
    return TableDiff(table.name, tuple(applied))


def _apply(
    client: Client, table: Table, change: Change, billing: Billing | None, waiter: _Waiter
) -> None:
    log.info("table_update", table=table.name, kind=change.kind, change=change.description)
    if change.kind == "create_table":
        create_table(
            client,
            table,
            billing,
            timeout=waiter.timeout,
            poll_interval=waiter.interval,
            sleep=waiter.sleep,
        )
    elif change.kind == "remove_index":
        assert change.index is not None
        _delete_index(client, table, change.index, waiter)
    elif change.kind == "replace_index":
        assert change.index is not None
        _delete_index(client, table, change.index, waiter)
        _create_index(client, table, change.index, billing, waiter)
    elif change.kind == "add_index":
        assert change.index is not None
        _create_index(client, table, change.index, billing, waiter)
    elif change.kind == "billing":
        assert billing is not None
        _update_billing(client, table, billing, waiter)
    elif change.kind == "ttl":
        _update_ttl(client, table)


def _require_active(client: Client, table: Table) -> dict[str, Any]:
    raw = _raw_describe(client, table.name)
    if raw is None:
        raise TableError(f"table {table.name!r} disappeared during the update")
    return raw


def _update_call(
    client: Client,
    table: Table,
    waiter: _Waiter,
    what: str,
    gone_index: str | None = None,
    **kw: Any,
) -> None:
    # While a table is UPDATING DynamoDB refuses the next UpdateTable: wait before and after.
    name = table.name
    waiter.until(
        f"table {name!r} to be ACTIVE before {what}",
        lambda: _is_active(_raw_describe(client, name)),
    )
    client.update_table(TableName=name, **kw)
    waiter.until(
        f"{what} on table {name!r}", lambda: _is_active(_raw_describe(client, name), gone_index)
    )


def _delete_index(client: Client, table: Table, index: str, waiter: _Waiter) -> None:
    _update_call(
        client,
        table,
        waiter,
        f"deleting global index {index!r}",
        gone_index=index,
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}],
    )


def _create_index(
    client: Client, table: Table, index_name: str, billing: Billing | None, waiter: _Waiter
) -> None:
    index = table.indexes[index_name]
    assert isinstance(index, GlobalIndex)
    raw = _require_active(client, table)
    spec = _gsi_request(table, index, billing or _live_billing(raw))
    _update_call(
        client,
        table,
        waiter,
        f"creating global index {index_name!r}",
        AttributeDefinitions=_definitions_after_create(table, raw, index),
        GlobalSecondaryIndexUpdates=[{"Create": spec}],
    )


def _definitions_after_create(
    table: Table, raw: MappingABC[str, Any], index: GlobalIndex
) -> list[dict[str, str]]:
    # Every attribute a key of the table or of an index uses, with its live type, plus the new
    # index's keys: DynamoDB wants the new ones, and some servers replace the whole list.
    live = {d["AttributeName"]: d["AttributeType"] for d in raw.get("AttributeDefinitions", [])}
    declared = table.attribute_types()
    used: dict[str, str] = {}
    specs = [raw, *(s for s, _ in _live_index_specs(raw))]
    for spec in specs:
        for key in spec["KeySchema"]:
            used[key["AttributeName"]] = live.get(key["AttributeName"], "S")
    for attr in (index.partition_key, index.sort_key):
        if attr:
            used[attr] = declared[attr]
    return [{"AttributeName": a, "AttributeType": t} for a, t in used.items()]


def _update_billing(client: Client, table: Table, billing: Billing, waiter: _Waiter) -> None:
    if isinstance(billing, OnDemand):
        _update_call(client, table, waiter, "switching billing", BillingMode="PAY_PER_REQUEST")
        return
    raw = _require_active(client, table)
    gsi_updates = [
        {"Update": {"IndexName": s["IndexName"], "ProvisionedThroughput": _throughput(billing)}}
        for s in raw.get("GlobalSecondaryIndexes") or []
    ]
    extra: dict[str, Any] = {"GlobalSecondaryIndexUpdates": gsi_updates} if gsi_updates else {}
    _update_call(
        client,
        table,
        waiter,
        "switching billing",
        BillingMode="PROVISIONED",
        ProvisionedThroughput=_throughput(billing),
        **extra,
    )


def _update_ttl(client: Client, table: Table) -> None:
    status, attribute = _live_ttl(client, table.name)
    if status in ("ENABLED", "ENABLING") and attribute and attribute != table.ttl_attribute:
        _set_ttl(client, table.name, attribute, enabled=False)
    if table.ttl_attribute:
        try:
            _set_ttl(client, table.name, table.ttl_attribute, enabled=True)
        except ClientError as error:
            raise TableError(
                f"TTL on table {table.name!r} could not be switched to {table.ttl_attribute!r} "
                f"({error}); AWS allows one TTL change per hour: rerun update later"
            ) from error


def auto_migrate(
    client: Client,
    *mappings: Mapping[Any] | Table,
    billing: Billing | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    sleep: Sleep = time.sleep,
) -> list[TableDiff]:
    """Make sure every table and index the mappings need exists (ensure + additive update).

    Never removes or rebuilds anything (`prune=False`): an older version of the application
    may still be running against the same table. Returns what was applied, per table.
    """
    timing: dict[str, Any] = {"timeout": timeout, "poll_interval": poll_interval, "sleep": sleep}
    applied = []
    for table in tables_of(mappings):
        ensure_table(client, table, billing, **timing)
        applied.append(update_table(client, table, prune=False, **timing))
    return applied


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


def migrate(*_args: Any, **_kwargs: Any) -> None:
    """Versioned schema migrations are not this library's job; see the error message."""
    raise TableError(
        "persistence does not run versioned schema migrations: a table's schema belongs to "
        "infrastructure-as-code. Export it with to_cloudformation(*tables) or "
        "`python -m persistence tables cloudformation MODULE`, and use ensure_table/update_table "
        "(or auto_migrate) only for development and tests"
    )


# ---------------------------------------------------------------------------------- copy


TransformRaw = Callable[[Item], Item | None]


class TerminalProgress:
    """A one-line progress bar on a terminal stream (stderr by default).

    The library never prints on its own: pass this as `copy_table(progress=...)`; the CLI does
    so when stderr is a terminal.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width

    def __call__(self, p: CopyProgress) -> None:
        finished = p.segments_done == p.segments
        total = p.estimated_total  # DescribeTable's ItemCount: refreshed every few hours only
        if total:
            ratio = 1.0 if finished else min(p.scanned / total, 1.0)
            filled = int(ratio * self.width)
            count = f"[{'#' * filled}{'-' * (self.width - filled)}] {p.scanned}/~{total} scanned"
        else:
            count = f"{p.scanned} scanned"
        self.stream.write(
            f"\r{p.source} -> {p.target} {count}, {p.written} written "
            f"({p.segments_done}/{p.segments} segments done)"
        )
        if finished:
            self.stream.write("\n")
        self.stream.flush()


def terminal_progress() -> TerminalProgress | None:
    """A TerminalProgress when stderr is a terminal, else None (no bar in logs and pipes)."""
    return TerminalProgress() if sys.stderr.isatty() else None


@dataclass
class _SegmentState:
    last_key: dict[str, Any] | None = None
    done: bool = False
    scanned: int = 0
    written: int = 0
    skipped: int = 0


class _Checkpoint:
    """Each segment's LastEvaluatedKey and done flag in a JSON file, rewritten atomically after
    every page, so a rerun resumes where the last complete page ended."""

    VERSION = 1

    def __init__(self, path: Path | None, source: str, target: str, segments: int) -> None:
        self.path, self.source, self.target = path, source, target
        self.segments = [_SegmentState() for _ in range(segments)]
        self.resumed = False
        self.lock = threading.Lock()
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise TableError(
                f"checkpoint {path} is unreadable ({error}); delete it to start over"
            ) from error
        expected = (self.VERSION, self.source, self.target, len(self.segments))
        found = (
            data.get("version"),
            data.get("source"),
            data.get("target"),
            len(data.get("segments", [])),
        )
        if found != expected:
            raise TableError(
                f"checkpoint {path} belongs to another copy (version, source, target, segments = "
                f"{found}, this copy is {expected}); use the same options or another file"
            )
        for state, saved in zip(self.segments, data["segments"], strict=True):
            state.last_key = _key_from_json(saved.get("last_evaluated_key"))
            state.done = bool(saved.get("done"))
            state.scanned = int(saved.get("scanned", 0))
            state.written = int(saved.get("written", 0))
            state.skipped = int(saved.get("skipped", 0))
        self.resumed = True

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "version": self.VERSION,
            "source": self.source,
            "target": self.target,
            "segments": [
                {
                    "segment": n,
                    "last_evaluated_key": _key_to_json(s.last_key),
                    "done": s.done,
                    "scanned": s.scanned,
                    "written": s.written,
                    "skipped": s.skipped,
                }
                for n, s in enumerate(self.segments)
            ],
        }
        # Write then rename: a crash mid-write must not leave a half checkpoint behind.
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
        os.replace(tmp, self.path)

    def totals(self) -> tuple[int, int, int, int]:
        scanned = sum(s.scanned for s in self.segments)
        written = sum(s.written for s in self.segments)
        skipped = sum(s.skipped for s in self.segments)
        return scanned, written, skipped, sum(s.done for s in self.segments)


def _key_to_json(key: MappingABC[str, Any] | None) -> dict[str, Any] | None:
    # Binary key values arrive as bytes; DynamoDB JSON writes them base64, and so do we.
    if key is None:
        return None
    out: dict[str, Any] = {}
    for attr, wire in key.items():
        kind, value = next(iter(wire.items()))
        out[attr] = {kind: base64.b64encode(value).decode() if kind == "B" else value}
    return out


def _key_from_json(key: MappingABC[str, Any] | None) -> dict[str, Any] | None:
    if key is None:
        return None
    out: dict[str, Any] = {}
    for attr, wire in key.items():
        kind, value = next(iter(wire.items()))
        out[attr] = {kind: base64.b64decode(value) if kind == "B" else value}
    return out


@dataclass
class _Copy:
    client: Client
    source: str
    target: str
    target_keys: tuple[str, ...]
    transform: TransformRaw | None
    checkpoint: _Checkpoint
    page_size: int | None
    progress: Callable[[CopyProgress], None] | None
    estimated_total: int | None
    backoff: Backoff
    stop: threading.Event = field(default_factory=threading.Event)
    reported: bool = False

    def run_segment(self, segment: int) -> None:
        state = self.checkpoint.segments[segment]
        while not state.done and not self.stop.is_set():
            request: dict[str, Any] = {
                "TableName": self.source,
                "Segment": segment,
                "TotalSegments": len(self.checkpoint.segments),
            }
            if state.last_key:
                request["ExclusiveStartKey"] = state.last_key
            if self.page_size:
                request["Limit"] = self.page_size
            page = self.client.scan(**request)
            items = page.get("Items", [])
            out = [t for t in map(self._transform, items) if t is not None]
            for chunk in _chunks(out, self.target_keys):
                write_batch(self.client, self.target, chunk, backoff=self.backoff)
            self._record(state, page.get("LastEvaluatedKey"), len(items), len(out))

    def _transform(self, item: Item) -> Item | None:
        return item if self.transform is None else self.transform(item)

    def _record(self, state: _SegmentState, last_key: Any, scanned: int, written: int) -> None:
        with self.checkpoint.lock:
            state.last_key = last_key
            state.done = last_key is None
            state.scanned += scanned
            state.written += written
            state.skipped += scanned - written
            self.checkpoint.save()
            self.report()

    def report(self) -> None:
        self.reported = True
        if self.progress is None:
            return
        scanned, written, skipped, done = self.checkpoint.totals()
        self.progress(
            CopyProgress(
                self.source,
                self.target,
                scanned,
                written,
                skipped,
                done,
                len(self.checkpoint.segments),
                self.estimated_total,
            )
        )


def _chunks(items: Sequence[Item], key_attrs: tuple[str, ...]) -> Iterator[list[Item]]:
    # BatchWriteItem refuses two requests for one key in a call; a transform may produce that,
    # so a repeated key starts a new chunk and the later item still wins.
    chunk: list[Item] = []
    keys: set[str] = set()
    for item in items:
        key = json.dumps([item.get(a) for a in key_attrs], sort_keys=True, default=repr)
        if len(chunk) == BATCH_WRITE_LIMIT or key in keys:
            yield chunk
            chunk, keys = [], set()
        chunk.append(item)
        keys.add(key)
    if chunk:
        yield chunk


def write_batch(
    client: Client, table: str, items: Sequence[Item], *, backoff: Backoff | None = None
) -> None:
    """Put up to 25 raw items with one BatchWriteItem, retrying UnprocessedItems with bounded
    exponential backoff and full jitter; BatchIncomplete lists what still failed."""
    if len(items) > BATCH_WRITE_LIMIT:
        raise ValidationError(
            f"BatchWriteItem takes at most {BATCH_WRITE_LIMIT} items, got {len(items)}"
        )
    backoff = backoff or Backoff()
    requests: list[dict[str, Any]] = [{"PutRequest": {"Item": item}} for item in items]
    for attempt in range(backoff.attempts + 1):
        response = client.batch_write_item(RequestItems={table: requests})
        requests = (response.get("UnprocessedItems") or {}).get(table, [])
        if not requests:
            return
        if attempt < backoff.attempts:
            backoff.wait(attempt)
    raise BatchIncomplete(
        f"{len(requests)} of {len(items)} item(s) were still unprocessed by BatchWriteItem on "
        f"{table!r} after {backoff.attempts} retries: the table is throttled; raise its write "
        "capacity and rerun (a copy with a checkpoint resumes)",
        requests,
    )


def copy_table(
    client: Client,
    source: Table | Mapping[Any] | str,
    target: Table | Mapping[Any] | str,
    transform: Callable[[Any], Any] | None = None,
    segments: int = 4,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: Callable[[CopyProgress], None] | None = None,
    *,
    page_size: int | None = None,
    backoff: Backoff | None = None,
) -> CopyResult:
    """Copy every item of `source` into the existing table `target` with a parallel scan.

    `transform` receives a raw wire item and returns one, or None to skip it. When both source
    and target are Mappings, it receives and returns aggregates instead (from_item/to_item);
    items of other types in a shared table are copied unchanged. With `checkpoint` (a JSON file)
    a rerun after a failure resumes each segment after its last complete page.
    """
    if segments < 1:
        raise ValidationError("segments must be at least 1")
    source_name, target_name = _name(source), _name(target)
    if source_name == target_name:
        raise ValidationError(f"cannot copy table {source_name!r} onto itself")
    source_raw = _raw_describe(client, source_name)
    target_raw = _raw_describe(client, target_name)
    for name, raw in ((source_name, source_raw), (target_name, target_raw)):
        if raw is None:
            raise TableError(f"table {name!r} does not exist; create it first (ensure_table)")
    assert source_raw is not None and target_raw is not None
    state = _Checkpoint(
        Path(checkpoint) if checkpoint else None, source_name, target_name, segments
    )
    job = _Copy(
        client=client,
        source=source_name,
        target=target_name,
        target_keys=tuple(k["AttributeName"] for k in target_raw["KeySchema"]),
        transform=_raw_transform(source, target, transform),
        checkpoint=state,
        page_size=page_size,
        progress=progress,
        estimated_total=source_raw.get("ItemCount"),
        backoff=backoff or Backoff(),
    )
    log.info("table_copy_start", source=source_name, target=target_name, resumed=state.resumed)
    _run_segments(job, segments)
    scanned, written, skipped, _ = state.totals()
    if not job.reported:  # everything was done by an earlier run: still show the final state
        job.report()
    count = count_items(client, target_name)
    if count < written:
        raise TableError(
            f"copy {source_name!r} -> {target_name!r} wrote {written} items but the target holds "
            f"{count}: some writes were lost or the transform gave several items the same key"
        )
    log.info("table_copy_done", source=source_name, target=target_name, written=written)
    return CopyResult(source_name, target_name, scanned, written, skipped, count, state.resumed)


def _run_segments(job: _Copy, segments: int) -> None:
    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix="copy") as pool:
        futures = [pool.submit(job.run_segment, n) for n in range(segments)]
        try:
            wait_futures(futures, return_when=FIRST_EXCEPTION)
        finally:
            # On a failure (or Ctrl-C) the other segments stop after their current page, so
            # the checkpoint records exactly what was written.
            job.stop.set()
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error


def _raw_transform(
    source: Table | Mapping[Any] | str,
    target: Table | Mapping[Any] | str,
    transform: Callable[[Any], Any] | None,
) -> TransformRaw | None:
    if transform is None or not (isinstance(source, Mapping) and isinstance(target, Mapping)):
        return transform
    src, dst, change = source, target, transform

    def over_aggregates(item: Item) -> Item | None:
        if not src.is_type(item):
            return item
        result = change(src.from_item(item))
        return None if result is None else dst.to_item(result)

    return over_aggregates


def count_items(client: Client, table: Table | str) -> int:
    """Exact item count (a consistent Scan with Select=COUNT), unlike DescribeTable's estimate."""
    request: dict[str, Any] = {"TableName": _name(table), "Select": "COUNT", "ConsistentRead": True}
    total = 0
    while True:
        page = client.scan(**request)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def is_empty(client: Client, table: Table | str) -> bool:
    page = client.scan(TableName=_name(table), Limit=1, Select="COUNT")
    return int(page.get("Count", 0)) == 0 and "LastEvaluatedKey" not in page


def renamed(table: Table, name: str) -> Table:
    """A Table with the same schema under another name (a copy target), key types frozen."""
    return Table(
        name,
        table.partition_key,
        table.sort_key,
        indexes=list(table.indexes.values()),
        ttl_attribute=table.ttl_attribute,
        type_attribute=table.type_attribute,
        attribute_types=table.attribute_types(),
    )


# ---------------------------------------------------------------------------------- CloudFormation


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


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})


def to_yaml(value: Any) -> str:
    """A small block-style YAML emitter for JSON-shaped data (dicts, lists, scalars)."""
    return "\n".join(_yaml_lines(value, 0)) + "\n"


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict) and value:
        for key, item in value.items():
            if _is_block(item):
                lines.append(f"{pad}{_yaml_scalar(str(key))}:")
                lines.extend(_yaml_lines(item, indent + 2))
            else:
                lines.append(f"{pad}{_yaml_scalar(str(key))}: {_yaml_scalar(item)}")
        return lines
    if isinstance(value, list) and value:
        for item in value:
            if _is_block(item):
                nested = _yaml_lines(item, indent + 2)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
        return lines
    return [pad + _yaml_scalar(value)]


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(text, ensure_ascii=False)


__all__ = [
    "STREAM_VIEWS",
    "Billing",
    "Change",
    "CopyProgress",
    "CopyResult",
    "IndexDescription",
    "KmsEncryption",
    "OnDemand",
    "Provisioned",
    "TableDescription",
    "TableDiff",
    "TerminalProgress",
    "auto_migrate",
    "copy_table",
    "count_items",
    "create_table",
    "create_table_request",
    "delete_table",
    "describe_table",
    "diff_table",
    "ensure_table",
    "is_empty",
    "migrate",
    "renamed",
    "tables_of",
    "terminal_progress",
    "to_cloudformation",
    "to_yaml",
    "update_table",
    "wait_for_active",
    "write_batch",
]
