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
from persistence.testing.contract_cursor import CursorContract
from persistence.testing.contract_lifecycle import LifecycleContract
from persistence.testing.contract_keys import KeysContract, VersionlessContract
from persistence.testing.contract_batches import BatchContract
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
):
    @pytest.fixture
    def harness(self, dynamodb_client: Any) -> Harness:
        return DynamoDBHarness(dynamodb_client, ALL_MAPPINGS, ALL_TABLES)
