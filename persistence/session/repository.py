"""Repositories: collection-like access to one aggregate type, on any backend.

Reads (`RepositoryReader`, reader.py) compile a Specification into the cheapest read. Two kinds
of repository add the writes:

- `Repository` stands alone: each write goes out at once, `add` / `remove` being each their own
  one-action commit with the same conditions and errors as a unit of work's; `put`, `save`,
  `delete`, `update(...).execute()` and the batches write directly.
- `UnitOfWorkRepository` is the one `uow.repository(T)` hands out: what it loads goes through the
  unit of work's identity map, `add` / `remove` are recorded for the commit, and the immediate
  writes are refused (they would escape the transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Mapping as MappingABC
from typing import Any, NoReturn, TypeVar

from ..backends.base import Backend
from ..errors import ValidationError
from ..model.mapping import Mapping
from ..query.cursor import CursorSigner
from ..query.specification import Spec
from ..runtime.retry import Backoff
from ..runtime.steps import Steps, run_sync
from ..write.batch import Progress, delete_all_steps, put_all_steps
from ..write.single import assign_stored, delete_action, put_action, save_action, write_one_steps
from ..write.update import UpdateBuilder
from .base import UnitOfWorkCore
from .identity_map import IdentityMap
from .reader import Page, ReaderCore, RepositoryReader

__all__ = ["Page", "Repository", "RepositoryCore", "RepositoryReader", "UnitOfWorkRepository"]

T = TypeVar("T")


class RepositoryCore(ReaderCore[T]):
    """The writes of a standalone repository without their transport (adr/0020), as steps
    (`runtime.steps`): `Repository` drives them with blocking calls, `persistence.aio` awaits
    them. The reads come from `ReaderCore`.
    """

    def _add_steps(self, aggregate: T) -> Steps[None]:
        uow = self._one_write()
        try:
            uow.identity_map.register_new(self.mapping, aggregate)
            yield from uow._commit_steps()
        finally:
            uow._exit()

    def _remove_steps(self, aggregate: T) -> Steps[None]:
        uow = self._one_write()
        try:
            uow.identity_map.adopt(self.mapping, aggregate)
            uow.identity_map.register_removed(self.mapping, aggregate)
            yield from uow._commit_steps()
        finally:
            uow._exit()

    def _one_write(self) -> UnitOfWorkCore:
        uow = UnitOfWorkCore(self._registrar, [self.mapping])
        uow._enter()
        return uow

    def _put_steps(self, aggregate: T, condition: Spec | None) -> Steps[None]:
        action, _ = put_action(self.mapping, aggregate, condition)
        stored = yield from write_one_steps(action, "ALL_NEW")
        assign_stored(self.mapping, aggregate, stored, self._managed_fields())

    def _delete_steps(self, condition: Spec | None, key: dict[str, Any]) -> Steps[bool]:
        action = delete_action(self.mapping, key, condition)
        return (yield from write_one_steps(action, "ALL_OLD")) is not None

    def _save_steps(self, aggregate: T) -> Steps[None]:
        action, _ = save_action(self.mapping, aggregate)
        stored = yield from write_one_steps(action, "ALL_NEW")
        assign_stored(self.mapping, aggregate, stored, self._managed_fields())

    def _put_many_steps(self, aggregates: Iterable[T], progress: Progress | None) -> Steps[None]:
        return put_all_steps(self.mapping, aggregates, backoff=self._backoff, progress=progress)

    def _delete_many_steps(
        self, keys: Iterable[MappingABC[str, Any]], progress: Progress | None
    ) -> Steps[None]:
        return delete_all_steps(self.mapping, keys, backoff=self._backoff, progress=progress)

    def _managed_fields(self) -> list[str]:
        m = self.mapping
        return [n for n in (m.created_at, m.updated_at, m.version) if n is not None]


class Repository(RepositoryReader[T], RepositoryCore[T]):
    """Collection-like access to the aggregates of one mapping, on any backend.

    Built directly (or as `DynamoDBRepository` / `InMemoryRepository`), it stands outside any
    unit of work: each write goes out at once. `uow.repository(Account)` hands out a
    `UnitOfWorkRepository` instead, whose reads go through the unit of work's identity map and
    whose `add` / `remove` are written by its commit.

    Args:
        backend: the store to read and write (`DynamoDBBackend`, `InMemoryStore`).
        mapping: how the aggregate type is stored.
        cursor_secret: the secret (or secrets, newest first) cursors are encrypted with;
            see `CursorSigner`.
        signer: a `CursorSigner` to use instead of one built from `cursor_secret`.
        backoff: how batch reads and writes wait between attempts.
    """

    def __init__(
        self,
        backend: Backend,
        mapping: Mapping[T],
        *,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        signer: CursorSigner | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(
            backend, mapping, cursor_secret=cursor_secret, signer=signer, backoff=backoff
        )

    # ------------------------------------------------------------------ add / remove

    def add(self, aggregate: T) -> None:
        """A new aggregate, Put only if its key is not stored yet (ConditionFailed otherwise)."""
        run_sync(self.backend, self._add_steps(aggregate))

    def remove(self, aggregate: T) -> None:
        """Delete (a soft delete when the mapping names a soft_delete field), if the stored
        version is still the one the object holds."""
        run_sync(self.backend, self._remove_steps(aggregate))

    # ------------------------------------------------------------------ immediate writes
    # Single-item writes and batches (docs/access.md).

    def put(self, aggregate: T, *, condition: Spec | None = None) -> None:
        """Create or replace at once. The stored created_at is kept, updated_at set, the version
        bumped; the object receives what was stored. `condition` must hold for the stored item
        (ConditionFailed otherwise)."""
        run_sync(self.backend, self._put_steps(aggregate, condition))

    def delete(self, *, condition: Spec | None = None, **key: Any) -> bool:
        """Hard delete by key fields; True if an item was deleted. With a condition, a missing
        item raises NotFound and a stored one that fails it ConditionFailed."""
        return run_sync(self.backend, self._delete_steps(condition, key))

    def save(self, aggregate: T) -> None:
        """Write every non-key field of a stored aggregate if its version is still the one the
        object holds (ConcurrencyConflict otherwise); the object gets the bumped version."""
        run_sync(self.backend, self._save_steps(aggregate))

    def update(self, **key: Any) -> UpdateBuilder[T, T]:
        """An atomic in-place update of the stored aggregate with this key (UpdateBuilder)."""
        return UpdateBuilder(self.backend, self.mapping, key)

    def put_many(self, aggregates: Iterable[T], *, progress: Progress | None = None) -> None:
        """BatchWriteItem in chunks of 25 with retries; BatchIncomplete lists what was not
        written. Replaces stored items (no conditions); every item is validated first."""
        run_sync(self.backend, self._put_many_steps(aggregates, progress))

    def delete_many(
        self, keys: Iterable[MappingABC[str, Any]], *, progress: Progress | None = None
    ) -> None:
        """Hard deletes by key fields, in chunks of 25 with retries (BatchIncomplete)."""
        run_sync(self.backend, self._delete_many_steps(keys, progress))


class UnitOfWorkRepository(Repository[T]):
    """The repository a unit of work hands out (`uow.repository(Account)`).

    What it loads joins the unit of work's identity map (the same key read twice is the same
    object), `add` / `remove` are written by the unit of work's commit, and `update(...)` builds
    an update for `uow.add_update`. The writes that would go out at once (`put`, `save`,
    `delete`, `put_many`, `delete_many`, `update(...).execute()`) raise ValidationError. It is a
    `Repository`, so code typed against `Repository` takes either kind.

    Args:
        backend: the unit of work's backend.
        mapping: how the aggregate type is stored.
        identity_map: the unit of work's identity map.
        signer: the unit of work's `CursorSigner`.
    """

    def __init__(
        self,
        backend: Backend,
        mapping: Mapping[T],
        identity_map: IdentityMap,
        *,
        signer: CursorSigner | None = None,
    ) -> None:
        # RepositoryReader's constructor, not Repository's: this one reads through the map.
        RepositoryReader.__init__(self, backend, mapping, tracker=identity_map, signer=signer)
        self._identity_map = identity_map

    def add(self, aggregate: T) -> None:
        """A new aggregate; at commit it is Put only if its key is not stored yet."""
        self._identity_map.register_new(self.mapping, aggregate)

    def remove(self, aggregate: T) -> None:
        """Delete at commit (a soft delete when the mapping names a soft_delete field)."""
        self._identity_map.register_removed(self.mapping, aggregate)

    def put(self, aggregate: T, *, condition: Spec | None = None) -> None:
        """Refused: use `add` (or `uow.add_update(repo.update(...))`) inside a unit of work."""
        self._refuse("put")

    def delete(self, *, condition: Spec | None = None, **key: Any) -> bool:
        """Refused: use `remove` inside a unit of work."""
        self._refuse("delete")

    def save(self, aggregate: T) -> None:
        """Refused: change the loaded aggregate and commit inside a unit of work."""
        self._refuse("save")

    def update(self, **key: Any) -> UpdateBuilder[T, T]:
        """An in-place update of the stored aggregate with this key, for
        `uow.add_update(...)`; its `execute()` is refused."""
        return UpdateBuilder(self.backend, self.mapping, key, in_unit_of_work=True)

    def put_many(self, aggregates: Iterable[T], *, progress: Progress | None = None) -> None:
        """Refused: a batch cannot join the unit of work's transaction."""
        self._refuse("put_many")

    def delete_many(
        self, keys: Iterable[MappingABC[str, Any]], *, progress: Progress | None = None
    ) -> None:
        """Refused: a batch cannot join the unit of work's transaction."""
        self._refuse("delete_many")

    @staticmethod
    def _refuse(operation: str) -> NoReturn:
        raise ValidationError(
            f"{operation}() writes at once, outside this unit of work's transaction; inside "
            "a unit of work use add()/remove() or uow.add_update(repo.update(...))"
        )
