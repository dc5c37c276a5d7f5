"""The copy checkpoint: each scan segment's position in a JSON file, saved atomically."""

from __future__ import annotations

import base64
import json
import os
import tempfile
import threading
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TableError


@dataclass
class SegmentState:
    last_key: dict[str, Any] | None = None
    done: bool = False
    scanned: int = 0
    written: int = 0
    skipped: int = 0


class Checkpoint:
    """Each segment's LastEvaluatedKey and done flag in a JSON file, rewritten atomically after
    every page, so a rerun resumes where the last complete page ended."""

    VERSION = 1

    def __init__(self, path: Path | None, source: str, target: str, segments: int) -> None:
        self.path, self.source, self.target = path, source, target
        self.segments = [SegmentState() for _ in range(segments)]
        self.resumed = False
        self.lock = threading.Lock()
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise TableError(
                f"checkpoint {path} is unreadable ({error}); delete it to start over"
            ) from error
        expected = (self.VERSION, self.source, self.target, len(self.segments))
        found = (
            data.get("version"),
            data.get("source"),
            data.get("target"),
            len(data.get("segments", [])),
        )
        if found != expected:
            raise TableError(
                f"checkpoint {path} belongs to another copy (version, source, target, segments = "
                f"{found}, this copy is {expected}); use the same options or another file"
            )
        for state, saved in zip(self.segments, data["segments"], strict=True):
            state.last_key = _key_from_json(saved.get("last_evaluated_key"))
            state.done = bool(saved.get("done"))
            state.scanned = int(saved.get("scanned", 0))
            state.written = int(saved.get("written", 0))
            state.skipped = int(saved.get("skipped", 0))
        self.resumed = True

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "version": self.VERSION,
            "source": self.source,
            "target": self.target,
            "segments": [
                {
                    "segment": n,
                    "last_evaluated_key": _key_to_json(s.last_key),
                    "done": s.done,
                    "scanned": s.scanned,
                    "written": s.written,
                    "skipped": s.skipped,
                }
                for n, s in enumerate(self.segments)
            ],
        }
        # Write then rename: a crash mid-write must not leave a half checkpoint behind.
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
        os.replace(tmp, self.path)

    def totals(self) -> tuple[int, int, int, int]:
        scanned = sum(s.scanned for s in self.segments)
        written = sum(s.written for s in self.segments)
        skipped = sum(s.skipped for s in self.segments)
        return scanned, written, skipped, sum(s.done for s in self.segments)


def _key_to_json(key: MappingABC[str, Any] | None) -> dict[str, Any] | None:
    # Binary key values arrive as bytes; DynamoDB JSON writes them base64, and so do we.
    if key is None:
        return None
    out: dict[str, Any] = {}
    for attr, wire in key.items():
        kind, value = next(iter(wire.items()))
        out[attr] = {kind: base64.b64encode(value).decode() if kind == "B" else value}
    return out


def _key_from_json(key: MappingABC[str, Any] | None) -> dict[str, Any] | None:
    if key is None:
        return None
    out: dict[str, Any] = {}
    for attr, wire in key.items():
        kind, value = next(iter(wire.items()))
        out[attr] = {kind: base64.b64decode(value) if kind == "B" else value}
    return out
