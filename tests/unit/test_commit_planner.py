"""The commit planner (persistence/session/commit_planner.py): pure, one action per item."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from persistence.backends.actions import AddValue, Put, Update
from persistence.errors import ValidationError
from persistence.query.specification import NotExists, attr
from persistence.session.commit_planner import (
    PendingCheck,
    PendingIncrement,
    PlannedWrite,
    plan_commit,
)
from persistence.session.identity_map import IdentityMap, identity_of
from persistence.testing.models import ACCOUNTS, Account

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
RICH = attr("balance") >= Decimal(10)


def _shown(value: object) -> str:
    """Specs overload `==` to build conditions, so they compare by identity: compare reprs."""
    return repr(value)


def _loaded(identity_map: IdentityMap, account: Account) -> Account:
    """`account` as if read from the store (its wire item tracked as the snapshot)."""
    item = ACCOUNTS.to_item(account)
    loaded: Account = identity_map.track(ACCOUNTS, item)
    return loaded


def _key(account_id: str) -> dict[str, dict[str, str]]:
    return ACCOUNTS.key_from_fields({"account_id": account_id})


def _increment(account_id: str, by: int) -> dict[tuple[type, tuple[object, ...]], PendingIncrement]:
    key = _key(account_id)
    return {identity_of(ACCOUNTS, key): PendingIncrement(ACCOUNTS, key, {"deposits": Decimal(by)})}


def _plan(
    identity_map: IdentityMap,
    increments: dict[tuple[type, tuple[object, ...]], PendingIncrement] | None = None,
    checks: list[PendingCheck] | None = None,
) -> list[PlannedWrite]:
    return plan_commit(identity_map, increments or {}, checks or [], [], None, NOW)


def _state(identity_map: IdentityMap) -> list[tuple[object, ...]]:
    return [
        (e.state, copy.deepcopy(e.snapshot), dataclasses.asdict(e.aggregate)) for e in identity_map
    ]


def test_planning_is_pure_twice_the_same_actions_and_the_map_unchanged() -> None:
    identity_map = IdentityMap()
    account = _loaded(identity_map, Account("a1", "ann", Decimal(50), version=3))
    account.nickname = "changed"
    identity_map.register_new(ACCOUNTS, Account("a2", "bob"))
    increments = _increment("a1", 2)
    checks = [PendingCheck(ACCOUNTS, _key("a1"), RICH)]
    before = _state(identity_map)

    first = _plan(identity_map, increments, checks)
    second = _plan(identity_map, increments, checks)

    assert _shown([p.action for p in first]) == _shown([p.action for p in second])
    assert [(p.assign, p.new_snapshot) for p in first] == [
        (p.assign, p.new_snapshot) for p in second
    ]
    assert _state(identity_map) == before
    assert increments[identity_of(ACCOUNTS, _key("a1"))].deltas == {"deposits": Decimal(2)}


def test_a_check_and_an_increment_on_an_updated_item_give_one_action() -> None:
    identity_map = IdentityMap()
    account = _loaded(identity_map, Account("a1", "ann", Decimal(50), deposits=1, version=3))
    account.nickname = "changed"

    planned = _plan(identity_map, _increment("a1", 2), [PendingCheck(ACCOUNTS, _key("a1"), RICH)])

    assert len(planned) == 1
    action = planned[0].action
    assert isinstance(action, Update)
    assert _shown(action.condition) == _shown((attr("version") == 3) & RICH)
    assert AddValue(("deposits",), {"N": "2"}) in action.clauses
    assert planned[0].assign["deposits"] == 3  # the object gets the counter after the commit
    assert planned[0].new_snapshot is not None
    assert planned[0].new_snapshot["deposits"] == {"N": "3"}


def test_a_check_and_an_increment_on_a_new_item_go_into_its_put() -> None:
    identity_map = IdentityMap()
    identity_map.register_new(ACCOUNTS, Account("a1", "ann", deposits=1))

    planned = _plan(identity_map, _increment("a1", 4), [PendingCheck(ACCOUNTS, _key("a1"), RICH)])

    assert len(planned) == 1
    action = planned[0].action
    assert isinstance(action, Put)
    assert action.item["deposits"] == {"N": "5"}
    assert _shown(action.condition) == _shown(NotExists((ACCOUNTS.table.partition_key,)) & RICH)


def test_an_increment_of_a_removed_item_is_refused_and_nothing_changes() -> None:
    identity_map = IdentityMap()
    account = _loaded(identity_map, Account("a1", "ann"))
    identity_map.register_removed(ACCOUNTS, account)
    before = _state(identity_map)

    with pytest.raises(ValidationError, match="increment\\(\\) and remove\\(\\)"):
        _plan(identity_map, _increment("a1", 1))
    assert _state(identity_map) == before


def test_planned_actions_are_immutable() -> None:
    identity_map = IdentityMap()
    identity_map.register_new(ACCOUNTS, Account("a1", "ann"))
    (planned,) = _plan(identity_map)
    with pytest.raises(dataclasses.FrozenInstanceError):
        planned.action.condition = None  # type: ignore[misc]
