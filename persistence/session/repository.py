"""Repositories: collection-like access to one aggregate type, on any backend.

Reads compile a Specification into the cheapest read (see planner.py). Inside a unit of work, what
a repository loads goes through the unit of work's identity map, and `add` / `remove` are recorded
for the commit. A repository built outside a unit of work writes at once, each call being its own
one-action commit with the same conditions and errors.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Mapping as MappingABC
from contextlib import closing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from .. import limits
from ..backends.base import Backend, ReadResult
from ..errors import BatchIncomplete, NotFound, ValidationError
from ..model.keyid import key_id
from ..model.mapping import Mapping
from ..model.marshal import Item, Wire
from ..query.cursor import CursorSigner
from ..query.planner import Plan, plan
from ..query.projection import project, projected_plan
from ..query.specification import Spec
from ..runtime.retry import Backoff, error_code, is_transient
from ..write.batch import Progress, delete_all, put_all
from ..write.single import assign_stored, delete_action, put_action, save_action, write_one
from ..write.update import UpdateBuilder
from .base import BaseUnitOfWork
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


class Repository(Generic[T]):
    """Collection-like access to the aggregates of one mapping, on any backend.

    Get one from a unit of work (`uow.repository(Account)`): reads go through its identity map
    and `add` / `remove` are written by its commit. `DynamoDBRepository` and
    `InMemoryRepository` are repositories outside a unit of work, whose writes go out at once.

    Args:
        backend: the store to read and write (`DynamoDBBackend`, `InMemoryStore`).
        mapping: how the aggregate type is stored.
        unit_of_work: the unit of work this repository belongs to, if any.
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
        unit_of_work: BaseUnitOfWork | None = None,
        cursor_secret: str | bytes | Sequence[str | bytes] | None = None,
        signer: CursorSigner | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.backend = backend
        self.mapping = mapping
        self._uow = unit_of_work
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

    # ------------------------------------------------------------------ writes

    def add(self, aggregate: T) -> None:
        """A new aggregate; at commit it is Put only if its key is not stored yet."""
        if self._uow is not None:
            self._uow._register_new(self.mapping, aggregate)
            return
        with self._standalone() as uow:
            uow._register_new(self.mapping, aggregate)
            uow.commit()

    def remove(self, aggregate: T) -> None:
        """Delete at commit (a soft delete when the mapping names a soft_delete field)."""
        if self._uow is not None:
            self._uow._register_removed(self.mapping, aggregate)
            return
        with self._standalone() as uow:
            uow._adopt(self.mapping, aggregate)
            uow._register_removed(self.mapping, aggregate)
            uow.commit()

    def _standalone(self) -> BaseUnitOfWork:
        return BaseUnitOfWork(self.backend, [self.mapping])

    # ------------------------------------------------------------------ reads

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
        wire_key = self.mapping.key_from_fields(key)
        if self._uow is not None:
            cached = self._uow._cached(self.mapping, wire_key)
            if cached is not None:
                return cached
        item = self.backend.get_item(self.mapping.table.name, wire_key, consistent)
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
        given = list(keys)
        wire_keys = [self.mapping.key_from_fields(k) for k in given]
        unique: dict[tuple[Any, ...], dict[str, Wire]] = {}
        for k in wire_keys:
            unique.setdefault(key_id(k), k)
        found: dict[tuple[Any, ...], Item] = {}
        pending = list(unique.values())
        for start in range(0, len(pending), limits.MAX_BATCH_GET):
            chunk = pending[start : start + limits.MAX_BATCH_GET]
            items, unread, error = self._batch_get_chunk(chunk, consistent)
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
    ) -> tuple[list[Item], list[dict[str, Wire]], Exception | None]:
        """(items read, keys never read, the last attempt's error if it failed)."""
        table = self.mapping.table.name
        items: list[Item] = []
        request = {table: keys}
        error: Exception | None = None
        for attempt in range(self._backoff.attempts):
            if attempt:
                self._backoff.wait(attempt - 1)
            try:
                found, unprocessed = self.backend.batch_get(request, consistent)
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
        if limit is not None and limit < 1:
            raise ValidationError(f"limit must be at least 1, got {limit}")
        if fields is not None:
            return self._find_fields(
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
        read = self.plan(
            spec,
            index=index,
            descending=descending,
            consistent=consistent,
            allow_scan=allow_scan,
            include_deleted=include_deleted,
        )
        if read.operation == "GetItem":
            return self._find_by_key(read)
        start = self.signer.decode(cursor, read.shape()) if cursor is not None else None
        result = self.backend.read(
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

    def _find_by_key(self, read: Plan) -> Page[T]:
        assert read.key is not None
        if self._uow is not None:
            cached = self._uow._cached(self.mapping, read.key)
            if cached is not None:
                ok = read.filter is None or read.filter.is_satisfied_by(cached, self.mapping)
                return Page([cached] if ok else [], None, int(ok), 1)
        item = self.backend.get_item(read.table, read.key, read.consistent)
        if item is None:
            return Page([], None, 0, 0)
        if read.filter is not None and not read.filter.evaluate(item):
            return Page([], None, 0, 1)
        aggregate = self._load_by_key(item, read.key)
        if aggregate is None:
            return Page([], None, 0, 1)
        return Page([aggregate], None, 1, 1)

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
        read = self.plan(spec, **options)
        if read.operation == "GetItem":
            return self._find_by_key(read).count
        if read.post_filter is not None:
            return sum(1 for _ in self.iterate(spec, **options))
        total = 0
        start: dict[str, Wire] | None = None
        while True:
            result = self.backend.read(read, limit=None, start_key=start, select_count=True)
            total += result.count
            start = result.last_key
            if start is None:
                return total

    # ------------------------------------------------------------------ helpers

    def _load_by_key(self, item: Item, key: MappingABC[str, Wire]) -> T | None:
        """The aggregate read by `key`, or None when it is not the one that key addresses.

        Defence in depth: templates are injective for what the library writes now (ADR 0009),
        but an item written before that rule (or by other code) can sit at a key that other key
        fields also render to; it must read as absent rather than as the wrong aggregate."""
        aggregate = self.mapping.from_item(item)
        if self.mapping.holds_key(aggregate, key):
            # In a unit of work the identity map decides which object stands for the item.
            return self._uow._track(self.mapping, item) if self._uow is not None else aggregate
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
        if self._uow is not None:
            return self._uow._track(self.mapping, item)
        return self.mapping.from_item(item)

    # ------------------------------------------------------------------ beyond the unit of work
    # Single-item writes, batches, parallel scans and projected reads (docs/access.md).

    def put(self, aggregate: T, *, condition: Spec | None = None) -> None:
        """Create or replace at once. The stored created_at is kept, updated_at set, the version
        bumped; the object receives what was stored. `condition` must hold for the stored item
        (ConditionFailed otherwise)."""

        self._outside_unit_of_work("put")
        action, _ = put_action(self.mapping, aggregate, condition)
        stored = write_one(self.backend, action, "ALL_NEW")
        assign_stored(self.mapping, aggregate, stored, self._managed_fields())

    def delete(self, *, condition: Spec | None = None, **key: Any) -> bool:
        """Hard delete by key fields; True if an item was deleted. With a condition, a missing
        item raises NotFound and a stored one that fails it ConditionFailed."""

        self._outside_unit_of_work("delete")
        action = delete_action(self.mapping, key, condition)
        return write_one(self.backend, action, "ALL_OLD") is not None

    def save(self, aggregate: T) -> None:
        """Write every non-key field of a stored aggregate if its version is still the one the
        object holds (ConcurrencyConflict otherwise); the object gets the bumped version."""

        self._outside_unit_of_work("save")
        action, _ = save_action(self.mapping, aggregate)
        stored = write_one(self.backend, action, "ALL_NEW")
        assign_stored(self.mapping, aggregate, stored, self._managed_fields())

    def update(self, **key: Any) -> UpdateBuilder[T, T]:
        """An atomic in-place update of the stored aggregate with this key (UpdateBuilder)."""

        return UpdateBuilder(self.backend, self.mapping, key, in_unit_of_work=self._uow is not None)

    def put_many(self, aggregates: Iterable[T], *, progress: Progress | None = None) -> None:
        """BatchWriteItem in chunks of 25 with retries; BatchIncomplete lists what was not
        written. Replaces stored items (no conditions); every item is validated first."""

        self._outside_unit_of_work("put_many")
        put_all(self.backend, self.mapping, aggregates, backoff=self._backoff, progress=progress)

    def delete_many(
        self, keys: Iterable[MappingABC[str, Any]], *, progress: Progress | None = None
    ) -> None:
        """Hard deletes by key fields, in chunks of 25 with retries (BatchIncomplete)."""

        self._outside_unit_of_work("delete_many")
        delete_all(self.backend, self.mapping, keys, backoff=self._backoff, progress=progress)

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

        check_segment(0, segments)
        if page_size is not None and page_size < 1:
            raise ValidationError(f"page_size must be at least 1, got {page_size}")
        read = scan_plan(
            self.mapping, spec, index=index, consistent=consistent, include_deleted=include_deleted
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

        check_segment(segment, total_segments)
        if limit is not None and limit < 1:
            raise ValidationError(f"limit must be at least 1, got {limit}")
        read = scan_plan(
            self.mapping, spec, index=index, consistent=consistent, include_deleted=include_deleted
        )
        shape = segment_shape(read, segment, total_segments)
        start = self.signer.decode(cursor, shape) if cursor is not None else None
        result = self.backend.read(
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
    ) -> Page[dict[str, Any]]:
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
            item = self.backend.get_item(read.table, read.key, read.consistent)
            if item is None or (read.filter is not None and not read.filter.evaluate(item)):
                return Page([], None, 0, int(item is not None))
            return Page([project(self.mapping, item, names)], None, 1, 1)
        start = self.signer.decode(cursor, read.shape()) if cursor is not None else None
        result = self.backend.read(
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

    def _outside_unit_of_work(self, operation: str) -> None:
        if self._uow is not None:
            raise ValidationError(
                f"{operation}() writes at once, outside this unit of work's transaction; inside "
                "a unit of work use add()/remove() or uow.add_update(repo.update(...))"
            )

    def _managed_fields(self) -> list[str]:
        m = self.mapping
        return [n for n in (m.created_at, m.updated_at, m.version) if n is not None]
