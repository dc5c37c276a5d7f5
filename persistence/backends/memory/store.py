"""InMemoryStore: one in-memory "database" with DynamoDB's semantics on wire items.

Items are stored in wire format, so the in-memory backend exercises the same marshalling as the
real one. Reads come back in DynamoDB's order (sort key within a partition; index keys, then table
keys, for an index), `limit` counts items evaluated before the filter, pages stop at 1 MB, and
every write, single or transactional, is applied under one lock: all or nothing.
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ... import limits
from ...errors import ValidationError
from ...model.keyid import key_id
from ...model.marshal import Item, Wire
from ...query.expressions import ExpressionBuilder
from ...query.planner import Plan
from ...query.specification import Spec
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


class _TableData:
    def __init__(self, table: Any) -> None:
        self.table = table
        self.items: dict[tuple[Any, ...], Item] = {}


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

    # ------------------------------------------------------------------ schema

    def register(self, table: Any) -> None:
        """Create the table in memory (empty), if it is not there yet."""
        with self._lock:
            if table.name not in self._tables:
                self._tables[table.name] = _TableData(table)

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
                data.items.clear()
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
            pk_attr, sk_attr = data.table.index_keys(plan.index)
            candidates = [
                i for i in data.items.values() if pk_attr in i and (sk_attr is None or sk_attr in i)
            ]
            if plan.operation == "Query":
                candidates = [i for i in candidates if _all(plan.key_condition, i)]
                order = self._query_order(data, plan.index)
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
            evaluated: list[Item] = []
            size = 0
            stopped = False
            for item in candidates:
                if limit is not None and len(evaluated) >= limit:
                    stopped = True
                    break
                evaluated.append(item)
                size += item_size(item)
                if size >= limits.MAX_PAGE_BYTES:
                    stopped = len(evaluated) < len(candidates)
                    break
            else:
                stopped = False
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

    def _query_order(self, data: _TableData, index: str | None) -> Any:
        _, sk = data.table.index_keys(index)
        table_keys = data.table.key_attributes()

        def order(item: Mapping[str, Wire]) -> tuple[Any, ...]:
            head = (_sort_value(item.get(sk)),) if sk else ()
            return head + tuple(_sort_value(item.get(a)) for a in table_keys)

        return order

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
            reasons: list[RawReason] = []
            failed = False
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
                else:
                    reasons.append(RawReason("None"))
            if failed:
                raise Cancelled(reasons)
            # Every new item is computed before any is stored: an update DynamoDB refuses (a
            # document path under a missing parent...) fails the whole transaction, nothing is
            # written.
            staged = [self._staged(action) for action in actions]
            for data, kid, new in staged:
                if new is _UNCHANGED:
                    continue
                if new is None:
                    data.items.pop(kid, None)
                else:
                    data.items[kid] = new
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
            data.items.pop(kid, None)
            return None
        data.items[kid] = new
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
