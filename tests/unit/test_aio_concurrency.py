"""Concurrency with asyncio tasks on persistence.aio over the in-memory store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from persistence.testing.contract_aio_concurrency import AsyncConcurrencyContract
from persistence.testing.harness_aio import AsyncMemoryHarness
from persistence.testing.models import ALL_MAPPINGS


class TestAsyncInMemoryConcurrency(AsyncConcurrencyContract):
    @pytest.fixture
    def harness(self) -> Iterator[AsyncMemoryHarness]:
        harness = AsyncMemoryHarness(ALL_MAPPINGS)
        yield harness
        harness.close()
