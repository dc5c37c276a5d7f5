"""Best-of-N timing: the minimum is the figure least disturbed by the rest of the machine."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


def best(fn: Callable[[], Any], *, number: int, repeat: int) -> float:
    """Seconds per call, the best of `repeat` runs of `number` calls."""
    fn()  # warm caches and converters
    timings = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            timings.append((time.perf_counter() - start) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return min(timings)
