"""Copying every item of one table into another with a parallel scan, plus item counting."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import TableError, ValidationError
from ..model.mapping import Mapping, Table
from ..model.marshal.wire import Item
from ..runtime.retry import Backoff
from .batch_write import batch_chunks, write_batch
from .checkpoint import Checkpoint, SegmentState
from .live import raw_describe
from .progress import CopyProgress
from .schema import Client, table_name_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CopyResult:
    """What `copy_table` did: items scanned in the source, written to the target, skipped by
    the transform, the target's item count afterwards, and whether it resumed a checkpoint.
    """

    source: str
    target: str
    scanned: int
    written: int
    skipped: int
    target_count: int
    resumed: bool


TransformRaw = Callable[[Item], Item | None]


@dataclass
class _Copy:
    client: Client
    source: str
    target: str
    target_keys: tuple[str, ...]
    transform: TransformRaw | None
    checkpoint: Checkpoint
    page_size: int | None
    progress: Callable[[CopyProgress], None] | None
    estimated_total: int | None
    backoff: Backoff
    stop: threading.Event = field(default_factory=threading.Event)
    reported: bool = False

    def run_segment(self, segment: int) -> None:
        state = self.checkpoint.segments[segment]
        while not state.done and not self.stop.is_set():
            request: dict[str, Any] = {
                "TableName": self.source,
                "Segment": segment,
                "TotalSegments": len(self.checkpoint.segments),
            }
            if state.last_key:
                request["ExclusiveStartKey"] = state.last_key
            if self.page_size:
                request["Limit"] = self.page_size
            page = self.client.scan(**request)
            items = page.get("Items", [])
            out = [t for t in map(self._transform, items) if t is not None]
            for chunk in batch_chunks(out, self.target_keys):
                write_batch(self.client, self.target, chunk, backoff=self.backoff)
            self._record(state, page.get("LastEvaluatedKey"), len(items), len(out))

    def _transform(self, item: Item) -> Item | None:
        return item if self.transform is None else self.transform(item)

    def _record(self, state: SegmentState, last_key: Any, scanned: int, written: int) -> None:
        with self.checkpoint.lock:
            state.last_key = last_key
            state.done = last_key is None
            state.scanned += scanned
            state.written += written
            state.skipped += scanned - written
            self.checkpoint.save()
            self.report()

    def report(self) -> None:
        self.reported = True
        if self.progress is None:
            return
        scanned, written, skipped, done = self.checkpoint.totals()
        self.progress(
            CopyProgress(
                self.source,
                self.target,
                scanned,
                written,
                skipped,
                done,
                len(self.checkpoint.segments),
                self.estimated_total,
            )
        )


def copy_table(
    client: Client,
    source: Table | Mapping[Any] | str,
    target: Table | Mapping[Any] | str,
    transform: Callable[[Any], Any] | None = None,
    segments: int = 4,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: Callable[[CopyProgress], None] | None = None,
    *,
    page_size: int | None = None,
    backoff: Backoff | None = None,
) -> CopyResult:
    """Copy every item of `source` into the existing table `target` with a parallel scan.

    `transform` receives a raw wire item and returns one, or None to skip it. When both source
    and target are Mappings, it receives and returns aggregates instead (from_item/to_item);
    items of other types in a shared table are copied unchanged. With `checkpoint` (a JSON file)
    a rerun after a failure resumes each segment after its last complete page.
    """
    if segments < 1:
        raise ValidationError("segments must be at least 1")
    source_name, target_name = table_name_of(source), table_name_of(target)
    if source_name == target_name:
        raise ValidationError(f"cannot copy table {source_name!r} onto itself")
    source_raw = raw_describe(client, source_name)
    target_raw = raw_describe(client, target_name)
    for name, raw in ((source_name, source_raw), (target_name, target_raw)):
        if raw is None:
            raise TableError(f"table {name!r} does not exist; create it first (ensure_table)")
    assert source_raw is not None and target_raw is not None
    state = Checkpoint(Path(checkpoint) if checkpoint else None, source_name, target_name, segments)
    job = _Copy(
        client=client,
        source=source_name,
        target=target_name,
        target_keys=tuple(k["AttributeName"] for k in target_raw["KeySchema"]),
        transform=_raw_transform(source, target, transform),
        checkpoint=state,
        page_size=page_size,
        progress=progress,
        estimated_total=source_raw.get("ItemCount"),
        backoff=backoff or Backoff(),
    )
    log.info(
        "table_copy_start",
        extra={"source": source_name, "target": target_name, "resumed": state.resumed},
    )
    _run_segments(job, segments)
    scanned, written, skipped, _ = state.totals()
    if not job.reported:  # everything was done by an earlier run: still show the final state
        job.report()
    count = count_items(client, target_name)
    if count < written:
        raise TableError(
            f"copy {source_name!r} -> {target_name!r} wrote {written} items but the target holds "
            f"{count}: some writes were lost or the transform gave several items the same key"
        )
    log.info(
        "table_copy_done", extra={"source": source_name, "target": target_name, "written": written}
    )
    return CopyResult(source_name, target_name, scanned, written, skipped, count, state.resumed)


def _run_segments(job: _Copy, segments: int) -> None:
    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix="copy") as pool:
        futures = [pool.submit(job.run_segment, n) for n in range(segments)]
        try:
            wait_futures(futures, return_when=FIRST_EXCEPTION)
        finally:
            # On a failure (or Ctrl-C) the other segments stop after their current page, so
            # the checkpoint records exactly what was written.
            job.stop.set()
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error


def _raw_transform(
    source: Table | Mapping[Any] | str,
    target: Table | Mapping[Any] | str,
    transform: Callable[[Any], Any] | None,
) -> TransformRaw | None:
    if transform is None or not (isinstance(source, Mapping) and isinstance(target, Mapping)):
        return transform
    src, dst, change = source, target, transform

    def over_aggregates(item: Item) -> Item | None:
        if not src.is_type(item):
            return item
        result = change(src.from_item(item))
        return None if result is None else dst.to_item(result)

    return over_aggregates


def count_items(client: Client, table: Table | str) -> int:
    """Exact item count (a consistent Scan with Select=COUNT), unlike DescribeTable's estimate."""
    request: dict[str, Any] = {
        "TableName": table_name_of(table),
        "Select": "COUNT",
        "ConsistentRead": True,
    }
    total = 0
    while True:
        page = client.scan(**request)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def is_empty(client: Client, table: Table | str) -> bool:
    """Whether the table holds no item (one Scan with Limit=1 and Select=COUNT)."""
    page = client.scan(TableName=table_name_of(table), Limit=1, Select="COUNT")
    return int(page.get("Count", 0)) == 0 and "LastEvaluatedKey" not in page


def renamed(table: Table, name: str) -> Table:
    """A Table with the same schema under another name (a copy target), key types frozen."""
    return Table(
        name,
        table.partition_key,
        table.sort_key,
        indexes=list(table.indexes.values()),
        ttl_attribute=table.ttl_attribute,
        type_attribute=table.type_attribute,
        attribute_types=table.attribute_types(),
    )
