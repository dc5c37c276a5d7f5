"""The tables CLI without credentials says what to set, in one line, and exits non-zero."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from persistence import cli

ROOT = Path(__file__).resolve().parents[2]


def test_no_credentials_says_what_to_set(tmp_path: Path) -> None:
    # Nothing from the caller's environment: no AWS variables, a HOME without ~/.aws.
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        # Otherwise botocore also asks the EC2 metadata service, which only slows the refusal.
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    command = [sys.executable, "-m", "persistence", "tables", "describe", "tests.fixtures_tables"]
    done = subprocess.run(
        [*command, "--endpoint-url", "http://127.0.0.1:9"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: no AWS credentials found")
    for hint in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "dummy"):
        assert hint in lines[0]
    assert done.stdout == ""


def test_no_region_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from botocore.exceptions import NoRegionError

    def no_region(_args: object) -> object:
        raise NoRegionError()

    monkeypatch.setattr(cli, "_client", no_region)
    assert cli.main(["tables", "describe", "tests.fixtures_tables"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS region configured") and "--region" in err
