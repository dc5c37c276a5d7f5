"""Typed errors for refused writes: a cancelled transaction's reasons (or a single write's failed
condition) mapped back to the aggregates through each action's Meaning."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backends.actions import Action, Put
from ..backends.base import ConditionalCheckFailed, RawReason
from ..errors import (
    AlreadyExists,
    CancellationReason,
    ConcurrencyConflict,
    ConditionFailed,
    NotFound,
    PersistenceError,
    TransactionCanceled,
    ValidationError,
)
from ..model.keyid import key_id
from ..runtime.retry import RETRYABLE_REASONS
from .diff import wire_int


def check_unique_items(actions: Sequence[Action]) -> None:
    seen: dict[tuple[str, tuple[Any, ...]], Action] = {}
    for action in actions:
        key = action.item if isinstance(action, Put) and not action.key else action.key
        if isinstance(action, Put) and action.key:
            key = action.key
        ident = (action.table, key_id(key))
        if ident in seen:
            raise ValidationError(
                f"one commit writes the same item of table {action.table!r} twice "
                f"({action.meaning.aggregate_type} {action.meaning.key}); DynamoDB allows one "
                "action per item in a transaction"
            )
        seen[ident] = action


def error_for(actions: Sequence[Action], raw: Sequence[RawReason]) -> PersistenceError:
    reasons = [
        CancellationReason(
            r.code, r.message, a.meaning.aggregate_type, a.meaning.key, a.meaning.kind, r.item
        )
        for a, r in zip(actions, raw, strict=False)
    ]
    failed = [
        (a, r) for a, r in zip(actions, reasons, strict=False) if r.code == "ConditionalCheckFailed"
    ]
    for action, why in failed:
        m = action.meaning
        if m.version_attribute is not None and m.expected_version is not None:
            stored = wire_int((why.item or {}).get(m.version_attribute))
            if stored != m.expected_version:
                return ConcurrencyConflict(
                    m.aggregate_type or "?",
                    m.key,
                    expected_version=m.expected_version,
                    stored_version=stored,
                    reasons=reasons,
                )
    for action, why in failed:
        m = action.meaning
        if m.kind == "add":
            return AlreadyExists(m.aggregate_type or "?", m.key, reasons=reasons)
        if m.kind in ("update", "delete", "soft_delete") and why.item is None:
            return ConcurrencyConflict(
                m.aggregate_type or "?",
                m.key,
                expected_version=m.expected_version,
                stored_version=None,
                reasons=reasons,
            )
        if m.kind == "increment" and why.item is None:
            return NotFound(m.aggregate_type or "?", m.key)
    if failed:
        action, reason = failed[0]
        return ConditionFailed(
            f"condition failed for {reason}",
            aggregate_type=action.meaning.aggregate_type,
            key=action.meaning.key,
            reasons=reasons,
        )
    # Conflicts with another transaction and throttling pass with time; nothing else does.
    failing = [r.code for r in reasons if r.code != "None"]
    retryable = bool(failing) and all(code in RETRYABLE_REASONS for code in failing)
    return TransactionCanceled(reasons, retryable=retryable)


def raise_for_single(action: Action, failure: ConditionalCheckFailed) -> PersistenceError:
    """The same typed error for a single-item write as for a transaction."""
    return error_for([action], [RawReason("ConditionalCheckFailed", None, failure.item)])
