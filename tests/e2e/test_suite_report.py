"""The README's test command without a dynalite server: its contract tests are reported in one
line, not one skip line each (tests/conftest.py), with or without pytest-xdist workers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_dynalite_contract_is_one_line_when_no_server_is_given(workers: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DYNALITE_ENDPOINT"}
    module = "tests/integration/test_contract_dynalite.py"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers, module],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, done.stdout + done.stderr
    found = [line for line in done.stdout.splitlines() if line.startswith("dynalite contract:")]
    assert len(found) == 1, done.stdout
    assert re.fullmatch(
        r"dynalite contract: [1-9]\d* tests not run \(DYNALITE_ENDPOINT not set; "
        r"\.ci/dynalite\.sh runs them\)",
        found[0],
    ), found
    assert "SKIPPED" not in done.stdout
