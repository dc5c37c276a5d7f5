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
from persistence.testing.contract_differential import DifferentialContract
from persistence.testing.harness import DynamoDBHarness, Harness
from persistence.testing.models import ALL_MAPPINGS, ALL_TABLES


class TestDynamoDBBackend(
    MarshallingContract,
    RepositoryContract,
    UnitOfWorkContract,
    OutboxContract,
    DerivedValuesContract,
    LimitsContract,
    DifferentialContract,
):
    @pytest.fixture
    def harness(self, dynamodb_client: Any) -> Harness:
        return DynamoDBHarness(dynamodb_client, ALL_MAPPINGS, ALL_TABLES)
