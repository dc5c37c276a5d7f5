"""Applying a diff to the live table: `update_table`, `auto_migrate`, and `migrate` (refused)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping as MappingABC
from typing import Any

from botocore.exceptions import ClientError

from ..errors import TableError
from ..model.mapping import GlobalIndex, Mapping, Table
from .diff import Change, TableDiff, diff_table
from .lifecycle import create_table, ensure_table, set_ttl
from .live import live_billing, live_index_specs, live_ttl, raw_describe
from .schema import Billing, Client, OnDemand, gsi_request, tables_of, throughput_request
from .waiting import DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT, Sleep, Waiter, is_active, new_waiter

log = logging.getLogger(__name__)


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
    waiter = new_waiter(timeout, poll_interval, sleep)
    applied: list[Change] = []
    for change in diff.changes:
        if change.destructive and not prune:
            log.warning(
                "table_change_skipped", extra={"table": table.name, "change": change.description}
            )
            continue
        _apply(client, table, change, billing, waiter)
        applied.append(change)
    return TableDiff(table.name, tuple(applied))


def _apply(
    client: Client, table: Table, change: Change, billing: Billing | None, waiter: Waiter
) -> None:
    log.info(
        "table_update",
        extra={"table": table.name, "kind": change.kind, "change": change.description},
    )
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
    raw = raw_describe(client, table.name)
    if raw is None:
        raise TableError(f"table {table.name!r} disappeared during the update")
    return raw


def _update_call(
    client: Client,
    table: Table,
    waiter: Waiter,
    what: str,
    gone_index: str | None = None,
    **kw: Any,
) -> None:
    # While a table is UPDATING DynamoDB refuses the next UpdateTable: wait before and after.
    name = table.name
    waiter.until(
        f"table {name!r} to be ACTIVE before {what}",
        lambda: is_active(raw_describe(client, name)),
    )
    client.update_table(TableName=name, **kw)
    waiter.until(
        f"{what} on table {name!r}", lambda: is_active(raw_describe(client, name), gone_index)
    )


def _delete_index(client: Client, table: Table, index: str, waiter: Waiter) -> None:
    _update_call(
        client,
        table,
        waiter,
        f"deleting global index {index!r}",
        gone_index=index,
        GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}],
    )


def _create_index(
    client: Client, table: Table, index_name: str, billing: Billing | None, waiter: Waiter
) -> None:
    index = table.indexes[index_name]
    assert isinstance(index, GlobalIndex)
    raw = _require_active(client, table)
    spec = gsi_request(table, index, billing or live_billing(raw))
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
    specs = [raw, *(s for s, _ in live_index_specs(raw))]
    for spec in specs:
        for key in spec["KeySchema"]:
            used[key["AttributeName"]] = live.get(key["AttributeName"], "S")
    for attr in (index.partition_key, index.sort_key):
        if attr:
            used[attr] = declared[attr]
    return [{"AttributeName": a, "AttributeType": t} for a, t in used.items()]


def _update_billing(client: Client, table: Table, billing: Billing, waiter: Waiter) -> None:
    if isinstance(billing, OnDemand):
        _update_call(client, table, waiter, "switching billing", BillingMode="PAY_PER_REQUEST")
        return
    raw = _require_active(client, table)
    gsi_updates = [
        {
            "Update": {
                "IndexName": s["IndexName"],
                "ProvisionedThroughput": throughput_request(billing),
            }
        }
        for s in raw.get("GlobalSecondaryIndexes") or []
    ]
    extra: dict[str, Any] = {"GlobalSecondaryIndexUpdates": gsi_updates} if gsi_updates else {}
    _update_call(
        client,
        table,
        waiter,
        "switching billing",
        BillingMode="PROVISIONED",
        ProvisionedThroughput=throughput_request(billing),
        **extra,
    )


def _update_ttl(client: Client, table: Table) -> None:
    status, attribute = live_ttl(client, table.name)
    if status in ("ENABLED", "ENABLING") and attribute and attribute != table.ttl_attribute:
        set_ttl(client, table.name, attribute, enabled=False)
    if table.ttl_attribute:
        try:
            set_ttl(client, table.name, table.ttl_attribute, enabled=True)
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


def migrate(*_args: Any, **_kwargs: Any) -> None:
    """Versioned schema migrations are not this library's job; see the error message."""
    raise TableError(
        "persistence does not run versioned schema migrations: a table's schema belongs to "
        "infrastructure-as-code. Export it with to_cloudformation(*tables) or "
        "`python -m persistence tables cloudformation MODULE`, and use ensure_table/update_table "
        "(or auto_migrate) only for development and tests"
    )
