"""Copy progress reports and the terminal progress bar."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TextIO


@dataclass(frozen=True)
class CopyProgress:
    """Progress of `copy_table`, passed to its `progress` callback after each page: items
    scanned, written and skipped so far, segments finished, and the source's approximate item
    count (None when unknown).
    """

    source: str
    target: str
    scanned: int
    written: int
    skipped: int
    segments_done: int
    segments: int
    estimated_total: int | None


class TerminalProgress:
    """A one-line progress bar on a terminal stream (stderr by default).

    The library never prints on its own: pass this as `copy_table(progress=...)`; the CLI does
    so when stderr is a terminal.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.width = width

    def __call__(self, p: CopyProgress) -> None:
        finished = p.segments_done == p.segments
        total = p.estimated_total  # DescribeTable's ItemCount: refreshed every few hours only
        if total:
            ratio = 1.0 if finished else min(p.scanned / total, 1.0)
            filled = int(ratio * self.width)
            count = f"[{'#' * filled}{'-' * (self.width - filled)}] {p.scanned}/~{total} scanned"
        else:
            count = f"{p.scanned} scanned"
        self.stream.write(
            f"\r{p.source} -> {p.target} {count}, {p.written} written "
            f"({p.segments_done}/{p.segments} segments done)"
        )
        if finished:
            self.stream.write("\n")
        self.stream.flush()


def terminal_progress() -> TerminalProgress | None:
    """A TerminalProgress when stderr is a terminal, else None (no bar in logs and pipes)."""
    return TerminalProgress() if sys.stderr.isatty() else None
