"""Backend-neutral write actions: what a commit (or a direct write) asks a backend to do.

The DynamoDB backend compiles them into expressions; the in-memory store applies them directly.
Each action carries its Meaning so a cancellation reason can be mapped back to its aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..model.marshal import Item, Wire
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


@dataclass
class Put:
    table: str
    item: Item
    condition: Spec | None
    meaning: Meaning
    key: dict[str, Wire] = field(default_factory=dict)


@dataclass
class Update:
    table: str
    key: dict[str, Wire]
    clauses: list[Clause]
    condition: Spec | None
    meaning: Meaning


@dataclass
class Delete:
    table: str
    key: dict[str, Wire]
    condition: Spec | None
    meaning: Meaning


@dataclass
class Check:
    table: str
    key: dict[str, Wire]
    condition: Spec
    meaning: Meaning


Action = Put | Update | Delete | Check


def action_key(action: Action) -> dict[str, Wire]:
    return action.key
