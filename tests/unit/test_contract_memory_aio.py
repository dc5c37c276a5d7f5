"""The behaviour contract on persistence.aio over the in-memory store (AsyncInMemoryBackend):
the same contract methods as test_contract_memory.py, through the async harness's blocking
adapters (persistence/testing/harness_aio.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from persistence.testing.contract import (
    DerivedValuesContract,
    LimitsContract,
    MarshallingContract,
    OutboxContract,
    RepositoryContract,
    UnitOfWorkContract,
)
from persistence.testing.contract_batches import BatchContract
from persistence.testing.contract_commit import CommitContract
from persistence.testing.contract_cursor import CursorContract
from persistence.testing.contract_differential import DifferentialContract
from persistence.testing.contract_keys import KeysContract, VersionlessContract
from persistence.testing.contract_lifecycle import LifecycleContract
from persistence.testing.contract_numbers import NumbersContract
from persistence.testing.contract_rules import RulesContract
from persistence.testing.contract_spec_types import SpecTypesContract
from persistence.testing.contract_specs import SpecOperandsContract
from persistence.testing.contract_streams import StreamsContract
from persistence.testing.contract_text import TextContract
from persistence.testing.contract_updates import UpdateSemanticsContract
from persistence.testing.harness_aio import AsyncMemoryHarness
from persistence.testing.models import ALL_MAPPINGS


class TestAsyncInMemoryBackend(
    MarshallingContract,
    RepositoryContract,
    UnitOfWorkContract,
    OutboxContract,
    DerivedValuesContract,
    LimitsContract,
    CursorContract,
    LifecycleContract,
    KeysContract,
    VersionlessContract,
    UpdateSemanticsContract,
    BatchContract,
    NumbersContract,
    SpecOperandsContract,
    TextContract,
    SpecTypesContract,
    StreamsContract,
    DifferentialContract,
    RulesContract,
    CommitContract,
):
    @pytest.fixture
    def harness(self) -> Iterator[AsyncMemoryHarness]:
        harness = AsyncMemoryHarness(ALL_MAPPINGS)  # one event loop per test
        yield harness
        harness.close()
