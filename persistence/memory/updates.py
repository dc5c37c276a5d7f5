"""Apply update clauses to a wire item the way DynamoDB's UpdateExpression does."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from .. import numbers
from ..actions import AddValue, Clause, DeleteFromSet, ListAppend, Remove, SetIfNotExists, SetValue
from ..errors import ValidationError
from ..marshal import Item, Wire
from ..specification import Path, path_text, resolve


def apply_clauses(item: Item, clauses: list[Clause]) -> Item:
    out = copy.deepcopy(item)
    for clause in clauses:
        if isinstance(clause, SetValue):
            _set(out, clause.path, copy.deepcopy(clause.value))
        elif isinstance(clause, SetIfNotExists):
            if resolve(out, clause.path) is None:
                _set(out, clause.path, copy.deepcopy(clause.value))
        elif isinstance(clause, ListAppend):
            current = resolve(out, clause.path) or {"L": []}
            if "L" not in current:
                raise ValidationError(
                    f"list_append on {path_text(clause.path)}, which is not a list"
                )
            new = list(clause.values["L"])
            merged = new + current["L"] if clause.prepend else current["L"] + new
            _set(out, clause.path, {"L": copy.deepcopy(merged)})
        elif isinstance(clause, Remove):
            _remove(out, clause.path)
        elif isinstance(clause, AddValue):
            _set(out, clause.path, _add(resolve(out, clause.path), clause.value, clause.path))
        elif isinstance(clause, DeleteFromSet):
            existing = resolve(out, clause.path)
            if existing is None:
                continue
            remaining = _set_difference(existing, clause.value, clause.path)
            if remaining is None:
                _remove(out, clause.path)
            else:
                _set(out, clause.path, remaining)
    return out


def _container(item: Item, path: Path) -> Any:
    """The map dict or list that holds the last element of `path`."""
    if len(path) == 1:
        return item
    parent = resolve(item, path[:-1])
    if parent is None:
        raise ValidationError(
            f"the document path {path_text(path)} is invalid for update: "
            f"{path_text(path[:-1])} does not exist"
        )
    last = path[-1]
    if isinstance(last, int):
        if "L" not in parent:
            raise ValidationError(f"{path_text(path[:-1])} is not a list")
        return parent["L"]
    if "M" not in parent:
        raise ValidationError(f"{path_text(path[:-1])} is not a map")
    return parent["M"]


def _set(item: Item, path: Path, value: Wire) -> None:
    holder = _container(item, path)
    last = path[-1]
    if isinstance(last, int):
        if last >= len(holder):
            holder.append(value)  # DynamoDB appends when the index is past the end
        else:
            holder[last] = value
    else:
        holder[last] = value


def _remove(item: Item, path: Path) -> None:
    try:
        holder = _container(item, path)
    except ValidationError:
        return
    last = path[-1]
    if isinstance(last, int):
        if last < len(holder):
            del holder[last]
    else:
        holder.pop(last, None)


def _add(current: Wire | None, delta: Wire, path: Path) -> Wire:
    tag = next(iter(delta))
    if tag == "N":
        if current is None:
            return dict(delta)
        if "N" not in current:
            raise ValidationError(f"ADD a number to {path_text(path)}, which is not a number")
        total = numbers.add(
            Decimal(current["N"]), Decimal(delta["N"]), f"ADD to {path_text(path)}:"
        )
        return {"N": numbers.plain(total)}
    if tag in ("SS", "NS", "BS"):
        if current is None:
            return dict(delta)
        if tag not in current:
            raise ValidationError(f"ADD members of another type to the set {path_text(path)}")
        members = list(current[tag])
        for m in delta[tag]:
            if not any(_member_equal(tag, m, x) for x in members):
                members.append(m)
        return {tag: members}
    raise ValidationError(f"ADD works on numbers and sets, not {tag} ({path_text(path)})")


def _set_difference(current: Wire, delta: Wire, path: Path) -> Wire | None:
    tag = next(iter(delta))
    if tag not in current:
        raise ValidationError(f"DELETE members of another type from the set {path_text(path)}")
    remaining = [x for x in current[tag] if not any(_member_equal(tag, x, m) for m in delta[tag])]
    return {tag: remaining} if remaining else None


def _member_equal(tag: str, a: Any, b: Any) -> bool:
    if tag == "NS":
        return Decimal(a) == Decimal(b)
    return bool(a == b)
