"""The unit of work: one business operation, one atomic TransactWriteItems.

It remembers what its repositories loaded (identity map + the wire item as snapshot), computes the
smallest write per aggregate at commit (Put for new ones with attribute_not_exists, UpdateItem with
only the changed attributes, Delete or a soft delete), adds optimistic version conditions and
counter ADDs, and sends everything in one request. Events are handed out only after success.
The engine is `BaseUnitOfWork` (base.py); this module adds the repositories. Lifecycle: adr/0011.
"""

from __future__ import annotations

from typing import Any, TypeVar

from ..query.cursor import CursorSigner
from .base import BaseUnitOfWork
from .repository import UnitOfWorkRepository

T = TypeVar("T")


class UnitOfWork(BaseUnitOfWork):
    """Backend-agnostic unit of work; use InMemoryUnitOfWork or DynamoDBUnitOfWork.

    Each `with uow:` block is a fresh unit of work (empty identity map), so one object serves
    handler after handler; use one per thread. Leaving the block without `commit()` discards
    every change. A commit that fails once sending began makes the block refuse any further use
    with UnitOfWorkStateError until the block ends.

    Args:
        backend: the store (`DynamoDBBackend`, `InMemoryStore`).
        mappings: the mappings of the aggregate types this unit of work handles.
        cursor_secret: the secret (or secrets, newest first) page cursors are encrypted with.
        outbox: an `Outbox`: the events of each commit are written in the same transaction.
        clock: returns the current time (created_at, updated_at, soft delete stamps).
        retry_policy: how commit retries transient failures with the same request token.
    """

    def _reset(self) -> None:
        super()._reset()
        self._repositories: dict[type, UnitOfWorkRepository[Any]] = {}

    def repository(self, aggregate_type: type[T]) -> UnitOfWorkRepository[T]:
        """The repository of `aggregate_type` in this block: what it loads joins the identity
        map, and its `add` / `remove` are written by `commit`. It refuses immediate writes
        (`put`, `save`, `delete`...) with ValidationError.

        Raises:
            UnitOfWorkStateError: outside a `with` block, or after a failed commit in it.
            ValidationError: no mapping for `aggregate_type`.
        """
        self._require_usable(f"repository({aggregate_type.__name__})")
        repo = self._repositories.get(aggregate_type)
        if repo is None:
            if self._signer is None:
                self._signer = CursorSigner(self._cursor_secret)
            repo = UnitOfWorkRepository(
                self.backend, self.mapping(aggregate_type), self.identity_map, signer=self._signer
            )
            self._repositories[aggregate_type] = repo
        return repo
