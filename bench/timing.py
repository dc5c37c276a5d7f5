"""Interleaved timing: contenders measured round by round on the same machine state."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


def interleaved(
    contenders: list[Callable[[], Any]], *, rounds: int, budget: float
) -> list[list[float]]:
    """Seconds per call of each contender in each round, the contenders run one after the other
    inside a round, in an order that rotates from round to round.

    Timing contenders back to back (all of A, then all of B) lets a load change on a shared
    machine land on one of them only; interleaved, every round sees the same machine, so the ratio
    of two contenders within a round is meaningful even when the absolute figures drift. Each
    contender calls itself enough times to fill about `budget` seconds per round.
    """
    numbers = []
    for fn in contenders:
        fn()  # warm caches and converters
        start = time.perf_counter()
        fn()
        one = max(time.perf_counter() - start, 1e-7)
        numbers.append(max(1, round(budget / one)))
    out: list[list[float]] = [[] for _ in contenders]
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            for k in range(len(contenders)):
                i = (k + r) % len(contenders)
                fn, number = contenders[i], numbers[i]
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                out[i].append((time.perf_counter() - start) / number)
            gc.collect()  # between rounds, never inside a timed loop
    finally:
        if gc_was_enabled:
            gc.enable()
    return out
