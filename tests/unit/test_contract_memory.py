"""The behaviour contract on the in-memory backend."""

from __future__ import annotations

import pytest

from persistence.testing.contract import (
    DerivedValuesContract,
    LimitsContract,
    MarshallingContract,
    OutboxContract,
    RepositoryContract,
    UnitOfWorkContract,
)
from persistence.testing.contract_differential import DifferentialContract
from persistence.testing.harness import Harness, MemoryHarness
from persistence.testing.models import ALL_MAPPINGS


class TestInMemoryBackend(
    MarshallingContract,
    RepositoryContract,
    UnitOfWorkContract,
    OutboxContract,
    DerivedValuesContract,
    LimitsContract,
    DifferentialContract,
):
    @pytest.fixture
    def harness(self) -> Harness:
        return MemoryHarness(ALL_MAPPINGS)
