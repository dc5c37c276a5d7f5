"""Apply update clauses to a wire item the way DynamoDB's UpdateExpression does."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from ... import numbers
from ...errors import ValidationError
from ...model.marshal import Item, Wire
from ...query.specification import Path, path_text, resolve
from ..actions import AddValue, Clause, DeleteFromSet, ListAppend, Remove, SetIfNotExists, SetValue


def apply_clauses(item: Item, clauses: list[Clause]) -> Item:
    """The item after one UpdateExpression; raises ValidationError where DynamoDB refuses it.

    DynamoDB resolves every path of an update against the item as it was before the update
    (the paths cannot overlap, so only list indexes can be affected by the order): `REMOVE l[0],
    l[1], l[2]` on [1, 2, 3, 4, 5] leaves [4, 5], and `SET l[1] = :v REMOVE l[0]` replaces the
    original second element. So element removals run last (highest index first), after the other
    clauses, and SETs past the end of a list append in index order, as the developer guide says
    ("the elements are sorted in order by element number"). A path under a missing parent, or
    through a value of the wrong type, is refused for REMOVE as for SET ("The document path
    provided in the update expression is invalid for update"); REMOVE of a missing map key or of
    an index past the end of an existing list changes nothing.
    """
    out = copy.deepcopy(item)
    removals: list[Path] = []
    appends: list[tuple[Path, Wire]] = []
    for clause in clauses:
        if isinstance(clause, Remove) and isinstance(clause.path[-1], int):
            _container(out, clause.path)  # the list must exist and be a list
            removals.append(clause.path)
        elif isinstance(clause, SetValue | SetIfNotExists) and _past_the_end(out, clause.path):
            appends.append((clause.path, clause.value))
        elif isinstance(clause, SetValue):
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
    # Removals against the original indexes: highest first, so no removal shifts another.
    for path in sorted(removals, key=lambda p: p[-1], reverse=True):
        holder = _container(out, path)
        index = path[-1]
        assert isinstance(index, int)
        if index < len(holder):
            del holder[index]
    for path, value in sorted(appends, key=lambda a: a[0][-1]):
        _container(out, path).append(copy.deepcopy(value))
    return out


def _past_the_end(item: Item, path: Path) -> bool:
    """A SET of a list element beyond the list's end (DynamoDB appends it)."""
    last = path[-1]
    return isinstance(last, int) and last >= len(_container(item, path))


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
            raise ValidationError(
                f"the document path {path_text(path)} is invalid for update: "
                f"{path_text(path[:-1])} is not a list"
            )
        return parent["L"]
    if "M" not in parent:
        raise ValidationError(
            f"the document path {path_text(path)} is invalid for update: "
            f"{path_text(path[:-1])} is not a map"
        )
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
    """REMOVE of a map key or top-level attribute (list elements are removed by apply_clauses).
    A missing parent is an error, as on DynamoDB; a missing key is not."""
    holder = _container(item, path)
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
