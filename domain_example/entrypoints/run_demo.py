"""Runs the demo on the configured endpoint and prints its summary."""

from __future__ import annotations

import sys
import time

from .demo import Demo
from .local import dynamodb_endpoint, local_container
from .report import print_json, print_text


def run_demo(
    endpoint_url: str | None, table: str | None, threads: int, transfers: int, as_json: bool
) -> int:
    started = time.perf_counter()
    with dynamodb_endpoint(endpoint_url) as (endpoint, embedded):
        container = local_container(endpoint, table, deliver_events_inline=False)
        summary = Demo(container, threads=threads, transfers=transfers).run()
    if as_json:
        print_json(summary, sys.stdout)
    else:
        where = "an embedded moto server" if embedded else endpoint
        print(f"payments demo on {where}\n")
        print_text(summary, sys.stdout)
        print(f"\ndone in {time.perf_counter() - started:.1f}s")
    return 0 if summary.money_conserved and summary.events_agree else 1
