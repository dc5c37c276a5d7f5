"""The smallest write for a loaded aggregate: what changed between its snapshot and its item
(SET/REMOVE clauses, counter deltas as ADD), computed in the one 38-digit Decimal context."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import numbers
from ..backends.actions import AddValue, Clause, Remove, SetValue
from ..errors import ValidationError
from ..model.mapping import Mapping
from ..model.marshal import Item, Wire
from ..query.specification import wire_equal


def check_key_unchanged(mapping: Mapping[Any], snapshot: Item, item: Item) -> None:
    for attr_name in mapping.table.key_attributes():
        old = snapshot.get(attr_name)
        if old is not None and not wire_equal(old, item[attr_name]):
            raise ValidationError(
                f"{mapping.name}: a field of the primary key changed ({attr_name!r}); a different "
                "key is a different item: remove the aggregate and add a new one"
            )


def diff(mapping: Mapping[Any], snapshot: Item, item: Item) -> tuple[list[Clause], list[Clause]]:
    counters = set(mapping.counters)
    keys = set(mapping.table.key_attributes())
    clauses: list[Clause] = []
    counter_clauses: list[Clause] = []
    for name, value in item.items():
        if name in keys:
            continue
        old = snapshot.get(name)
        if name in counters:
            before = Decimal(old["N"]) if old and "N" in old else Decimal(0)
            delta = numbers.sub(
                Decimal(value["N"]), before, f"{mapping.name}.{name}: the counter's change"
            )
            if delta:
                counter_clauses.append(AddValue((name,), {"N": plain_number(delta)}))
            continue
        if old is None or not wire_equal(old, value):
            clauses.append(SetValue((name,), value))
    stored = mapping.stored_attributes()
    for name in snapshot:
        if name in stored and name not in item and name not in keys:
            if name in counters:
                old_n = snapshot[name].get("N")
                if old_n is not None and Decimal(old_n):
                    counter_clauses.append(
                        AddValue((name,), {"N": plain_number(numbers.neg(Decimal(old_n)))})
                    )
                continue
            clauses.append(Remove((name,)))
    return clauses, counter_clauses


def plain_number(value: Decimal) -> str:
    return numbers.plain(value)


def counter_sum(mapping: Mapping[Any], name: str, value: Any, delta: Decimal | str) -> Decimal:
    # What DynamoDB's ADD will store, computed as exactly as DynamoDB does: a sum it would refuse
    # is refused here, before anything is sent.
    return numbers.add(Decimal(value), Decimal(delta), f"{mapping.name}.{name}: the counter")


def like(original: Any, value: Decimal) -> Any:
    return int(value) if isinstance(original, int) and value == int(value) else value


def wire_int(wire: Wire | None) -> int | None:
    if wire is None or "N" not in wire:
        return None
    return int(Decimal(wire["N"]))
