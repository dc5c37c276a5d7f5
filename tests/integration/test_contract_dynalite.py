"""The behaviour contract against dynalite, a second server that validates requests the way
DynamoDB does (moto is lax about many rules). Skipped unless DYNALITE_ENDPOINT is set; the CI
script `.ci/dynalite.sh` installs dynalite, starts it on 127.0.0.1 and runs this module.

dynalite has no transactions, no TTL and no UpdateTable index changes. The units of work here
run on `DynamoDBBackend(client, single_action_writes=True)`: a commit of one Put, Update or
Delete is sent as that single conditional write (the same condition, the same typed errors), so
every test whose commits have one action runs. Tests that commit several actions at once (or a
lone ConditionCheck) need TransactWriteItems and are skipped with that reason. Tables are created
without TTL (dynalite has no UpdateTimeToLive); no contract test needs TTL to expire items.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest

from persistence.backends.dynamodb.backend import DynamoDBBackend
from persistence.model.mapping import Mapping, Table
from persistence.repository import Repository
from persistence.session.unit_of_work import UnitOfWork
from persistence.tables import create_table_request
from persistence.testing import seeding
from persistence.testing.contract import (
    DerivedValuesContract,
    MarshallingContract,
    OutboxContract,
    RepositoryContract,
    UnitOfWorkContract,
)
from persistence.testing.harness import SECRET, Harness, record_requests
from persistence.testing.models import ALL_MAPPINGS, ALL_TABLES, Order

ENDPOINT = os.environ.get("DYNALITE_ENDPOINT")
# Without the server tests/conftest.py deselects this module (one summary line); the skip is
# for a run that bypasses that conftest. Every test drops all tables of the one server: under
# pytest-xdist, `--dist loadfile` (pyproject.toml) runs them on one worker, one at a time.
pytestmark = pytest.mark.skipif(not ENDPOINT, reason="DYNALITE_ENDPOINT is not set")

NO_TRANSACTIONS = "dynalite has no TransactWriteItems: this test commits several actions at once"
SINGLE_WRITES = (
    "asserts that a commit is sent as TransactWriteItems; here one-action commits are single "
    "conditional writes by design"
)

# What dynalite cannot run, with the reason. Every other contract test runs (a run of the whole
# contract showed these, and only these, failing: UnknownOperationException for
# TransactWriteItems, or the wire-operation assertion).
SKIPPED: dict[str, str] = {
    "test_events_are_written_in_the_same_transaction_and_relayed_once": NO_TRANSACTIONS,
    "test_a_failed_commit_leaves_no_outbox_record": NO_TRANSACTIONS,
    "test_transfer_commits_both_accounts_atomically": NO_TRANSACTIONS,
    "test_stale_version_fails_the_whole_commit_and_writes_nothing": NO_TRANSACTIONS,
    "test_100_actions_in_one_request_and_101_refused": NO_TRANSACTIONS,
    "test_check_condition_fails_the_commit_with_condition_failed": NO_TRANSACTIONS,
    "test_the_same_item_twice_is_merged_or_refused": SINGLE_WRITES,
}


def _client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "dynamodb",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 2, "mode": "standard"}),
    )


def _create(client: Any, table: Table) -> None:
    """CreateTable without TTL (dynalite has none), then wait until ACTIVE."""
    client.create_table(**create_table_request(table))
    for _ in range(200):
        status = client.describe_table(TableName=table.name)["Table"]["TableStatus"]
        if status == "ACTIVE":
            return
        time.sleep(0.01)
    raise AssertionError(f"{table.name} never became ACTIVE on dynalite")


def _drop_all(client: Any) -> None:
    for name in client.list_tables()["TableNames"]:
        client.delete_table(TableName=name)
    for _ in range(200):
        if not client.list_tables()["TableNames"]:
            return
        time.sleep(0.01)


class DynaliteHarness(Harness):
    name = "dynalite"

    def __init__(self, client: Any, mappings: Sequence[Mapping[Any]], tables: Iterable[Table]):
        self.client = client
        self.mappings = list(mappings)
        for table in tables:
            _create(client, table)
        self.log = record_requests(client)

    def _backend(self) -> DynamoDBBackend:
        return DynamoDBBackend(self.client, single_action_writes=True)

    def uow(self, mappings: Iterable[Mapping[Any]] = (), outbox: Any = None) -> UnitOfWork:
        return UnitOfWork(
            self._backend(), list(mappings) or self.mappings, cursor_secret=SECRET, outbox=outbox
        )

    def repository(self, mapping: Mapping[Any]) -> Repository[Any]:
        return Repository(self._backend(), mapping, cursor_secret=SECRET)


def _open_one_by_one(h: Harness, *accounts: Any) -> None:
    for account in accounts:
        uow = h.uow()
        with uow:
            uow.repository(type(account)).add(account)
            uow.commit()


def _orders_one_by_one(h: Harness, customer: str, n: int, day: str = "2024-01-01") -> list[Any]:
    orders = [Order(customer, day, f"o{i:03d}", total_cents=i * 100) for i in range(n)]
    _open_one_by_one(h, *orders)
    return orders


class TestDynalite(
    MarshallingContract,
    RepositoryContract,
    UnitOfWorkContract,
    OutboxContract,
    DerivedValuesContract,
):
    @pytest.fixture(autouse=True)
    def _dynalite_limits(
        self, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        reason = SKIPPED.get(request.node.originalname)
        if reason:
            pytest.skip(reason)
        # The contract seeds read tests with one commit of many adds; without transactions the
        # same data is seeded one add per commit. Only set-up changes: every read, and every
        # assertion about it, runs as written.
        monkeypatch.setattr(seeding, "open_accounts", _open_one_by_one)
        monkeypatch.setattr(seeding, "place_orders", _orders_one_by_one)

    @pytest.fixture
    def harness(self) -> Iterator[Harness]:
        client = _client()
        _drop_all(client)
        yield DynaliteHarness(client, ALL_MAPPINGS, ALL_TABLES)
        _drop_all(client)


# ------------------------------------------------------------------------------ the same rules


def _library_refuses(item: dict[str, Any], keys: dict[str, bool]) -> bool:
    """The library's verdict on a raw wire item (keys: attribute -> is a sort key)."""
    from decimal import Decimal

    from persistence import errors
    from persistence.validation import check_item, check_key_value, number_text

    try:
        for name, is_sort in keys.items():
            check_key_value(name, item[name], sort=is_sort, where="raw")
        check_item(item, "raw")
        for value in item.values():
            for text in value.get("NS", []) + ([value["N"]] if "N" in value else []):
                number_text(Decimal(text), "raw")
            members = value.get("NS") or value.get("SS")
            if members is not None:
                normal = (
                    [str(Decimal(m).normalize()) for m in members] if "NS" in value else members
                )
                if len(set(normal)) != len(normal):
                    raise errors.ValidationError("duplicate set members")
    except errors.ValidationError:
        return True
    return False


GADGET_KEY = {"gadget_id": False}
BANK_KEY = {"pk": False, "sk": True}
RAW_CASES: dict[str, tuple[str, dict[str, Any], dict[str, bool]]] = {
    "pk-2048": ("contract_gadgets", {"gadget_id": {"S": "k" * 2048}}, GADGET_KEY),
    "pk-2049": ("contract_gadgets", {"gadget_id": {"S": "k" * 2049}}, GADGET_KEY),
    "pk-empty": ("contract_gadgets", {"gadget_id": {"S": ""}}, GADGET_KEY),
    "sk-1024": ("contract_bank", {"pk": {"S": "p"}, "sk": {"S": "s" * 1024}}, BANK_KEY),
    "sk-1025": ("contract_bank", {"pk": {"S": "p"}, "sk": {"S": "s" * 1025}}, BANK_KEY),
    "n-38-digits": (
        "contract_gadgets",
        {"gadget_id": {"S": "g"}, "n": {"N": "1" * 38}},
        GADGET_KEY,
    ),
    "n-39-digits": (
        "contract_gadgets",
        {"gadget_id": {"S": "g"}, "n": {"N": "1" * 39}},
        GADGET_KEY,
    ),
    "n-smallest": ("contract_gadgets", {"gadget_id": {"S": "g"}, "n": {"N": "1E-130"}}, GADGET_KEY),
    "n-too-small": (
        "contract_gadgets",
        {"gadget_id": {"S": "g"}, "n": {"N": "1E-131"}},
        GADGET_KEY,
    ),
    "n-too-large": (
        "contract_gadgets",
        {"gadget_id": {"S": "g"}, "n": {"N": "1E+126"}},
        GADGET_KEY,
    ),
    "ns-duplicates": (
        "contract_gadgets",
        {"gadget_id": {"S": "g"}, "ns": {"NS": ["0.1", "0.10"]}},
        GADGET_KEY,
    ),
    "item-400kb": (
        "contract_gadgets",
        {"gadget_id": {"S": "g"}, "x": {"S": "x" * (400 * 1024 - 10)}},
        GADGET_KEY,
    ),
    "item-over-400kb": (
        "contract_gadgets",
        {"gadget_id": {"S": "g"}, "x": {"S": "x" * (400 * 1024)}},
        GADGET_KEY,
    ),
}


RAW_CASES["n-largest"] = (
    "contract_gadgets",
    {"gadget_id": {"S": "g"}, "n": {"N": "9.9999999999999999999999999999999999999E+125"}},
    GADGET_KEY,
)


@pytest.mark.parametrize(
    "case",
    sorted(RAW_CASES),
)
def test_dynalite_and_the_library_refuse_the_same_raw_items(case: str) -> None:
    """The limits in limits.py/validation.py agree with a server that enforces DynamoDB's."""
    from botocore.exceptions import ClientError

    client = _client()
    _drop_all(client)
    try:
        for table in ALL_TABLES:
            _create(client, table)
        table, item, keys = RAW_CASES[case]
        try:
            client.put_item(TableName=table, Item=item)
            server_refuses = False
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ValidationException"
            server_refuses = True
        assert _library_refuses(item, keys) is server_refuses
    finally:
        _drop_all(client)
