"""Parallel scans and segment cursors: the segments of one Scan read by a thread pool, their items
handed back through a bounded queue so memory stays bounded however large the table is; a
segment's cursor resumes only that segment (a cursor of segment 3 of 8 resumes only there).

Every segment runs the planner's `scan_plan`: a spec that would plan a Query is still scanned,
since the caller asked for a scan and segments only exist for Scan.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor

from ..backends.base import ReadResult
from ..errors import ValidationError
from ..model.marshal import Item, Wire
from ..query.planner import Plan, scan_plan

__all__ = ["check_segment", "parallel_scan", "scan_plan", "segment_shape"]


MAX_TOTAL_SEGMENTS = 1_000_000  # DynamoDB's limit for TotalSegments


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
