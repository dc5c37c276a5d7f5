"""Shared fixtures: one moto server per test process (real botocore HTTP path), the Hypothesis
profiles, and the one-line report of the dynalite contract when no dynalite server is given.

Under pytest-xdist (`-n auto` in pyproject.toml) every worker is its own process with its own
moto server on its own port: moto keeps its tables per process, so workers never share state.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

from persistence.testing.moto_server import MotoServer, moto_server

ROOT = Path(__file__).resolve().parent.parent

# Hypothesis (adr/0017-test-determinism.md). Registered here, at import, because a test
# module's `@settings(...)` takes its unset values from the profile loaded when it is imported.
# Both profiles: no per-example deadline and no too_slow health check (both measure wall time,
# which a loaded machine or a second xdist worker stretches: a timing failure is not a bug),
# and a failure prints its `@reproduce_failure` blob.
# - "dev" (default): random examples, and every failing example is saved under .hypothesis/
#   (ignored by git) and replayed first on the next run until it passes.
# - "ci" (when CI is set, as .ci/run does): derandomized, the same examples on every run, so a
#   red build is caused by the change under test, never by the draw.
# HYPOTHESIS_PROFILE=dev|ci picks one explicitly.
_COMMON: dict[str, Any] = {
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow],
}
settings.register_profile(
    "dev", database=DirectoryBasedExampleDatabase(ROOT / ".hypothesis" / "examples"), **_COMMON
)
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    """The process's moto server (one per xdist worker), started on a free port."""
    with moto_server() as server:
        yield server


@pytest.fixture
def dynamodb_client(moto: MotoServer) -> Iterator[Any]:
    """A boto3 DynamoDB client on a freshly reset moto server."""
    moto.reset()
    yield moto.client()


def pytest_configure(config: pytest.Config) -> None:
    # The library logs through the standard library and is silent until configured (pytest's
    # caplog sees its records). The demo application logs through structlog, which prints
    # every level to stdout until configured: its in-process tests keep it at WARNING.
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


# ---------------------------------------------------------------- the optional dynalite server

DYNALITE_MODULE = ROOT / "tests" / "integration" / "test_contract_dynalite.py"
_NOT_RUN = pytest.StashKey[int]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without DYNALITE_ENDPOINT the dynalite contract cannot run: deselect it here, reported in
    one line at the end (`pytest_terminal_summary`), instead of one skip line per test."""
    if os.environ.get("DYNALITE_ENDPOINT"):
        return
    dropped = [item for item in items if item.path == DYNALITE_MODULE]
    if dropped:
        items[:] = [item for item in items if item.path != DYNALITE_MODULE]
        config.hook.pytest_deselected(items=dropped)
    config.stash[_NOT_RUN] = len(dropped)
    workeroutput = getattr(config, "workeroutput", None)  # an xdist worker: tell the controller
    if workeroutput is not None:
        workeroutput["dynalite_not_run"] = len(dropped)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: every worker collected the same tests; keep one worker's count."""
    count = getattr(node, "workeroutput", {}).get("dynalite_not_run")
    if count is not None:
        node.config.stash[_NOT_RUN] = count


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    count = config.stash.get(_NOT_RUN, 0)
    if count:
        terminalreporter.write_line(
            f"dynalite contract: {count} tests not run (DYNALITE_ENDPOINT not set; "
            ".ci/dynalite.sh runs them)"
        )


# ---------------------------------------------------------------- aiobotocore (persistence.aio)


@pytest.fixture
async def aio_dynamodb_client(moto: MotoServer) -> AsyncIterator[Any]:
    """An aiobotocore DynamoDB client on a freshly reset moto server (the same server and
    settings as `dynamodb_client`); for async tests (`@pytest.mark.anyio`, with an
    `anyio_backend` fixture answering "asyncio")."""
    moto.reset()
    async with moto.aio_client() as client:
        yield client
