"""The behaviour contract every backend must keep, written once.

The suites live one per module (`contract_repository`, `contract_unit_of_work`...); this module
re-exports the original six. Subclass them in a test module and provide a `harness` fixture (a fresh
`persistence.testing.harness.Harness` per test, over empty tables of `models.ALL_TABLES`):

    class TestMyBackend(RepositoryContract, UnitOfWorkContract):
        @pytest.fixture
        def harness(self): ...
"""

from __future__ import annotations

from .contract_derived import DerivedValuesContract
from .contract_limits import LimitsContract
from .contract_marshalling import MarshallingContract
from .contract_outbox import OutboxContract
from .contract_repository import RepositoryContract
from .contract_unit_of_work import UnitOfWorkContract

__all__ = [
    "DerivedValuesContract",
    "LimitsContract",
    "MarshallingContract",
    "OutboxContract",
    "RepositoryContract",
    "UnitOfWorkContract",
]
