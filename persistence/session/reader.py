"""The read side of repositories, shared by the standalone repository and the one a unit of
work hands out.

`RepositoryReader` compiles a Specification into the cheapest read (GetItem, a Query on the table
or an index, a Scan last) and turns the items read into aggregates through a `Tracker`: inside a
unit of work that is its identity map (one object per stored item), outside one `UNTRACKED`
(a new object per read).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Mapping as MappingABC
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from .. import limits
from ..backends.base import Backend, ReadResult, Registrar
from ..errors import BatchIncomplete, NotFound, ValidationError
from ..model.keyid import key_id
from ..model.mapping import Mapping
from ..model.marshal import Item, Wire
from ..query.cursor import CursorSigner
from ..query.planner import Plan, plan
from ..query.projection import project, projected_plan
from ..query.specification import Spec
from ..runtime.retry import Backoff, error_code, is_transient
from ..runtime.steps import Call, Sleep, Steps, run_sync
from .identity_map import UNTRACKED, Tracker
from .scan import check_segment, parallel_scan, scan_plan, segment_shape

T = TypeVar("T")
# The logger keeps the name it had before the modules moved into layers (docs/api.md).
log = logging.getLogger("persistence.repository")


@dataclass
class Page(Generic[T]):
    """One page of results. `cursor` is None on the last page.

    `count` is the number of items that matched the filter on this page, `scanned_count` the
    number evaluated: DynamoDB applies `limit` before the filter, so a page may hold fewer items
    than `limit` (even none) and still have a cursor.
    """

    items: list[T]
    cursor: str | None
    count: int
    scanned_count: int
    consumed_capacity: dict[str, Any] | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class ReaderCore(Generic[T]):
    """The reads of a repository without their transport (adr/0020): planning, cursors,
    retries of batch reads, loading items into aggregates, written once as step generators
    (`runtime.steps`). `RepositoryReader` drives them with blocking calls, `persistence.aio`
    awaits them.

    Args:
        backend: what the tables are registered with (a `Backend` or an `AsyncBackend`).
        mapping: how the aggregate type is stored.
        tracker: which object stands for an item read (a unit of work's identity map), or
            `UNTRACKED` (the default) for a new object per read.
        cursor_secret: the secret (or secrets, newest first) cursors are encrypted with.
        signer: a `CursorSigner` to use instead of one built from `cursor_secret`.
        backoff: how batch reads (and writes) wait between attempts.
    """

    def __init__(
        self,
        backend: Registrar,
        mapping: Mapping[T],
        *,
        tracker: Tracker = UNTRACKED,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        signer: CursorSigner | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.mapping = mapping
        self._registrar = backend
        self._tracker = tracker
        self._signer = signer
        self._cursor_secret = cursor_secret
        self._backoff = backoff or Backoff()
        backend.register(mapping.table)

    @property
    def signer(self) -> CursorSigner:
        """The `CursorSigner` that encrypts this repository's page cursors (built on first use)."""
        if self._signer is None:
            self._signer = CursorSigner(self._cursor_secret)
        return self._signer

    # ------------------------------------------------------------------ reads as steps

    def _get_steps(self, consistent: bool, include_deleted: bool, key: dict[str, Any]) -> Steps[T]:
        wire_key = self.mapping.key_from_fields(key)
        cached = self._tracker.cached(self.mapping, wire_key)
        if cached is not None:
            return cached
        item: Item | None = yield Call("get_item", self.mapping.table.name, wire_key, consistent)
        if (
            item is None
            or not self.mapping.is_type(item)
            or (not include_deleted and self._is_deleted(item))
        ):
            raise NotFound(self.mapping.name, key)
        aggregate = self._load_by_key(item, wire_key)
        if aggregate is None:
            raise NotFound(self.mapping.name, key)
        return aggregate

    def _get_many_steps(
        self, keys: Iterable[MappingABC[str, Any]], consistent: bool
    ) -> Steps[list[T]]:
        given = list(keys)
        wire_keys = [self.mapping.key_from_fields(k) for k in given]
        unique: dict[tuple[Any, ...], dict[str, Wire]] = {}
        for k in wire_keys:
            unique.setdefault(key_id(k), k)
        found: dict[tuple[Any, ...], Item] = {}
        pending = list(unique.values())
        for start in range(0, len(pending), limits.MAX_BATCH_GET):
            chunk = pending[start : start + limits.MAX_BATCH_GET]
            items, unread, error = yield from self._batch_get_chunk(chunk, consistent)
            for item in items:
                found[key_id({a: item[a] for a in self.mapping.table.key_attributes()})] = item
            if unread:
                later = pending[start + limits.MAX_BATCH_GET :]
                missing = {key_id(k) for k in [*unread, *later]}
                why = (
                    f"still unprocessed after {self._backoff.attempts} attempts"
                    if error is None
                    else f"not read: the last attempt failed with {error_code(error)}"
                )
                raise BatchIncomplete(
                    f"BatchGetItem on {self.mapping.table.name!r}: {len(unread)} keys {why}, "
                    f"and {len(later)} not requested; `unprocessed` lists them",
                    [k for k, w in zip(given, wire_keys, strict=True) if key_id(w) in missing],
                ) from error
        out = []
        for k in wire_keys:
            stored = found.get(key_id(k))
            if stored is not None and self.mapping.is_type(stored) and not self._is_deleted(stored):
                aggregate = self._load_by_key(stored, k)
                if aggregate is not None:
                    out.append(aggregate)
        return out

    def _batch_get_chunk(
        self, keys: list[dict[str, Wire]], consistent: bool
    ) -> Steps[tuple[list[Item], list[dict[str, Wire]], Exception | None]]:
        """(items read, keys never read, the last attempt's error if it failed)."""
        table = self.mapping.table.name
        items: list[Item] = []
        request = {table: keys}
        error: Exception | None = None
        for attempt in range(self._backoff.attempts):
            if attempt:
                yield Sleep(self._backoff.delay(attempt - 1), self._backoff.sleep)
            try:
                found, unprocessed = yield Call("batch_get", request, consistent)
            except Exception as exc:  # what batch_get raises is the backend's, and varies
                if not is_transient(exc):
                    raise
                error = exc
                log.debug(
                    "batch_get_error",
                    extra={"table": table, "error": error_code(exc), "attempt": attempt},
                )
                continue
            error = None
            items.extend(found.get(table, []))
            if not unprocessed.get(table):
                return items, [], None
            request = {table: unprocessed[table]}
            log.debug(
                "batch_get_retry",
                extra={"table": table, "unprocessed": len(request[table]), "attempt": attempt},
            )
        return items, request[table], error

    def plan(
        self,
        spec: Spec | None = None,
        *,
        index: str | None = None,
        descending: bool = False,
        consistent: bool = False,
        allow_scan: bool = True,
        include_deleted: bool = False,
    ) -> Plan:
        """The read `find` would send for `spec`: GetItem, a Query on the table or an index,
        or a Scan, with its key condition and filter (see `explain` for a one-line summary).

        Raises:
            ValidationError: the spec names an unknown field, `index` is not declared, or only a
                Scan can serve the spec and `allow_scan` is False.
        """
        return plan(
            self.mapping,
            spec,
            index=index,
            descending=descending,
            consistent=consistent,
            allow_scan=allow_scan,
            include_deleted=include_deleted,
        )

    def explain(self, spec: Spec | None = None, **options: Any) -> str:
        """ "GetItem", "Query bank", "Query bank.by_owner", "Scan bank"..."""
        return self.plan(spec, **options).describe()

    def _find_steps(
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
    ) -> Steps[Page[T] | Page[dict[str, Any]]]:
        if limit is not None and limit < 1:
            raise ValidationError(f"limit must be at least 1, got {limit}")
        if fields is not None:
            return (
                yield from self._find_fields(
                    spec,
                    fields,
                    limit=limit,
                    cursor=cursor,
                    index=index,
                    descending=descending,
                    consistent=consistent,
                    allow_scan=allow_scan,
                    include_deleted=include_deleted,
                    return_consumed_capacity=return_consumed_capacity,
                )
            )
        read = self.plan(
            spec,
            index=index,
            descending=descending,
            consistent=consistent,
            allow_scan=allow_scan,
            include_deleted=include_deleted,
        )
        if read.operation == "GetItem":
            return (yield from self._find_by_key(read))
        start = self.signer.decode(cursor, read.shape()) if cursor is not None else None
        result: ReadResult = yield Call(
            "read",
            read,
            limit=limit,
            start_key=start,
            return_consumed_capacity=return_consumed_capacity,
        )
        items = result.items
        if read.post_filter is not None:
            items = [i for i in items if read.post_filter.evaluate(i)]
        next_cursor = self.signer.encode(result.last_key, read.shape()) if result.last_key else None
        return Page(
            [self._load(i) for i in items],
            next_cursor,
            len(items),
            result.scanned_count,
            result.consumed_capacity,
        )

    def _find_by_key(self, read: Plan) -> Steps[Page[T]]:
        assert read.key is not None
        cached = self._tracker.cached(self.mapping, read.key)
        if cached is not None:
            ok = read.filter is None or read.filter.is_satisfied_by(cached, self.mapping)
            return Page([cached] if ok else [], None, int(ok), 1)
        item: Item | None = yield Call("get_item", read.table, read.key, read.consistent)
        if item is None:
            return Page([], None, 0, 0)
        if read.filter is not None and not read.filter.evaluate(item):
            return Page([], None, 0, 1)
        aggregate = self._load_by_key(item, read.key)
        if aggregate is None:
            return Page([], None, 0, 1)
        return Page([aggregate], None, 1, 1)

    def _find_fields(
        self,
        spec: Spec | None,
        fields: Sequence[str],
        *,
        limit: int | None,
        cursor: str | None,
        index: str | None,
        descending: bool,
        consistent: bool,
        allow_scan: bool,
        include_deleted: bool,
        return_consumed_capacity: bool,
    ) -> Steps[Page[dict[str, Any]]]:
        """`find(..., fields=[...])`: dicts of typed values, never partial aggregates (which
        must not reach a unit of work). Reads the store, not the identity map."""

        read, names, requested = projected_plan(
            self.mapping,
            spec,
            fields,
            index=index,
            descending=descending,
            consistent=consistent,
            allow_scan=allow_scan,
            include_deleted=include_deleted,
        )
        if read.operation == "GetItem":
            assert read.key is not None
            item: Item | None = yield Call("get_item", read.table, read.key, read.consistent)
            if item is None or (read.filter is not None and not read.filter.evaluate(item)):
                return Page([], None, 0, int(item is not None))
            return Page([project(self.mapping, item, names)], None, 1, 1)
        start = self.signer.decode(cursor, read.shape()) if cursor is not None else None
        result: ReadResult = yield Call(
            "read",
            read,
            limit=limit,
            start_key=start,
            projection=requested,
            return_consumed_capacity=return_consumed_capacity,
        )
        items = result.items
        if read.post_filter is not None:
            items = [i for i in items if read.post_filter.evaluate(i)]
        next_cursor = self.signer.encode(result.last_key, read.shape()) if result.last_key else None
        rows = [project(self.mapping, i, names) for i in items]
        return Page(rows, next_cursor, len(rows), result.scanned_count, result.consumed_capacity)

    def _count_steps(self, spec: Spec | None, options: dict[str, Any]) -> Steps[int]:
        read = self.plan(spec, **options)
        if read.operation == "GetItem":
            return (yield from self._find_by_key(read)).count
        if read.post_filter is not None:
            # Only the items kept after the post-filter count: read them page by page.
            total = 0
            cursor: str | None = None
            while True:
                page = yield from self._find_steps(spec, cursor=cursor, **options)
                total += len(page.items)
                cursor = page.cursor
                if cursor is None:
                    return total
        total = 0
        start: dict[str, Wire] | None = None
        while True:
            result: ReadResult = yield Call(
                "read", read, limit=None, start_key=start, select_count=True
            )
            total += result.count
            start = result.last_key
            if start is None:
                return total

    def _scan_segment_steps(
        self,
        spec: Spec | None,
        *,
        segment: int,
        total_segments: int,
        cursor: str | None,
        limit: int | None,
        index: str | None,
        consistent: bool,
        include_deleted: bool,
        return_consumed_capacity: bool,
    ) -> Steps[Page[T]]:
        check_segment(segment, total_segments)
        if limit is not None and limit < 1:
            raise ValidationError(f"limit must be at least 1, got {limit}")
        read = scan_plan(
            self.mapping, spec, index=index, consistent=consistent, include_deleted=include_deleted
        )
        shape = segment_shape(read, segment, total_segments)
        start = self.signer.decode(cursor, shape) if cursor is not None else None
        result: ReadResult = yield Call(
            "read",
            read,
            limit=limit,
            start_key=start,
            segment=segment,
            total_segments=total_segments,
            return_consumed_capacity=return_consumed_capacity,
        )
        next_cursor = self.signer.encode(result.last_key, shape) if result.last_key else None
        items = [self._load(i) for i in result.items]
        return Page(items, next_cursor, len(items), result.scanned_count, result.consumed_capacity)

    def _scan_all_plan(
        self,
        spec: Spec | None,
        *,
        segments: int,
        page_size: int | None,
        index: str | None,
        consistent: bool,
        include_deleted: bool,
    ) -> Plan:
        """The checked Scan every segment of `scan_all` reads."""
        check_segment(0, segments)
        if page_size is not None and page_size < 1:
            raise ValidationError(f"page_size must be at least 1, got {page_size}")
        return scan_plan(
            self.mapping, spec, index=index, consistent=consistent, include_deleted=include_deleted
        )

    # ------------------------------------------------------------------ helpers

    def _load_by_key(self, item: Item, key: MappingABC[str, Wire]) -> T | None:
        """The aggregate read by `key`, or None when it is not the one that key addresses.

        Defence in depth: templates are injective for what the library writes now (ADR 0009),
        but an item written before that rule (or by other code) can sit at a key that other key
        fields also render to; it must read as absent rather than as the wrong aggregate."""
        aggregate = self.mapping.from_item(item)
        if self.mapping.holds_key(aggregate, key):
            # In a unit of work the identity map decides which object stands for the item.
            return self._tracker.track(self.mapping, item, aggregate)
        # The key's values stay out of the record: they are item values (docs/reliability.md).
        log.warning(
            "key_fields_mismatch: an item's key fields do not render to the key it is stored "
            "under (written before key templates were injective, or by other code); it is "
            "treated as absent. See ADR 0009 to find and migrate such items.",
            extra={"aggregate_type": self.mapping.name},
        )
        return None

    def _is_deleted(self, item: MappingABC[str, Wire]) -> bool:
        name = self.mapping.soft_delete
        if name is None or name not in item:
            return False
        return item[name] != {"BOOL": False}

    def _load(self, item: Item) -> T:
        return self._tracker.track(self.mapping, item)


class RepositoryReader(ReaderCore[T]):
    """The reads of a repository of one mapping: `get`, `get_many`, `find`, `find_one`,
    `iterate`, `count`, `plan` / `explain`, and the parallel scans.

    Args:
        backend: the store to read (`DynamoDBBackend`, `InMemoryStore`).
        mapping: how the aggregate type is stored.
        tracker: which object stands for an item read (a unit of work's identity map), or
            `UNTRACKED` (the default) for a new object per read.
        cursor_secret: the secret (or secrets, newest first) cursors are encrypted with;
            see `CursorSigner`.
        signer: a `CursorSigner` to use instead of one built from `cursor_secret`.
        backoff: how batch reads (and writes) wait between attempts.
    """

    def __init__(
        self,
        backend: Backend,
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

    def get(self, *, consistent: bool = False, include_deleted: bool = False, **key: Any) -> T:
        """The aggregate with these key fields (`repo.get(account_id="a1")`), read by GetItem.

        In a unit of work, an aggregate already loaded is returned from the identity map (the
        same object). A soft-deleted aggregate counts as absent unless `include_deleted`.

        Args:
            consistent: a strongly consistent read.
            include_deleted: return a soft-deleted aggregate too.
            **key: the fields the mapping's key templates use.

        Raises:
            NotFound: nothing of this type is stored under the key.
            ValidationError: a key field is missing, or its value cannot be in a key.
        """
        return run_sync(self.backend, self._get_steps(consistent, include_deleted, key))

    def get_many(
        self, keys: Iterable[MappingABC[str, Any]], *, consistent: bool = False
    ) -> list[T]:
        """BatchGetItem in chunks of 100, in the order of `keys`; keys not stored are left out.

        Unprocessed keys, and failures that may pass (throttling, 5xx, connection errors: see
        `persistence.retry.is_transient`), are retried with the repository's backoff. Keys
        still not read after the last attempt raise BatchIncomplete (chained to the last
        error, if any): its `unprocessed` lists the key dicts given whose items were not read
        (that chunk's leftovers and every later chunk), in the order given; nothing is returned
        then. Other errors propagate unchanged."""
        return run_sync(self.backend, self._get_many_steps(keys, consistent))

    @overload
    def find(
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
    def find(
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

    def find(
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
        """One page of the aggregates that satisfy `spec` (all of the mapping's type if None).

        The planner picks the cheapest read (GetItem, Query, Scan last) and the rest of the spec
        becomes the filter; names and values always go through placeholders. Pass the page's
        `cursor` back to get the next page: it is encrypted and authenticated, bound to this
        query, and reveals no key value.

        Args:
            spec: what the aggregates must satisfy.
            limit: items DynamoDB evaluates for this page (before the filter, so a page can hold
                fewer, even none, and still have a cursor).
            cursor: `page.cursor` of the previous page of the same query.
            index: read this index instead of letting the planner choose.
            descending: sort-key order, highest first.
            consistent: a strongly consistent read (not on a global index).
            allow_scan: False refuses a spec that only a Scan can serve (ValidationError).
            include_deleted: include soft-deleted aggregates.
            return_consumed_capacity: fill `page.consumed_capacity`.
            fields: return dicts of these fields' typed values (a ProjectionExpression)
                instead of aggregates; they never enter the identity map.

        Raises:
            InvalidCursor: the cursor is tampered, foreign or from another query.
            ValidationError: a bad spec, limit, index or field name.
        """
        return run_sync(
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

    def find_one(self, spec: Spec | None = None, **options: Any) -> T | None:
        """The first aggregate satisfying `spec`, or None; reads page after page until one
        matches. `options` are those of `find`."""
        for aggregate in self.iterate(spec, **options):
            return aggregate
        return None

    def iterate(
        self, spec: Spec | None = None, *, page_size: int | None = None, **options: Any
    ) -> Iterator[T]:
        """Every matching aggregate, one page at a time (memory stays bounded)."""
        cursor: str | None = None
        while True:
            page = self.find(spec, limit=page_size, cursor=cursor, **options)
            yield from page.items
            cursor = page.cursor
            if cursor is None:
                return

    def count(self, spec: Spec | None = None, **options: Any) -> int:
        """Select=COUNT over every page."""
        return run_sync(self.backend, self._count_steps(spec, options))

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
    ) -> Iterator[T]:
        """A parallel Scan: `segments` segments read by `workers` threads (default: one per
        segment); yields every matching aggregate once, in no particular order."""

        read = self._scan_all_plan(
            spec,
            segments=segments,
            page_size=page_size,
            index=index,
            consistent=consistent,
            include_deleted=include_deleted,
        )

        def read_segment(segment: int, start: dict[str, Wire] | None) -> ReadResult:
            return self.backend.read(
                read, limit=page_size, start_key=start, segment=segment, total_segments=segments
            )

        items = parallel_scan(read_segment, segments, segments if workers is None else workers)

        def aggregates() -> Iterator[T]:
            with closing(items):  # closing this generator stops the workers at once
                for item in items:
                    yield self._load(item)

        return aggregates()

    def scan_segment(
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
        """One page of one segment, for distributed workers (one Lambda per segment). The cursor
        is bound to the segment: it resumes this segment only."""

        return run_sync(
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
