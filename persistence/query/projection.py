"""Reads beyond whole-aggregate queries: parallel scans, segment cursors and projected reads.

- `scan_plan` builds the Scan a parallel scan runs in every segment (a spec that would plan a
  Query is still scanned: the caller asked for a scan, and segments only exist for Scan).
- `parallel_scan` runs the segments on a thread pool and hands the items back through a bounded
  queue, so memory stays bounded however large the table is.
- `segment_shape` binds a cursor to its segment: a cursor of segment 3 of 8 resumes only there.
- `projected_plan` plans `find(..., fields=[...])`, which may also read a KEYS_ONLY or INCLUDE
  index when every named field (and every field the filter needs) is projected into it.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from ..backends.base import ReadResult
from ..errors import ValidationError
from ..model.mapping import AccessPath, Mapping
from ..model.marshal import Item, Wire
from ..write.update import missing_value, typed_value
from .planner import Plan, plan, scan_plan
from .specification import (
    Comparison,
    Spec,
    Value,
    all_of,
    conjuncts,
    wire_equal,
)

MAX_TOTAL_SEGMENTS = 1_000_000  # DynamoDB's limit for TotalSegments

# ---------------------------------------------------------------------- scan plans


def check_segment(segment: int, total_segments: int) -> None:
    for name, value in (("segment", segment), ("total_segments", total_segments)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{name} must be an int, got {value!r}")
    if not 1 <= total_segments <= MAX_TOTAL_SEGMENTS:
        raise ValidationError(
            f"total_segments must be between 1 and {MAX_TOTAL_SEGMENTS}, got {total_segments}"
        )
    if not 0 <= segment < total_segments:
        raise ValidationError(f"segment must be between 0 and {total_segments - 1}, got {segment}")


def segment_shape(read: Plan, segment: int, total_segments: int) -> str:
    """The cursor shape of one segment: the same scan in another segment refuses it."""
    return f"{read.shape()}\x1fsegment {segment}/{total_segments}"


# ---------------------------------------------------------------------- parallel scan

ReadSegment = Callable[[int, dict[str, Wire] | None], ReadResult]


class _Done:
    pass


@dataclasses.dataclass
class _Failed:
    error: BaseException


def parallel_scan(
    read_segment: ReadSegment, segments: int, workers: int
) -> Generator[Item, None, None]:
    """Every item of every segment, each exactly once; the first error stops all workers and is
    raised to the caller. Closing the generator early stops the workers too."""
    check_segment(0, segments)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValidationError(f"workers must be an int >= 1, got {workers!r}")
    # Bounded: workers wait while the caller is slow, so at most a few pages sit in memory.
    pages: queue.Queue[list[Item] | _Done | _Failed] = queue.Queue(maxsize=2 * workers)
    stop = threading.Event()

    def offer(message: list[Item] | _Done | _Failed) -> None:
        while not stop.is_set():
            try:
                pages.put(message, timeout=0.05)
                return
            except queue.Full:
                continue

    def run(segment: int) -> None:
        try:
            start: dict[str, Wire] | None = None
            while not stop.is_set():
                result = read_segment(segment, start)
                if result.items:
                    offer(result.items)
                start = result.last_key
                if start is None:
                    break
        except BaseException as exc:  # handed to the caller's thread
            offer(_Failed(exc))
        finally:
            offer(_Done())

    with ThreadPoolExecutor(max_workers=min(workers, segments)) as pool:
        for segment in range(segments):
            pool.submit(run, segment)
        try:
            yield from _drain(pages, segments)
        finally:
            stop.set()


def _drain(pages: queue.Queue[list[Item] | _Done | _Failed], segments: int) -> Iterator[Item]:
    finished = 0
    while finished < segments:
        message = pages.get()
        if isinstance(message, _Done):
            finished += 1
        elif isinstance(message, _Failed):
            raise message.error
        else:
            yield from message


# ---------------------------------------------------------------------- projected reads


class _IndexView:
    """The mapping as the planner sees it, with one partially projected index made plannable.

    The planner only plans whole-aggregate reads, so it refuses indexes that do not project ALL;
    a projected read checks availability itself (projected_plan) and plans through this view.
    """

    def __init__(self, mapping: Mapping[Any], index: str) -> None:
        self._mapping = mapping
        self.paths = [
            dataclasses.replace(p, projection="ALL") for p in mapping.paths if p.index == index
        ]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mapping, name)


def check_fields(mapping: Mapping[Any], fields: Sequence[str]) -> list[str]:
    if isinstance(fields, str) or not fields:
        raise ValidationError("fields needs a non-empty list of field names, e.g. fields=['owner']")
    names: list[str] = []
    for name in fields:
        if name not in mapping.field_names:
            raise ValidationError(
                f"{mapping.name} has no field {name!r}; fields: {sorted(mapping.field_names)}"
            )
        if name not in names:
            names.append(name)
    return names


def projected_plan(
    mapping: Mapping[Any],
    spec: Spec | None,
    fields: Sequence[str],
    *,
    index: str | None,
    descending: bool,
    consistent: bool,
    allow_scan: bool,
    include_deleted: bool,
) -> tuple[Plan, list[str], list[str]]:
    """(plan, the fields asked for, the attributes to request)."""
    names = check_fields(mapping, fields)
    path = next((p for p in mapping.paths if p.index == index), None) if index else None
    partial = path is not None and path.projection != "ALL"
    planned_on: Any = _IndexView(mapping, index) if partial and index else mapping
    read = plan(
        cast(Mapping[Any], planned_on),
        spec,
        index=index,
        descending=descending,
        consistent=consistent,
        allow_scan=allow_scan,
        include_deleted=include_deleted,
    )
    if partial and path is not None:
        read = _fit_to_projection(mapping, read, path, names)
    extra = [str(p[0]) for p in (read.post_filter.paths() if read.post_filter else ())]
    request = list(dict.fromkeys([*names, *extra]))
    return read, names, request


def _available(mapping: Mapping[Any], path: AccessPath) -> set[str]:
    keys = {
        *mapping.table.key_attributes(),
        path.pk_attr,
        *([path.sk_attr] if path.sk_attr else []),
    }
    if path.projection == "KEYS_ONLY":
        return keys
    return keys | set(path.projection)


def _fit_to_projection(
    mapping: Mapping[Any], read: Plan, path: AccessPath, names: list[str]
) -> Plan:
    """Check that the index holds what the read needs; drop the type filter when the index
    does not hold the type attribute (only safe when no other aggregate type uses the index)."""
    available = _available(mapping, path)
    missing = [n for n in names if n not in available]
    if missing:
        raise ValidationError(
            f"index {path.index!r} does not project {missing}; it holds {sorted(available)}: "
            "ask for those fields only, or read the table"
        )
    type_attr = mapping.table.type_attribute
    parts = [p for p in conjuncts(read.filter) if not _implied_by_key(mapping, p, read)]
    if type_attr not in available:
        _check_index_not_shared(mapping, path)
        parts = [p for p in parts if not _is_type_filter(p, type_attr)]
    needed = sorted(
        {str(p[0]) for part in [*parts, *conjuncts(read.post_filter)] for p in part.paths()}
        - available
    )
    if needed:
        hint = " (or pass include_deleted=True)" if mapping.soft_delete in needed else ""
        raise ValidationError(
            f"the specification needs {needed}, which index {path.index!r} does not project; "
            f"it holds {sorted(available)}{hint}"
        )
    return dataclasses.replace(read, filter=all_of(parts), path=path)


def _implied_by_key(mapping: Mapping[Any], part: Spec, read: Plan) -> bool:
    """An equality on the one field of a single-hole partition key template ("BRANCH#{branch}")
    that renders the queried partition key is exactly what the key condition already requires,
    so the index need not hold the field. (With several holes, "{a}#{b}" can render the same
    text from other values: such parts are kept.)"""
    path = read.path
    if read.operation != "Query" or path is None or len(path.pk.fields) != 1:
        return False
    if not (
        isinstance(part, Comparison)
        and part.op == "=="
        and isinstance(part.left, tuple)
        and part.left == (path.pk.fields[0],)
        and isinstance(part.right, Value)
    ):
        return False
    rendered = mapping.key_value(path.pk, {path.pk.fields[0]: part.right.value})
    queried = read.key_condition[0]
    return (
        rendered is not None
        and isinstance(queried, Comparison)
        and isinstance(queried.right, Value)
        and wire_equal(rendered, queried.right.wire)
    )


def _is_type_filter(part: Spec, type_attr: str) -> bool:
    return (
        isinstance(part, Comparison) and isinstance(part.left, tuple) and part.left == (type_attr,)
    )


def _check_index_not_shared(mapping: Mapping[Any], path: AccessPath) -> None:
    others = [
        m.name
        for m in mapping.table.mappings
        if m is not mapping and any(p.index == path.index for p in m.paths)
    ]
    if others:
        raise ValidationError(
            f"index {path.index!r} is shared with {others} and does not project the type "
            f"attribute {mapping.table.type_attribute!r}, so its entries cannot be told apart; "
            "project the type attribute into the index"
        )


def project(mapping: Mapping[Any], item: Item, names: Sequence[str]) -> dict[str, Any]:
    """The named fields of an item as typed values (absent: None, or an empty set)."""
    return {
        n: typed_value(mapping, n, item[n]) if n in item else missing_value(mapping, n)
        for n in names
    }


__all__ = [
    "check_fields",
    "check_segment",
    "parallel_scan",
    "project",
    "projected_plan",
    "scan_plan",
    "segment_shape",
]
