"""The behaviour contract on DynamoDB: a moto server over real HTTP and botocore."""

from __future__ import annotations

from typing import Any

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
from persistence.testing.harness import DynamoDBHarness, Harness
from persistence.testing.models import ALL_MAPPINGS, ALL_TABLES


class TestDynamoDBBackend(
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
    DifferentialContract,
    RulesContract,
    CommitContract,
    StreamsContract,
):
    @pytest.fixture
    def harness(self, dynamodb_client: Any) -> Harness:
        return DynamoDBHarness(dynamodb_client, ALL_MAPPINGS, ALL_TABLES)

    # moto bug (moto 5.2.5, moto/dynamodb/models/__init__.py DynamoDBBackend.update_item): an
    # UpdateItem that creates an item first stores the bare key through Table.put_item (one
    # INSERT stream record holding only the key) and then logs the change again (a second
    # INSERT). DynamoDB writes one stream record per item-level modification, "exactly once"
    # (Developer Guide, "Change data capture for DynamoDB Streams", Streams.html). The outbox
    # is written with Puts, so the relay tests run; the in-memory store writes one record.
    @pytest.mark.xfail(strict=True, reason="moto logs two INSERTs for an UpdateItem creating")
    def test_the_stream_logs_inserts_modifies_and_removes(self, harness: Harness) -> None:
        super().test_the_stream_logs_inserts_modifies_and_removes(harness)

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
