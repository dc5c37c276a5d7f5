"""InMemoryStore: one in-memory "database" with DynamoDB's semantics on wire items.

Items are stored in wire format, so the in-memory backend exercises the same marshalling as the
real one. Reads come back in DynamoDB's order (sort key within a partition; index keys, then table
keys, for an index), `limit` counts items evaluated before the filter, pages stop at 1 MB, and
every write, single or transactional, is applied under one lock: all or nothing.

The table and each of its indexes keep their entries by partition, in read order, so a Query
costs O(log n + k) like DynamoDB's rather than a scan of the table.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from ... import limits
from ...errors import ValidationError
from ...model.keyid import key_id
from ...model.marshal import Item, Wire
from ...query.expressions import ExpressionBuilder
from ...query.planner import Plan
from ...query.specification import BeginsWith, Between, Comparison, Spec, Value
from ...validation import item_size
from ..actions import (
    Action,
    Check,
    Delete,
    Put,
    Update,
    check_write_expressions,
    updated_attributes,
)
from ..base import (
    BatchRequests,
    Cancelled,
    ConditionalCheckFailed,
    RawReason,
    ReadResult,
    read_expressions,
)
from .stream import TableStream
from .updates import apply_clauses

_READ_UNIT_BYTES = 4096  # one strongly consistent read unit
_UNCHANGED: Any = object()  # a staged ConditionCheck: the item stays as it is


def _sort_value(wire: Wire | None) -> tuple[int, Any]:
    if wire is None:
        return (0, b"")
    (tag, inner), *_ = wire.items()
    if tag == "N":
        return (1, Decimal(inner))
    if tag == "S":
        return (2, inner.encode("utf-8"))
    return (3, bytes(inner))


Order = tuple[Any, ...]
KeyId = tuple[Any, ...]


def _partition_id(wire: Any) -> tuple[str, Any] | None:
    """A hashable identity that two partition key values share exactly when DynamoDB takes them
    as equal (numbers by value); None for a value that is no key (not S, N or B)."""
    if not isinstance(wire, dict) or len(wire) != 1:
        return None
    (tag, inner), *_ = wire.items()
    try:
        if tag == "S" and isinstance(inner, str):
            return ("S", inner)
        if tag == "N":
            return ("N", Decimal(inner))
        if tag == "B":
            return ("B", bytes(inner))
    except (TypeError, ValueError, ArithmeticError):
        return None
    return None


class _Partition:
    """One partition of the table or an index: the entries' read orders, sorted, and the
    primary key each one stands for."""

    __slots__ = ("keys", "kids")

    def __init__(self) -> None:
        self.keys: list[Order] = []
        self.kids: dict[Order, KeyId] = {}


class _Index:
    """The table's (name None) or one index's entries by partition. An item lacking the index's
    key attributes is not in it (a sparse index). An entry whose key value is not S, N or B (which
    DynamoDB refuses to store) is only counted as irregular: Queries on that index then fall back
    to evaluating every item, so they behave as before even on such data."""

    def __init__(self, pk_attr: str, sk_attr: str | None, order: Callable[[Item], Order]) -> None:
        self.pk_attr = pk_attr
        self.sk_attr = sk_attr
        self.order = order
        self.partitions: dict[tuple[str, Any], _Partition] = {}
        self.entries: dict[KeyId, tuple[tuple[str, Any], Order]] = {}
        self.irregular: set[KeyId] = set()

    def entry(self, item: Item) -> tuple[tuple[str, Any], Order] | Literal[False] | None:
        """(partition, read order) of `item` in this index; None when it lacks a key attribute
        (not in a sparse index), False when a key value is irregular."""
        if self.pk_attr not in item or (self.sk_attr is not None and self.sk_attr not in item):
            return None
        pid = _partition_id(item[self.pk_attr])
        if pid is None or (self.sk_attr is not None and _partition_id(item[self.sk_attr]) is None):
            return False
        try:
            return pid, self.order(item)
        except (TypeError, ValueError, ArithmeticError):
            return False

    def put(self, kid: KeyId, item: Item) -> None:
        """Index `item` under `kid`, replacing its entry if any; an entry that stays where it
        was (most overwrites and updates keep their keys) is left alone."""
        entry = self.entry(item)
        if entry and entry == self.entries.get(kid):
            return
        self.remove(kid)
        if entry is False:
            self.irregular.add(kid)
        elif entry:
            pid, position = entry
            partition = self.partitions.get(pid)
            if partition is None:
                partition = self.partitions[pid] = _Partition()
            insort(partition.keys, position)
            partition.kids[position] = kid
            self.entries[kid] = entry

    def remove(self, kid: KeyId) -> None:
        self.irregular.discard(kid)
        entry = self.entries.pop(kid, None)
        if entry is None:
            return
        pid, position = entry
        partition = self.partitions[pid]
        at = bisect_left(partition.keys, position)
        del partition.keys[at]
        del partition.kids[position]
        if not partition.keys:
            del self.partitions[pid]

    def clear(self) -> None:
        self.partitions.clear()
        self.entries.clear()
        self.irregular.clear()


class _TableData:
    """A table's items by key id, and its indexes kept in step with them: every change to
    `items` goes through `store` and `delete`."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.items: dict[KeyId, Item] = {}
        self.indexes: dict[str | None, _Index] = {}
        self.stream: TableStream | None = None  # set by InMemoryStore.enable_stream
        for name in (None, *table.indexes):
            pk_attr, sk_attr = table.index_keys(name)
            self.indexes[name] = _Index(pk_attr, sk_attr, _query_order(table, name))

    def store(self, kid: KeyId, item: Item) -> None:
        if self.stream is not None:
            self.stream.record(self.items.get(kid), item)
        self.items[kid] = item
        for index in self.indexes.values():
            index.put(kid, item)

    def delete(self, kid: KeyId) -> None:
        old = self.items.pop(kid, None)
        if old is None:
            return
        if self.stream is not None:
            self.stream.record(old, None)
        for index in self.indexes.values():
            index.remove(kid)

    def clear(self) -> None:
        self.items.clear()
        for index in self.indexes.values():
            index.clear()


def _query_order(table: Any, index: str | None) -> Callable[[Mapping[str, Wire]], Order]:
    """A Query's order on the table or `index`: the sort key, then the table's keys (which
    makes it total, so equal index keys come back in one deterministic order)."""
    _, sk = table.index_keys(index)
    table_keys = table.key_attributes()

    def order(item: Mapping[str, Wire]) -> Order:
        head = (_sort_value(item.get(sk)),) if sk else ()
        return head + tuple(_sort_value(item.get(a)) for a in table_keys)

    return order


class InMemoryStore:
    """The in-memory "database": the `Backend` contract performed in memory with DynamoDB's
    rules, limits and errors. Share one store between every InMemoryUnitOfWork and repository
    that should see the same data; it is thread-safe. `requests` lists the operation names
    performed, for tests that count round trips."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, _TableData] = {}
        self._tokens: dict[str, tuple[float, str]] = {}
        self.requests: list[str] = []  # operation names, for tests that count round trips
        # Stored items a Query or Scan has looked at, for tests that check a Query reads only
        # its partition's range.
        self.examined = 0
        self._indexed = True  # False: every Query evaluates every item (tests compare the two)

    # ------------------------------------------------------------------ schema

    def register(self, table: Any) -> None:
        """Create the table in memory (empty), if it is not there yet."""
        with self._lock:
            if table.name not in self._tables:
                self._tables[table.name] = _TableData(table)

    def enable_stream(self, table: str, view_type: str = "NEW_AND_OLD_IMAGES") -> str:
        """Start logging the table's changes as DynamoDB Streams does (see
        `persistence.backends.memory.stream`); returns the stream's ARN. Read it with
        `MemoryStreamsClient(store)` or `persistence.testing.stream_poller`."""
        with self._lock:
            data = self._data(table)
            data.stream = TableStream(table, data.table.key_attributes(), view_type)
            return data.stream.arn

    def stream(self, table: str) -> TableStream | None:
        """The table's stream, or None when it is not enabled."""
        return self._data(table).stream

    def stream_tables(self) -> list[str]:
        """The names of the tables whose stream is enabled."""
        with self._lock:
            return [name for name, data in self._tables.items() if data.stream is not None]

    def _data(self, name: str) -> _TableData:
        try:
            return self._tables[name]
        except KeyError:
            raise ValidationError(f"table {name!r} is not known to this InMemoryStore") from None

    def _key(self, data: _TableData, item: Mapping[str, Wire]) -> dict[str, Wire]:
        out = {}
        for attr in data.table.key_attributes():
            if attr not in item:
                raise ValidationError(f"the key of table {data.table.name!r} needs {attr!r}")
            out[attr] = item[attr]
        return out

    def items(self, table: str) -> list[Item]:
        """Every stored item of a table (a copy), for tests and debugging."""
        with self._lock:
            return [copy.deepcopy(i) for i in self._data(table).items.values()]

    def clear(self) -> None:
        """Empty every table, forget idempotency tokens and the request log."""
        with self._lock:
            for data in self._tables.values():
                data.clear()
            self._tokens.clear()
            self.requests.clear()

    # ------------------------------------------------------------------ reads

    def get_item(self, table: str, key: Mapping[str, Wire], consistent: bool) -> Item | None:
        """GetItem: a copy of the stored item under `key`, or None."""
        with self._lock:
            self.requests.append("GetItem")
            data = self._data(table)
            found = data.items.get(key_id(self._key(data, key)))
            return copy.deepcopy(found) if found is not None else None

    def batch_get(
        self, requests: Mapping[str, Sequence[Mapping[str, Wire]]], consistent: bool
    ) -> tuple[dict[str, list[Item]], dict[str, list[dict[str, Wire]]]]:
        """BatchGetItem: (found items per table, unprocessed keys per table: always none here)."""
        with self._lock:
            self.requests.append("BatchGetItem")
            found: dict[str, list[Item]] = {}
            for table, keys in requests.items():
                data = self._data(table)
                for key in keys:
                    item = data.items.get(key_id(self._key(data, key)))
                    if item is not None:
                        found.setdefault(table, []).append(copy.deepcopy(item))
            return found, {}

    def read(
        self,
        plan: Plan,
        *,
        limit: int | None,
        start_key: Mapping[str, Wire] | None,
        select_count: bool = False,
        segment: int | None = None,
        total_segments: int | None = None,
        projection: Sequence[str] | None = None,
        return_consumed_capacity: bool = False,
    ) -> ReadResult:
        """One Query or Scan page in DynamoDB's order (sort key within a partition; a Scan in
        hash order), with the same limit-before-filter semantics and resume key.
        """
        with self._lock:
            read_expressions(ExpressionBuilder(), plan)  # the 4 KB limit, as DynamoDB
            self.requests.append(plan.operation)
            data = self._data(plan.table)
            candidates: Iterator[Item] | None = None
            if plan.operation == "Query" and self._indexed:
                candidates = self._indexed_query(data, plan, start_key)
            if candidates is None:
                candidates = iter(
                    self._every_candidate(data, plan, segment, total_segments, start_key)
                )
            evaluated: list[Item] = []
            size = 0
            stopped = False
            # The page stops at the limit without looking at the next candidate: a Query reads
            # only what it returns (its candidates come lazily from the index).
            for item in candidates if limit is None or limit > 0 else ():
                evaluated.append(item)
                size += item_size(item)
                if size >= limits.MAX_PAGE_BYTES:
                    stopped = next(candidates, None) is not None
                    break
                if limit is not None and len(evaluated) >= limit:
                    break
            if limit is not None and len(evaluated) == limit:
                # DynamoDB hands out LastEvaluatedKey whenever it stopped at the limit.
                stopped = True
            matched = [i for i in evaluated if plan.filter is None or plan.filter.evaluate(i)]
            last_key = None
            if stopped and evaluated:
                last = evaluated[-1]
                last_key = {a: copy.deepcopy(last[a]) for a in plan.key_attributes if a in last}
            items = [] if select_count else [_project(i, projection) for i in matched]
            capacity = _read_capacity(plan, size) if return_consumed_capacity else None
            return ReadResult(items, last_key, len(matched), len(evaluated), capacity)

    def _every_candidate(
        self,
        data: _TableData,
        plan: Plan,
        segment: int | None,
        total_segments: int | None,
        start_key: Mapping[str, Wire] | None,
    ) -> list[Item]:
        """Every item the read may return, in its order, after `start_key`: a Scan's, or a
        Query's when its key condition is not one the index can narrow."""
        pk_attr, sk_attr = data.table.index_keys(plan.index)
        candidates = [
            i for i in data.items.values() if pk_attr in i and (sk_attr is None or sk_attr in i)
        ]
        self.examined += len(candidates)
        if plan.operation == "Query":
            candidates = [i for i in candidates if _all(plan.key_condition, i)]
            order = _query_order(data.table, plan.index)
            candidates.sort(key=order, reverse=plan.descending)
        else:
            if segment is not None and total_segments is not None:
                candidates = [
                    i
                    for i in candidates
                    if _segment_of(i[data.table.partition_key], total_segments) == segment
                ]
            order = self._scan_order(data)
            candidates.sort(key=order)
        if start_key is not None:
            position = order(dict(start_key))
            if plan.operation == "Query" and plan.descending:
                candidates = [i for i in candidates if order(i) < position]
            else:
                candidates = [i for i in candidates if order(i) > position]
        return candidates

    def _indexed_query(
        self, data: _TableData, plan: Plan, start_key: Mapping[str, Wire] | None
    ) -> Iterator[Item] | None:
        """The Query's items, lazily, from its partition's entries between the bounds its sort
        key condition and `start_key` set; None when the index cannot serve it exactly (then
        every item is evaluated). Every entry yielded still passes the whole key condition, so
        the bounds only skip entries that cannot match."""
        index = data.indexes.get(plan.index)
        if index is None or index.irregular:
            return None
        pid = None
        for spec in plan.key_condition:
            if (
                isinstance(spec, Comparison)
                and spec.op == "=="
                and spec.left == (index.pk_attr,)
                and isinstance(spec.right, Value)
            ):
                pid = _partition_id(spec.right.wire)
                break
        if pid is None:
            return None
        partition = index.partitions.get(pid)
        if partition is None:
            return iter(())
        keys = partition.keys
        low, high = 0, len(keys)
        if index.sk_attr is not None:
            for spec in plan.key_condition:
                low, high = _narrow(keys, spec, (index.sk_attr,), low, high)
        if start_key is not None:
            position = index.order(dict(start_key))
            if plan.descending:
                high = min(high, bisect_left(keys, position))
            else:
                low = max(low, bisect_right(keys, position))
        positions = range(high - 1, low - 1, -1) if plan.descending else range(low, high)
        return self._entries(data, partition, positions, plan.key_condition)

    def _entries(
        self, data: _TableData, partition: _Partition, positions: range, condition: Sequence[Spec]
    ) -> Iterator[Item]:
        # The list is read by position while the caller holds the lock: no write can interleave.
        for at in positions:
            item = data.items[partition.kids[partition.keys[at]]]
            self.examined += 1
            if _all(condition, item):
                yield item

    def _scan_order(self, data: _TableData) -> Any:
        table_keys = data.table.key_attributes()

        def order(item: Mapping[str, Wire]) -> tuple[Any, ...]:
            pk = item.get(table_keys[0])
            return (_hash(pk), *(_sort_value(item.get(a)) for a in table_keys))

        return order

    # ------------------------------------------------------------------ writes

    def transact_write(self, actions: Sequence[Action], token: str) -> None:
        """All actions or none, with TransactWriteItems' rules: conditions are checked
        before anything is applied (`Cancelled` with one reason per action), and a token already
        used for the same request within 10 minutes is answered without applying it again.
        """
        with self._lock:
            for action in actions:
                check_write_expressions(action)
            self.requests.append("TransactWriteItems")
            now = time.monotonic()
            self._tokens = {
                t: v for t, v in self._tokens.items() if now - v[0] < limits.TOKEN_WINDOW_SECONDS
            }
            fingerprint = _fingerprint(actions)
            seen = self._tokens.get(token)
            if seen is not None:
                if seen[1] != fingerprint:
                    raise ValidationError(
                        "IdempotentParameterMismatch: the ClientRequestToken was used for "
                        "another request"
                    )
                return  # already applied: a retried commit is applied once
            # Each action gets its own reason, as DynamoDB's CancellationReasons do: a failed
            # condition, or an update DynamoDB refuses (a document path under a missing parent)
            # on an item whose condition held. An invalid action makes the whole request
            # invalid (ValidationError, as the DynamoDB backend maps such a cancellation),
            # whatever the other actions' conditions said; every new item is computed before
            # any is stored, so nothing is written.
            reasons: list[RawReason] = []
            staged = []
            failed = False
            invalid: ValidationError | None = None
            for action in actions:
                data = self._data(action.table)
                key = self._key(data, action.item if isinstance(action, Put) else action.key)
                current = data.items.get(key_id(key))
                if action.condition is not None and not action.condition.evaluate(current or {}):
                    failed = True
                    reasons.append(
                        RawReason(
                            "ConditionalCheckFailed",
                            "The conditional request failed",
                            copy.deepcopy(current),
                        )
                    )
                    continue
                try:
                    staged.append(self._staged(action))
                except ValidationError as error:
                    invalid = invalid or error
                reasons.append(RawReason("None"))
            if invalid is not None:
                raise invalid
            if failed:
                raise Cancelled(reasons)
            for data, kid, new in staged:
                if new is _UNCHANGED:
                    continue
                if new is None:
                    data.delete(kid)
                else:
                    data.store(kid, new)
            self._tokens[token] = (now, fingerprint)

    def write(self, action: Action, *, return_values: str = "NONE") -> Item | None:
        """One Put, Update or Delete; a failed condition raises `ConditionalCheckFailed`
        with the stored item. Returns what `return_values` asks for, as DynamoDB does.
        """
        with self._lock:
            check_write_expressions(action)
            self.requests.append(type(action).__name__ + "Item")
            data = self._data(action.table)
            key = self._key(data, action.item if isinstance(action, Put) else action.key)
            current = data.items.get(key_id(key))
            if action.condition is not None and not action.condition.evaluate(current or {}):
                raise ConditionalCheckFailed(copy.deepcopy(current))
            old = copy.deepcopy(current)
            new = self._apply(action)
            if return_values == "ALL_OLD":
                return old
            if return_values == "ALL_NEW":
                return copy.deepcopy(new)
            if return_values in ("UPDATED_OLD", "UPDATED_NEW") and isinstance(action, Update):
                source = old if return_values == "UPDATED_OLD" else new
                return updated_attributes(source, action.clauses)
            return None

    def batch_write(self, requests: BatchRequests) -> BatchRequests:
        """BatchWriteItem, validated as DynamoDB does (25 requests, no duplicate keys);
        returns the unprocessed requests (always none here).
        """
        with self._lock:
            self.requests.append("BatchWriteItem")
            _check_batch(self, requests)
            for actions in requests.values():
                for action in actions:
                    self._apply(action)
            return {}

    def _apply(self, action: Action) -> Item | None:
        data, kid, new = self._staged(action)
        if new is _UNCHANGED:
            return None
        if new is None:
            data.delete(kid)
            return None
        data.store(kid, new)
        stored: Item = new
        return stored

    def _staged(self, action: Action) -> tuple[_TableData, tuple[Any, ...], Any]:
        """(table, key id, the item after `action`: None when deleted, _UNCHANGED for a
        ConditionCheck), without storing it; raises ValidationError as DynamoDB would."""
        data = self._data(action.table)
        if isinstance(action, Put):
            key = self._key(data, action.item)
            return data, key_id(key), copy.deepcopy(action.item)
        key = self._key(data, action.key)
        kid = key_id(key)
        if isinstance(action, Delete):
            return data, kid, None
        if isinstance(action, Update):
            current = data.items.get(kid) or copy.deepcopy(dict(key))
            updated = apply_clauses(current, action.clauses)
            for attr, value in key.items():
                if updated.get(attr) != value:
                    raise ValidationError(f"an update cannot change key attribute {attr!r}")
            return data, kid, updated
        assert isinstance(action, Check)
        return data, kid, _UNCHANGED


def _narrow(keys: list[Order], spec: Spec, sk: tuple[str], low: int, high: int) -> tuple[int, int]:
    """[low, high) of `keys` narrowed to the entries whose sort key can satisfy `spec`, when it
    is a condition on the sort key `sk` with literal values. Entries start with the sort key's
    (type rank, value) pair, in DynamoDB's order within a type; a condition never matches a
    value of another type, so its bounds stay within the type of its value."""

    def first(entry: Order) -> Any:
        return entry[0]

    def at_least(value: Any) -> int:
        return bisect_left(keys, value, low, high, key=first)

    def above(value: Any) -> int:
        return bisect_right(keys, value, low, high, key=first)

    if isinstance(spec, Comparison) and spec.left == sk and isinstance(spec.right, Value):
        if spec.op not in ("==", "<", "<=", ">", ">=") or _partition_id(spec.right.wire) is None:
            return low, high
        value = _sort_value(spec.right.wire)
        rank = value[0]
        start, end = at_least((rank,)), at_least((rank + 1,))
        if spec.op == "==":
            start, end = at_least(value), above(value)
        elif spec.op == "<":
            end = at_least(value)
        elif spec.op == "<=":
            end = above(value)
        elif spec.op == ">":
            start = above(value)
        else:
            start = at_least(value)
    elif (
        isinstance(spec, Between)
        and spec.left == sk
        and isinstance(spec.low, Value)
        and isinstance(spec.high, Value)
        and _partition_id(spec.low.wire) is not None
        and _partition_id(spec.high.wire) is not None
    ):
        start, end = at_least(_sort_value(spec.low.wire)), above(_sort_value(spec.high.wire))
    elif isinstance(spec, BeginsWith) and spec.path == sk and _partition_id(spec.prefix.wire):
        rank, prefix = _sort_value(spec.prefix.wire)
        start = at_least((rank, prefix))
        following = _next_prefix(prefix)
        end = at_least((rank + 1,)) if following is None else at_least((rank, following))
    else:
        return low, high
    return max(low, start), max(max(low, start), min(high, end))


def _next_prefix(prefix: bytes) -> bytes | None:
    """The least byte string above every one that starts with `prefix` (None: there is none)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes([stripped[-1] + 1])


def _read_capacity(plan: Plan, size: int) -> dict[str, Any]:
    """ConsumedCapacity (TOTAL) as DynamoDB reports it for a Query or Scan: the bytes evaluated
    (before the filter) in 4 KB read units, at least one; an eventually consistent read costs
    half."""
    units = max(1, -(-size // _READ_UNIT_BYTES))
    return {"TableName": plan.table, "CapacityUnits": units if plan.consistent else units / 2}


def _all(specs: Sequence[Spec], item: Item) -> bool:
    return all(s.evaluate(item) for s in specs)


def _check_batch(store: InMemoryStore, requests: BatchRequests) -> None:
    """What DynamoDB refuses in a BatchWriteItem: more than 25 requests, one key twice."""
    count = sum(len(actions) for actions in requests.values())
    if count > limits.MAX_BATCH_WRITE:
        raise ValidationError(
            f"a BatchWriteItem takes at most {limits.MAX_BATCH_WRITE} requests, got {count}"
        )
    for table, actions in requests.items():
        data = store._data(table)
        seen: set[tuple[Any, ...]] = set()
        for action in actions:
            kid = key_id(store._key(data, action.item if isinstance(action, Put) else action.key))
            if kid in seen:
                raise ValidationError(
                    "ValidationException: Provided list of item keys contains duplicates"
                )
            seen.add(kid)


def _hash(wire: Wire | None) -> str:
    return hashlib.md5(repr(_sort_value(wire)).encode(), usedforsecurity=False).hexdigest()


def _segment_of(wire: Wire, total: int) -> int:
    return int(_hash(wire), 16) % total


def _project(item: Item, projection: Sequence[str] | None) -> Item:
    if projection is None:
        return copy.deepcopy(item)
    return {k: copy.deepcopy(v) for k, v in item.items() if k in projection}


def _fingerprint(actions: Sequence[Action]) -> str:
    return hashlib.sha256(
        repr(
            [
                (type(a).__name__, a.table, a.key if not isinstance(a, Put) else a.item)
                for a in actions
            ]
        ).encode()
    ).hexdigest()
