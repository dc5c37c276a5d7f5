"""Tables and mappings for the table-operation tests and the CLI (`tests.fixtures_tables`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from persistence.model.keys import Key
from persistence.model.mapping import GlobalIndex, LocalIndex, Mapping, Table


@dataclass
class Account:
    account_id: str
    owner: str
    created: int = 0
    expires_at: int | None = None
    events: list[object] = field(default_factory=list, compare=False, repr=False)


@dataclass
class Reading:
    sensor: str
    at: int
    value: str = ""
    unit: str = ""


bank = Table(
    "cli_bank",
    partition_key="pk",
    sort_key="sk",
    indexes=[
        GlobalIndex("by_owner", partition_key="gsi1pk", sort_key="gsi1sk"),
        LocalIndex("by_created", sort_key="created", projection="KEYS_ONLY"),
    ],
    ttl_attribute="expires_at",
)

accounts = Mapping(
    Account,
    bank,
    key=Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT"),
    index_keys={"by_owner": Key(pk="OWNER#{owner}", sk="ACCOUNT#{account_id}")},
    ttl="expires_at",
)

# One table per aggregate, keys straight from the fields: `at` makes the sort key a number.
readings_table = Table(
    "cli_readings",
    partition_key="sensor",
    sort_key="at",
    indexes=[GlobalIndex("by_value", partition_key="value", projection=["unit"])],
)
readings = Mapping(Reading, readings_table, events=None)
