"""Tables for the property tests that run on the moto server.

Each test gets a freshly reset server (`dynamodb_client`) with its table, created once per test
and shared by all of its Hypothesis examples. Never cache a client or a table across tests:
moto keeps one set of tables per process, and any other test (or docs page) that resets the
server in between, as they do in any order pytest-xdist or a selection picks, deletes them.
"""

from __future__ import annotations

from typing import Any

import pytest

import persistence as p
from persistence.testing.models import BANK

from .strategies import PROBES_TABLE


@pytest.fixture
def probes_client(dynamodb_client: Any) -> Any:
    """A client on a reset moto server holding the empty `probes` table."""
    p.create_table(dynamodb_client, PROBES_TABLE)
    return dynamodb_client


@pytest.fixture
def bank_client(dynamodb_client: Any) -> Any:
    """A client on a reset moto server holding the empty bank table (tallies live there)."""
    p.create_table(dynamodb_client, BANK)
    return dynamodb_client
