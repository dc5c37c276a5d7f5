"""Backend-neutral write actions: what a commit (or a direct write) asks a backend to do.

The DynamoDB backend compiles them into expressions; the in-memory store applies them directly.
Each action carries its Meaning so a cancellation reason can be mapped back to its aggregate.
Actions are frozen: once built, an action is what is sent (the commit planner makes a new one
with `dataclasses.replace` rather than editing it); their `item` / `key` dicts and `clauses`
lists are not copied, so whoever builds an action hands them over and no one edits them later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..model.marshal import Item, Wire
from ..query.expressions import ExpressionBuilder
from ..query.specification import Path, Spec

Kind = Literal["add", "update", "delete", "soft_delete", "check", "increment", "put", "outbox"]


@dataclass(frozen=True)
class Meaning:
    aggregate_type: str | None
    key: dict[str, Any]
    kind: Kind
    expected_version: int | None = None
    version_attribute: str | None = None


@dataclass(frozen=True)
class SetValue:
    path: Path
    value: Wire


@dataclass(frozen=True)
class SetIfNotExists:
    path: Path
    value: Wire


@dataclass(frozen=True)
class ListAppend:
    path: Path
    values: Wire  # an L value
    prepend: bool = False


@dataclass(frozen=True)
class Remove:
    path: Path


@dataclass(frozen=True)
class AddValue:
    """ADD: a number delta, or members added to a set (creates the attribute when missing)."""

    path: Path
    value: Wire


@dataclass(frozen=True)
class DeleteFromSet:
    path: Path
    value: Wire


Clause = SetValue | SetIfNotExists | ListAppend | Remove | AddValue | DeleteFromSet


@dataclass(frozen=True)
class Put:
    table: str
    item: Item
    condition: Spec | None
    meaning: Meaning
    key: dict[str, Wire] = field(default_factory=dict)


@dataclass(frozen=True)
class Update:
    table: str
    key: dict[str, Wire]
    clauses: list[Clause]
    condition: Spec | None
    meaning: Meaning


@dataclass(frozen=True)
class Delete:
    table: str
    key: dict[str, Wire]
    condition: Spec | None
    meaning: Meaning


@dataclass(frozen=True)
class Check:
    table: str
    key: dict[str, Wire]
    condition: Spec
    meaning: Meaning


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
