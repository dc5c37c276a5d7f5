"""Async repositories and the async update builder: the same cores as the synchronous ones
(`ReaderCore`, `RepositoryCore`, `UpdateCore`), awaited through `run_async` (adr/0020).

Only the transport differs: planning, cursors, marshalling, validation, expressions, retries and
the typed errors are the synchronous library's own code.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from collections.abc import Mapping as MappingABC
from datetime import datetime
from typing import Any, Literal, NoReturn, TypeVar, cast, overload

from ..backends.base import AsyncBackend
from ..errors import ValidationError
from ..model.mapping import Mapping
from ..model.marshal import Item, Wire
from ..query.cursor import CursorSigner
from ..query.planner import Plan
from ..query.specification import Spec
from ..runtime.retry import Backoff
from ..session.identity_map import UNTRACKED, IdentityMap, Tracker
from ..session.reader import Page, ReaderCore
from ..session.repository import RepositoryCore
from ..write.batch import Progress
from ..write.update import ReturnValues, UpdateCore
from .driver import run_async

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["Page", "Repository", "RepositoryReader", "UnitOfWorkRepository", "UpdateBuilder"]


class UpdateBuilder(UpdateCore[T, R]):
    """`persistence.UpdateBuilder` for asyncio: `await repo.update(account_id="a1")
    .add("balance", Decimal("5")).execute()`. The same operations, validation, conditions and
    results; `execute()` is awaited.
    """

    def __init__(
        self,
        backend: AsyncBackend,
        mapping: Mapping[T],
        key: MappingABC[str, Any],
        *,
        in_unit_of_work: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(mapping, key, in_unit_of_work=in_unit_of_work, clock=clock)
        self.backend = backend

    @overload
    def return_values(
        self, which: Literal["ALL_NEW", "ALL_OLD"]
    ) -> UpdateBuilder[T, T]: ...  # pragma: no cover

    @overload
    def return_values(
        self, which: Literal["UPDATED_NEW", "UPDATED_OLD"]
    ) -> UpdateBuilder[T, dict[str, Any]]: ...  # pragma: no cover

    @overload
    def return_values(
        self, which: Literal["NONE"]
    ) -> UpdateBuilder[T, None]: ...  # pragma: no cover

    def return_values(self, which: ReturnValues) -> UpdateBuilder[T, Any]:
        """What `execute()` returns (see `persistence.UpdateBuilder.return_values`)."""
        self._set_return_values(which)
        return cast(UpdateBuilder[T, Any], self)

    async def execute(self) -> R:
        """One UpdateItem; typed errors as in a unit of work (NotFound when the item is missing,
        ConcurrencyConflict for a stale condition_version, ConditionFailed for a condition)."""
        return await run_async(self.backend, self._execute_steps())


class RepositoryReader(ReaderCore[T]):
    """The reads of a repository for asyncio: `await get`, `get_many`, `find`, `find_one`,
    `count`, `scan_segment`; `async for` over `iterate` and `scan_all`; `plan` / `explain`
    (no I/O). Semantics, errors and requests are those of `persistence.Repository`.

    Args:
        backend: the `AsyncBackend` to read.
        mapping: how the aggregate type is stored.
        tracker: a unit of work's identity map, or `UNTRACKED` for a new object per read.
        cursor_secret: the secret (or secrets, newest first) cursors are encrypted with.
        signer: a `CursorSigner` to use instead of one built from `cursor_secret`.
        backoff: how batch reads (and writes) wait between attempts.
    """

    def __init__(
        self,
        backend: AsyncBackend,
        mapping: Mapping[T],
        *,
        tracker: Tracker = UNTRACKED,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        signer: CursorSigner | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.backend = backend
        super().__init__(
            backend,
            mapping,
            tracker=tracker,
            cursor_secret=cursor_secret,
            signer=signer,
            backoff=backoff,
        )

    async def get(
        self, *, consistent: bool = False, include_deleted: bool = False, **key: Any
    ) -> T:
        """The aggregate with these key fields, read by GetItem (NotFound if absent); see
        `persistence.Repository.get`."""
        return await run_async(self.backend, self._get_steps(consistent, include_deleted, key))

    async def get_many(
        self, keys: Iterable[MappingABC[str, Any]], *, consistent: bool = False
    ) -> list[T]:
        """BatchGetItem in chunks of 100, in the order of `keys`, with retries
        (BatchIncomplete); see `persistence.Repository.get_many`."""
        return await run_async(self.backend, self._get_many_steps(keys, consistent))

    @overload
    async def find(
        self,
        spec: Spec | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        index: str | None = None,
        descending: bool = False,
        consistent: bool = False,
        allow_scan: bool = True,
        include_deleted: bool = False,
        return_consumed_capacity: bool = False,
        fields: None = None,
    ) -> Page[T]: ...

    @overload
    async def find(
        self,
        spec: Spec | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        index: str | None = None,
        descending: bool = False,
        consistent: bool = False,
        allow_scan: bool = True,
        include_deleted: bool = False,
        return_consumed_capacity: bool = False,
        fields: Sequence[str],
    ) -> Page[dict[str, Any]]: ...

    async def find(
        self,
        spec: Spec | None = None,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        index: str | None = None,
        descending: bool = False,
        consistent: bool = False,
        allow_scan: bool = True,
        include_deleted: bool = False,
        return_consumed_capacity: bool = False,
        fields: Sequence[str] | None = None,
    ) -> Page[T] | Page[dict[str, Any]]:
        """One page of the aggregates that satisfy `spec`; the arguments, cursors and errors
        are those of `persistence.Repository.find`."""
        return await run_async(
            self.backend,
            self._find_steps(
                spec,
                limit=limit,
                cursor=cursor,
                index=index,
                descending=descending,
                consistent=consistent,
                allow_scan=allow_scan,
                include_deleted=include_deleted,
                return_consumed_capacity=return_consumed_capacity,
                fields=fields,
            ),
        )

    async def find_one(self, spec: Spec | None = None, **options: Any) -> T | None:
        """The first aggregate satisfying `spec`, or None; reads page after page until one
        matches. `options` are those of `find`."""
        async for aggregate in self.iterate(spec, **options):
            return aggregate
        return None

    async def iterate(
        self, spec: Spec | None = None, *, page_size: int | None = None, **options: Any
    ) -> AsyncIterator[T]:
        """Every matching aggregate, one page at a time (`async for a in repo.iterate(spec)`)."""
        cursor: str | None = None
        while True:
            page = await self.find(spec, limit=page_size, cursor=cursor, **options)
            for aggregate in page.items:
                yield aggregate
            cursor = page.cursor
            if cursor is None:
                return

    async def count(self, spec: Spec | None = None, **options: Any) -> int:
        """Select=COUNT over every page."""
        return await run_async(self.backend, self._count_steps(spec, options))

    def scan_all(
        self,
        spec: Spec | None = None,
        *,
        segments: int = 4,
        workers: int | None = None,
        page_size: int | None = None,
        index: str | None = None,
        consistent: bool = False,
        include_deleted: bool = False,
    ) -> AsyncIterator[T]:
        """A parallel Scan: `segments` segments read by at most `workers` tasks at a time
        (default: one per segment); yields every matching aggregate once, in no particular
        order. The first error cancels the other segments and is raised; closing the iterator
        early (`contextlib.aclosing`) cancels them too."""
        read = self._scan_all_plan(
            spec,
            segments=segments,
            page_size=page_size,
            index=index,
            consistent=consistent,
            include_deleted=include_deleted,
        )
        tasks = segments if workers is None else workers
        if isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1:
            raise ValidationError(f"workers must be an int >= 1, got {workers!r}")
        return self._scan_all(read, segments, tasks, page_size)

    async def _scan_all(
        self, read: Plan, segments: int, workers: int, page_size: int | None
    ) -> AsyncIterator[T]:
        # Bounded: segment readers wait while the caller is slow, so few pages sit in memory.
        pages: asyncio.Queue[list[Item] | BaseException | None] = asyncio.Queue(maxsize=2 * workers)
        gate = asyncio.Semaphore(workers)

        async def run(segment: int) -> None:
            async with gate:
                try:
                    start: dict[str, Wire] | None = None
                    while True:
                        result = await self.backend.read(
                            read,
                            limit=page_size,
                            start_key=start,
                            segment=segment,
                            total_segments=segments,
                        )
                        if result.items:
                            await pages.put(result.items)
                        start = result.last_key
                        if start is None:
                            break
                except Exception as exc:  # handed to the caller's task
                    await pages.put(exc)
                    return
            await pages.put(None)

        readers = [asyncio.create_task(run(segment)) for segment in range(segments)]
        try:
            finished = 0
            while finished < segments:
                message = await pages.get()
                if message is None:
                    finished += 1
                elif isinstance(message, BaseException):
                    raise message
                else:
                    for item in message:
                        yield self._load(item)
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)

    async def scan_segment(
        self,
        spec: Spec | None = None,
        *,
        segment: int,
        total_segments: int,
        cursor: str | None = None,
        limit: int | None = None,
        index: str | None = None,
        consistent: bool = False,
        include_deleted: bool = False,
        return_consumed_capacity: bool = False,
    ) -> Page[T]:
        """One page of one segment, for distributed workers; the cursor resumes this segment
        only (see `persistence.Repository.scan_segment`)."""
        return await run_async(
            self.backend,
            self._scan_segment_steps(
                spec,
                segment=segment,
                total_segments=total_segments,
                cursor=cursor,
                limit=limit,
                index=index,
                consistent=consistent,
                include_deleted=include_deleted,
                return_consumed_capacity=return_consumed_capacity,
            ),
        )


class Repository(RepositoryReader[T], RepositoryCore[T]):
    """A repository for asyncio outside any unit of work (or as `aio.DynamoDBRepository` /
    `aio.InMemoryRepository`): each write goes out at once and is awaited, with the conditions
    and typed errors of `persistence.Repository`.

    Args:
        backend: the `AsyncBackend` to read and write.
        mapping: how the aggregate type is stored.
        cursor_secret: the secret (or secrets, newest first) cursors are encrypted with.
        signer: a `CursorSigner` to use instead of one built from `cursor_secret`.
        backoff: how batch reads and writes wait between attempts.
    """

    def __init__(
        self,
        backend: AsyncBackend,
        mapping: Mapping[T],
        *,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        signer: CursorSigner | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(
            backend, mapping, cursor_secret=cursor_secret, signer=signer, backoff=backoff
        )

    async def add(self, aggregate: T) -> None:
        """A new aggregate, Put only if its key is not stored yet (ConditionFailed otherwise)."""
        await run_async(self.backend, self._add_steps(aggregate))

    async def remove(self, aggregate: T) -> None:
        """Delete (a soft delete when the mapping names a soft_delete field), if the stored
        version is still the one the object holds."""
        await run_async(self.backend, self._remove_steps(aggregate))

    async def put(self, aggregate: T, *, condition: Spec | None = None) -> None:
        """Create or replace at once (see `persistence.Repository.put`)."""
        await run_async(self.backend, self._put_steps(aggregate, condition))

    async def delete(self, *, condition: Spec | None = None, **key: Any) -> bool:
        """Hard delete by key fields; True if an item was deleted."""
        return await run_async(self.backend, self._delete_steps(condition, key))

    async def save(self, aggregate: T) -> None:
        """Write every non-key field of a stored aggregate under its version condition."""
        await run_async(self.backend, self._save_steps(aggregate))

    def update(self, **key: Any) -> UpdateBuilder[T, T]:
        """An atomic in-place update of the stored aggregate with this key; `await
        builder.execute()` sends it."""
        return UpdateBuilder(self.backend, self.mapping, key)

    async def put_many(self, aggregates: Iterable[T], *, progress: Progress | None = None) -> None:
        """BatchWriteItem in chunks of 25 with retries (BatchIncomplete lists what was not
        written)."""
        await run_async(self.backend, self._put_many_steps(aggregates, progress))

    async def delete_many(
        self, keys: Iterable[MappingABC[str, Any]], *, progress: Progress | None = None
    ) -> None:
        """Hard deletes by key fields, in chunks of 25 with retries (BatchIncomplete)."""
        await run_async(self.backend, self._delete_many_steps(keys, progress))


class UnitOfWorkRepository(RepositoryReader[T]):
    """The repository an async unit of work hands out (`uow.repository(Account)`): awaited
    reads through the unit of work's identity map; `add` / `remove` do no I/O (the commit writes
    them); `update(...)` builds an update for `uow.add_update`. The immediate writes raise
    ValidationError, as in `persistence.UnitOfWorkRepository`.

    Args:
        backend: the unit of work's backend.
        mapping: how the aggregate type is stored.
        identity_map: the unit of work's identity map.
        signer: the unit of work's `CursorSigner`.
    """

    def __init__(
        self,
        backend: AsyncBackend,
        mapping: Mapping[T],
        identity_map: IdentityMap,
        *,
        signer: CursorSigner | None = None,
    ) -> None:
        super().__init__(backend, mapping, tracker=identity_map, signer=signer)
        self._identity_map = identity_map

    def add(self, aggregate: T) -> None:
        """A new aggregate; at commit it is Put only if its key is not stored yet."""
        self._identity_map.register_new(self.mapping, aggregate)

    def remove(self, aggregate: T) -> None:
        """Delete at commit (a soft delete when the mapping names a soft_delete field)."""
        self._identity_map.register_removed(self.mapping, aggregate)

    def update(self, **key: Any) -> UpdateBuilder[T, T]:
        """An in-place update for `uow.add_update(...)`; its `execute()` is refused."""
        return UpdateBuilder(self.backend, self.mapping, key, in_unit_of_work=True)

    async def put(self, aggregate: T, *, condition: Spec | None = None) -> None:
        """Refused: use `add` (or `uow.add_update(repo.update(...))`) inside a unit of work."""
        self._refuse("put")

    async def delete(self, *, condition: Spec | None = None, **key: Any) -> bool:
        """Refused: use `remove` inside a unit of work."""
        self._refuse("delete")

    async def save(self, aggregate: T) -> None:
        """Refused: change the loaded aggregate and commit inside a unit of work."""
        self._refuse("save")

    async def put_many(self, aggregates: Iterable[T], *, progress: Progress | None = None) -> None:
        """Refused: a batch cannot join the unit of work's transaction."""
        self._refuse("put_many")

    async def delete_many(
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
