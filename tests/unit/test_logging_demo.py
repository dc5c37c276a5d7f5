"""domain_example renders the library's standard-library records through structlog, like its own
lines: the `extra=` fields and the request's bound context in the same JSON line (on Lambda) or
console line (locally). In a subprocess: logging configuration is process-wide."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import logging
import sys

if sys.argv[1] == "lambda":
    # What the Lambda runtime does before the function's code runs.
    logging.getLogger().addHandler(logging.StreamHandler(sys.stdout))

import structlog

import persistence as p
from domain_example.log_config import bind_request, configure_logging
from persistence.testing.models import ACCOUNTS, Account

configure_logging(json=sys.argv[1] in ("json", "lambda"), level="debug")
configure_logging(json=sys.argv[1] in ("json", "lambda"), level="debug")  # twice: one handler
bind_request("req-1", path="/accounts")
uow = p.InMemoryUnitOfWork([ACCOUNTS])
with uow:
    uow.repository(Account).add(Account("a1", "ann"))
    uow.commit()
structlog.get_logger("domain_example.test").info("request", status=201)
logging.getLogger("botocore.test").info("not shown: other libraries stay at WARNING")
logging.getLogger("botocore.test").warning("shown")
"""


def run(mode: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_library_records_render_as_json_lines_with_their_fields_and_the_request_context() -> None:
    done = run("json")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = json_lines(done.stderr)
    assert [line["event"] for line in lines] == ["commit", "request", "shown"]
    commit, request, shown = lines
    assert {k: commit[k] for k in ("actions", "level", "request_id", "path")} == {
        "actions": 1,
        "level": "debug",
        "request_id": "req-1",
        "path": "/accounts",
    }
    assert commit["timestamp"].endswith("Z")
    assert (request["status"], request["request_id"], request["level"]) == (201, "req-1", "info")
    assert shown["level"] == "warning"


def test_library_records_read_like_structlog_lines_on_the_console() -> None:
    done = run("console")
    assert done.returncode == 0, done.stderr
    commit, request, shown = done.stderr.splitlines()
    # "2026-01-01T00:00:00.000000Z [debug    ] commit    actions=1 path=/accounts request_id=req-1"
    assert commit.split()[1:] == [
        "[debug",
        "]",
        "commit",
        "actions=1",
        "path=/accounts",
        "request_id=req-1",
    ]
    assert request.split()[3:] == ["request", "path=/accounts", "request_id=req-1", "status=201"]
    assert shown.split()[3:] == ["shown", "path=/accounts", "request_id=req-1"]


def test_on_lambda_the_runtime_handler_is_replaced_so_no_line_is_written_twice() -> None:
    done = run("lambda", AWS_LAMBDA_FUNCTION_NAME="payments")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert [line["event"] for line in json_lines(done.stderr)] == ["commit", "request", "shown"]
