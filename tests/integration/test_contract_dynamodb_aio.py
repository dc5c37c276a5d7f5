"""The behaviour contract on persistence.aio over DynamoDB: a moto server over real HTTP and
aiobotocore (AsyncDynamoDBBackend), through the async harness's blocking adapters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from persistence.tables import create_table
from persistence.testing.contract import (
    DerivedValuesContract,
    LimitsContract,
    MarshallingContract,
    OutboxContract,
    RepositoryContract,
    UnitOfWorkContract,
)
from persistence.testing.contract_aio_concurrency import AsyncConcurrencyContract
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
from persistence.testing.harness import Harness, record_requests
from persistence.testing.harness_aio import AsyncHarness, LoopRunner
from persistence.testing.models import ALL_MAPPINGS, ALL_TABLES
from persistence.testing.moto_server import MotoServer

# The async DynamoDB backend and aiobotocore are the `async` extra's (aiodb's branch adds the
# backend and MotoServer.aio_client); without them this run is skipped, not failed.
pytest.importorskip("aiobotocore")
AsyncDynamoDBBackend = pytest.importorskip(
    "persistence.backends.dynamodb.aio_backend"
).AsyncDynamoDBBackend


class TestAsyncDynamoDBBackend(
    AsyncConcurrencyContract,
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
    def harness(self, dynamodb_client: Any, moto: MotoServer) -> Iterator[AsyncHarness]:
        for table in ALL_TABLES:  # tables through the sync client, as the sync run does
            create_table(dynamodb_client, table)
        runner = LoopRunner()
        opened = moto.aio_client()
        client = runner.run(opened.__aenter__())
        harness = AsyncHarness(
            AsyncDynamoDBBackend(client),
            ALL_MAPPINGS,
            record_requests(client),
            name="dynamodb",
            runner=runner,
            fault_client=client,
        )
        harness.client = dynamodb_client  # suites that create their own table use a sync client
        yield harness
        runner.run(opened.__aexit__(None, None, None))
        harness.close()

    # moto bug (moto 5.2.5, moto/dynamodb/models/dynamo_type.py DynamoType.__add__): an ADD whose
    # operand text holds a "." is computed in Python's default 28-digit decimal context and
    # rounded silently; DynamoDB keeps 38 digits ("Numbers can have up to 38 digits of
    # precision", Developer Guide, Supported data types and naming rules > Number). Integer
    # operands are exact on moto, so the other numbers contract tests run.
    _MOTO_ROUNDS = pytest.mark.xfail(
        strict=True, reason="moto computes fractional ADD in a 28-digit context"
    )

    @_MOTO_ROUNDS
    def test_update_builder_add_keeps_38_digits(self, harness: Harness) -> None:
        super().test_update_builder_add_keeps_38_digits(harness)

    @_MOTO_ROUNDS
    def test_loaded_counter_change_is_exact(self, harness: Harness) -> None:
        super().test_loaded_counter_change_is_exact(harness)
