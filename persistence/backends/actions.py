"""Backend-neutral write actions: what a commit (or a direct write) asks a backend to do.

The DynamoDB backend compiles them into expressions; the in-memory store applies them directly.
Each action carries its Meaning so a cancellation reason can be mapped back to its aggregate.
Actions are frozen (`records.frozen`, cheap to define at import): once built, an action is what
is sent (the commit planner makes a new one with `dataclasses.replace` rather than editing it);
their `item` / `key` dicts and `clauses` lists are not copied, so whoever builds an action hands
them over and no one edits them later.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import field
from typing import Any, Literal

from ..model.marshal import Item, Wire
from ..query.expressions import ExpressionBuilder, check_expression_size
from ..query.specification import Path, Spec
from ..records import frozen

Kind = Literal["add", "update", "delete", "soft_delete", "check", "increment", "put", "outbox"]


@frozen
class Meaning:
    aggregate_type: str | None
    key: dict[str, Any]
    kind: Kind
    expected_version: int | None = None
    version_attribute: str | None = None

    def __init__(
        self,
        aggregate_type: str | None,
        key: dict[str, Any],
        kind: Kind,
        expected_version: int | None = None,
        version_attribute: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "aggregate_type", aggregate_type)
        set_(self, "key", key)
        set_(self, "kind", kind)
        set_(self, "expected_version", expected_version)
        set_(self, "version_attribute", version_attribute)


@frozen
class SetValue:
    path: Path
    value: Wire

    def __init__(self, path: Path, value: Wire) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "value", value)


@frozen
class SetIfNotExists:
    path: Path
    value: Wire

    def __init__(self, path: Path, value: Wire) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "value", value)


@frozen
class ListAppend:
    path: Path
    values: Wire  # an L value
    prepend: bool = False

    def __init__(self, path: Path, values: Wire, prepend: bool = False) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "prepend", prepend)


@frozen
class Remove:
    path: Path

    def __init__(self, path: Path) -> None:
        object.__setattr__(self, "path", path)


@frozen
class AddValue:
    """ADD: a number delta, or members added to a set (creates the attribute when missing)."""

    path: Path
    value: Wire

    def __init__(self, path: Path, value: Wire) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "value", value)


@frozen
class DeleteFromSet:
    path: Path
    value: Wire

    def __init__(self, path: Path, value: Wire) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "value", value)


Clause = SetValue | SetIfNotExists | ListAppend | Remove | AddValue | DeleteFromSet


@frozen
class Put:
    table: str
    item: Item
    condition: Spec | None
    meaning: Meaning
    key: dict[str, Wire] = field(default_factory=dict)

    def __init__(
        self,
        table: str,
        item: Item,
        condition: Spec | None,
        meaning: Meaning,
        key: dict[str, Wire] | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "table", table)
        set_(self, "item", item)
        set_(self, "condition", condition)
        set_(self, "meaning", meaning)
        set_(self, "key", {} if key is None else key)


@frozen
class Update:
    table: str
    key: dict[str, Wire]
    clauses: list[Clause]
    condition: Spec | None
    meaning: Meaning

    def __init__(
        self,
        table: str,
        key: dict[str, Wire],
        clauses: list[Clause],
        condition: Spec | None,
        meaning: Meaning,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "table", table)
        set_(self, "key", key)
        set_(self, "clauses", clauses)
        set_(self, "condition", condition)
        set_(self, "meaning", meaning)


@frozen
class Delete:
    table: str
    key: dict[str, Wire]
    condition: Spec | None
    meaning: Meaning

    def __init__(
        self, table: str, key: dict[str, Wire], condition: Spec | None, meaning: Meaning
    ) -> None:
        set_ = object.__setattr__
        set_(self, "table", table)
        set_(self, "key", key)
        set_(self, "condition", condition)
        set_(self, "meaning", meaning)


@frozen
class Check:
    table: str
    key: dict[str, Wire]
    condition: Spec
    meaning: Meaning

    def __init__(self, table: str, key: dict[str, Wire], condition: Spec, meaning: Meaning) -> None:
        set_ = object.__setattr__
        set_(self, "table", table)
        set_(self, "key", key)
        set_(self, "condition", condition)
        set_(self, "meaning", meaning)


Action = Put | Update | Delete | Check


def action_key(action: Action) -> dict[str, Wire]:
    return action.key


def update_expression(builder: ExpressionBuilder, clauses: Iterable[Clause]) -> str:
    """The UpdateExpression of `clauses`, names and values placed in `builder`."""
    sets: list[str] = []
    removes: list[str] = []
    adds: list[str] = []
    deletes: list[str] = []
    for clause in clauses:
        if isinstance(clause, SetValue):
            sets.append(f"{builder.path(clause.path)} = {builder.value(clause.value)}")
        elif isinstance(clause, SetIfNotExists):
            p = builder.path(clause.path)
            sets.append(f"{p} = if_not_exists({p}, {builder.value(clause.value)})")
        elif isinstance(clause, ListAppend):
            p = builder.path(clause.path)
            empty = builder.value({"L": []})
            current = f"if_not_exists({p}, {empty})"
            new = builder.value(clause.values)
            pair = f"{new}, {current}" if clause.prepend else f"{current}, {new}"
            sets.append(f"{p} = list_append({pair})")
        elif isinstance(clause, Remove):
            removes.append(builder.path(clause.path))
        elif isinstance(clause, AddValue):
            adds.append(f"{builder.path(clause.path)} {builder.value(clause.value)}")
        elif isinstance(clause, DeleteFromSet):
            deletes.append(f"{builder.path(clause.path)} {builder.value(clause.value)}")
    sections = []
    for keyword, parts in (
        ("SET", sets),
        ("REMOVE", removes),
        ("ADD", adds),
        ("DELETE", deletes),
    ):
        if parts:
            sections.append(f"{keyword} " + ", ".join(parts))
    return " ".join(sections)


def write_expressions(builder: ExpressionBuilder, action: Action) -> dict[str, str]:
    """The UpdateExpression and ConditionExpression of `action` (those it has), compiled with
    `builder` and each held to DynamoDB's 4 KB limit for one expression (ValidationError).

    The one place this rule is applied: the DynamoDB backend sends what it returns, and the
    in-memory store and the update builder call `check_write_expressions`, so both backends
    refuse the same action with the same message."""
    out: dict[str, str] = {}
    if isinstance(action, Update):
        out["UpdateExpression"] = check_expression_size(
            update_expression(builder, action.clauses), "update expression"
        )
    if action.condition is not None:
        out["ConditionExpression"] = check_expression_size(
            builder.condition(action.condition), "condition expression"
        )
    return out


def check_write_expressions(action: Action) -> None:
    """Refuse `action` (ValidationError) where one of its expressions is over 4 KB
    (`write_expressions`), for callers that never send the expressions themselves."""
    write_expressions(ExpressionBuilder(), action)


def updated_attributes(item: Item | None, clauses: Iterable[Clause]) -> Item:
    """What ReturnValues UPDATED_OLD / UPDATED_NEW return from `item` (the item before or
    after the update): only the top-level attributes the update's clauses name, those present.

    The one place this rule lives: the in-memory store answers with it, DynamoDB does it
    itself, and the update builder converts what the backend returned without filtering again."""
    touched = {str(c.path[0]) for c in clauses}
    return {k: copy.deepcopy(v) for k, v in (item or {}).items() if k in touched}
