"""Comparing a declared table with the live one: `diff_table` and its Change/TableDiff results."""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from typing import Any, Literal

from ..model.mapping import GlobalIndex, Index, LocalIndex, Table
from .live import keys_of, live_billing, live_ttl, raw_describe
from .schema import Billing, Client, Provisioned, check_declaration, projection_request

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
    """What differs between a declared `Table` and the live table (`diff_table`): one
    `Change` per difference, each either applicable in place (`update_table`) or not.
    """

    table: str
    changes: tuple[Change, ...]

    @property
    def in_sync(self) -> bool:
        """True when the live table matches the declaration."""
        return not self.changes

    @property
    def errors(self) -> tuple[Change, ...]:
        """Changes that cannot be applied in place."""
        return tuple(c for c in self.changes if not c.in_place)

    @property
    def needs_recreate(self) -> bool:
        """True when some change cannot be applied in place (see `errors`): copy to a new table."""
        return bool(self.errors)


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
    spec = projection_request(index.projection, f"{table.name}.{index.name}")
    names = tuple(sorted(spec.get("NonKeyAttributes", ())))
    return _Shape(pk, sk, key_types, (spec["ProjectionType"], names))


def _live_shape(spec: MappingABC[str, Any], types: MappingABC[str, str]) -> _Shape:
    pk, sk = keys_of(spec["KeySchema"])
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
    check_declaration(table)
    raw = raw_describe(client, table.name)
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
    live = live_billing(raw)
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
    status, attribute = live_ttl(client, table.name)
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
