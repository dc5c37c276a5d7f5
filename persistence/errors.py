"""The exception tree. Everything the library raises on purpose derives from PersistenceError.

AWS errors outside this vocabulary pass through unchanged as botocore ClientError.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .records import frozen


class PersistenceError(Exception):
    """Base class of every error the library raises on purpose."""


class ValidationError(PersistenceError, ValueError):
    """Input that DynamoDB would refuse (or that cannot mean anything); nothing was written."""


class NotFound(PersistenceError, LookupError):
    """No aggregate is stored under the given key."""

    def __init__(self, aggregate_type: str, key: Mapping[str, Any]) -> None:
        self.aggregate_type = aggregate_type
        self.key = dict(key)
        super().__init__(f"{aggregate_type} {self.key} not found")


@frozen
class CancellationReason:
    """Why one action of a transaction was cancelled, mapped back to its aggregate."""

    code: str
    message: str | None
    aggregate_type: str | None
    key: Mapping[str, Any] | None
    action: str
    item: Mapping[str, Any] | None = None

    def __init__(
        self,
        code: str,
        message: str | None,
        aggregate_type: str | None,
        key: Mapping[str, Any] | None,
        action: str,
        item: Mapping[str, Any] | None = None,
    ) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "aggregate_type", aggregate_type)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "action", action)
        object.__setattr__(self, "item", item)

    def __str__(self) -> str:
        where = f"{self.aggregate_type} {dict(self.key or {})}" if self.aggregate_type else "?"
        text = f"{self.action} {where}: {self.code}"
        return f"{text} ({self.message})" if self.message else text


class ConditionFailed(PersistenceError):
    """A user condition or a ConditionCheck did not hold."""

    def __init__(
        self,
        message: str,
        *,
        aggregate_type: str | None = None,
        key: Mapping[str, Any] | None = None,
        reasons: Sequence[CancellationReason] = (),
    ) -> None:
        self.aggregate_type = aggregate_type
        self.key = dict(key) if key is not None else None
        self.reasons = list(reasons)
        super().__init__(message)


class ConcurrencyConflict(ConditionFailed):
    """The stored version is not the one that was loaded: somebody else wrote first."""

    def __init__(
        self,
        aggregate_type: str,
        key: Mapping[str, Any],
        *,
        expected_version: int | None,
        stored_version: int | None,
        reasons: Sequence[CancellationReason] = (),
    ) -> None:
        self.expected_version = expected_version
        self.stored_version = stored_version
        if stored_version is None:
            detail = "the item is no longer stored"
        else:
            detail = f"stored version is {stored_version}"
        message = (
            f"{aggregate_type} {dict(key)} was changed concurrently: loaded version "
            f"{expected_version}, {detail}; reload and retry the unit of work"
        )
        super().__init__(message, aggregate_type=aggregate_type, key=key, reasons=reasons)


class AlreadyExists(ConditionFailed):
    """An aggregate was added under a key that is already stored."""

    def __init__(
        self,
        aggregate_type: str,
        key: Mapping[str, Any],
        *,
        reasons: Sequence[CancellationReason] = (),
    ) -> None:
        super().__init__(
            f"{aggregate_type} {dict(key)} already exists",
            aggregate_type=aggregate_type,
            key=key,
            reasons=reasons,
        )


class TransactionTooLarge(PersistenceError):
    """A commit would need more actions (or bytes) than one TransactWriteItems allows."""


class TransactionCanceled(PersistenceError):
    """DynamoDB cancelled the transaction for a reason other than a failed condition."""

    def __init__(self, reasons: Sequence[CancellationReason], *, retryable: bool = False) -> None:
        self.reasons = list(reasons)
        self.retryable = retryable
        failing = [r for r in self.reasons if r.code not in ("None", "")]
        detail = "; ".join(str(r) for r in failing) or "no reason given"
        super().__init__(f"transaction cancelled: {detail}")


class UnitOfWorkStateError(PersistenceError, RuntimeError):
    """A unit of work used where its lifecycle does not allow it: outside its `with` block, in a
    block whose commit failed, or entered again while its block is open. Nothing was written;
    the message says which, and the remedy is always a new `with uow:` block.

    `state` is the lifecycle state met: "closed" (outside a block), "failed" (a commit of this
    block raised), or "open"/"committed" (a nested `with` on an open block).
    """

    def __init__(self, message: str, *, state: str) -> None:
        self.state = state
        super().__init__(message)


class InvalidCursor(PersistenceError, ValueError):
    """A cursor that was tampered with, truncated, signed by an unknown key, or from another
    query."""


class BatchIncomplete(PersistenceError):
    """A batch could not do all it was asked after its last retry; nothing was silently dropped.

    `unprocessed` lists exactly what was not done, as the caller's own objects and in the order
    given: the aggregates for `put_many`, the key dicts for `delete_many` and `get_many`, the raw
    items for `persistence.tables.write_batch`. Everything else was written (read, for
    `get_many`, which then returns nothing). When the batch stopped on an error (throttling, 5xx
    or a connection error that outlasted the retries, or a final error once part of the batch
    was written) that error is chained as `__cause__`; without one, DynamoDB kept returning
    the listed requests as unprocessed.
    """

    def __init__(self, message: str, unprocessed: Sequence[Any]) -> None:
        self.unprocessed = list(unprocessed)
        super().__init__(message)


class TableError(PersistenceError):
    """A table operation failed or cannot be done (timeout, incompatible schema, missing table)."""


__all__ = [
    "AlreadyExists",
    "BatchIncomplete",
    "CancellationReason",
    "ConcurrencyConflict",
    "ConditionFailed",
    "InvalidCursor",
    "NotFound",
    "PersistenceError",
    "TableError",
    "TransactionCanceled",
    "TransactionTooLarge",
    "UnitOfWorkStateError",
    "ValidationError",
]
