"""`python -m domain_example coldstart`: cold-start phases of the Lambda handler, measured in
fresh Python processes (each one a cold container) against the configured endpoint."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from .local import dynamodb_endpoint, local_container

# What a cold container does: import the handler module, then serve its first request.
CHILD = """
import json
from domain_example.entrypoints import lambda_handlers as module
event = {"httpMethod": "GET", "path": "/owners/nobody/stats"}
response = module.handler(event, None)
assert response["statusCode"] == 200, response
print(json.dumps(module.COLD_START.report()))
"""


def measure_once(endpoint: str, table: str | None, memory: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "PERSISTENCE_CURSOR_SECRET": "coldstart",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    if table:
        env["PAYMENTS_TABLE"] = table
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def run_coldstart(endpoint_url: str | None, table: str | None, runs: int, memory: int) -> int:
    with dynamodb_endpoint(endpoint_url) as (endpoint, _):
        local_container(endpoint, table)  # the table must exist before the first request
        reports = [measure_once(endpoint, table, memory) for _ in range(runs)]
    phases = list(reports[0]["phases_ms"])
    print(f"cold start of the Lambda handler, median of {runs} fresh processes (ms):")
    for phase in [*phases, "total"]:
        values = [r["total_ms"] if phase == "total" else r["phases_ms"][phase] for r in reports]
        print(f"  {phase:<14} {statistics.median(values):8.1f}")
    before = [r["before_measuring_ms"] for r in reports if "before_measuring_ms" in r]
    if before:
        print(f"  {'(interpreter)':<14} {statistics.median(before):8.1f}  before measuring began")
    rss = statistics.median(r["memory"]["max_rss_mb"] for r in reports)
    print(f"  peak RSS       {rss:8.1f} MB")
    return 0
