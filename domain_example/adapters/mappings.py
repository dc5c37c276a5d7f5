"""The single-table layout: every aggregate of the payments service lives in one table.

    item            pk                     sk                  gsi1 (by_owner)          gsi2/gsi3
    Account         ACCOUNT#{account_id}   ACCOUNT             OWNER#{owner}/ACCOUNT#id
    Transfer        TRANSFER#{transfer_id} TRANSFER                                     see below
    OwnerStats      OWNER#{owner}          STATS
    Idempotency     IDEMPOTENCY#{key}      IDEMPOTENCY         (expires by TTL)
    ProcessedEvent  PROCESSED#{consumer}#{event_id}  PROCESSED (expires by TTL)
    OutboxRecord    the outbox's own keys (docs/events.md)

A transfer appears twice in the "by time" indexes: under its source account in `transfers_out`
and under its destination in `transfers_in`, both sorted by `TRANSFER#{created_at}`, so an
account statement in either direction is one Query with a time range in the key condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import persistence as p

from ..domain.events import ALL_EVENTS
from ..domain.model import (
    STAT_COUNTERS,
    Account,
    IdempotencyRecord,
    OwnerStats,
    ProcessedEvent,
    Transfer,
)

DEFAULT_TABLE_NAME = "payments"

BY_OWNER = "by_owner"
TRANSFERS_OUT = "transfers_out"
TRANSFERS_IN = "transfers_in"


@dataclass(frozen=True)
class PaymentsMappings:
    table: p.Table
    accounts: p.Mapping[Account]
    transfers: p.Mapping[Transfer]
    idempotency: p.Mapping[IdempotencyRecord]
    stats: p.Mapping[OwnerStats]
    processed: p.Mapping[ProcessedEvent]
    # Every commit writes the events it raised here, in its own transaction (docs/events.md).
    outbox: p.Outbox

    @property
    def all(self) -> list[p.Mapping[Any]]:
        return [self.accounts, self.transfers, self.idempotency, self.stats, self.processed]


def build_mappings(table_name: str = DEFAULT_TABLE_NAME) -> PaymentsMappings:
    """Fresh Table and Mapping objects; the table name is configuration (one per stage)."""
    table = p.Table(
        table_name,
        partition_key="pk",
        sort_key="sk",
        indexes=[
            p.GlobalIndex(BY_OWNER, partition_key="gsi1pk", sort_key="gsi1sk"),
            p.GlobalIndex(TRANSFERS_OUT, partition_key="gsi2pk", sort_key="gsi2sk"),
            p.GlobalIndex(TRANSFERS_IN, partition_key="gsi3pk", sort_key="gsi3sk"),
        ],
        ttl_attribute="expires_at",
    )
    accounts = p.Mapping(
        Account,
        table,
        key=p.Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT"),
        index_keys={BY_OWNER: p.Key(pk="OWNER#{owner}", sk="ACCOUNT#{account_id}")},
        version="version",
        counters=["deposits", "withdrawals"],
        created_at="opened_at",
        updated_at="updated_at",
        soft_delete="closed_at",  # closed accounts stay for audit but leave every read
    )
    transfers = p.Mapping(
        Transfer,
        table,
        key=p.Key(pk="TRANSFER#{transfer_id}", sk="TRANSFER"),
        index_keys={
            TRANSFERS_OUT: p.Key(pk="ACCOUNT#{from_account}", sk="TRANSFER#{created_at}"),
            TRANSFERS_IN: p.Key(pk="ACCOUNT#{to_account}", sk="TRANSFER#{created_at}"),
        },
    )
    idempotency = p.Mapping(
        IdempotencyRecord,
        table,
        key=p.Key(pk="IDEMPOTENCY#{key}", sk="IDEMPOTENCY"),
        ttl="expires_at",
        events=None,
    )
    stats = p.Mapping(
        OwnerStats,
        table,
        key=p.Key(pk="OWNER#{owner}", sk="STATS"),
        counters=STAT_COUNTERS,
        events=None,
    )
    processed = p.Mapping(
        ProcessedEvent,
        table,
        key=p.Key(pk="PROCESSED#{consumer}#{event_id}", sk="PROCESSED"),
        ttl="expires_at",
        events=None,
    )
    # Built with the table, before anything creates or exports it: whatever the outbox needs on
    # the table (an index, a TTL) it declares there, and table creation, the CloudFormation
    # export and the IAM policy then include it.
    outbox = p.Outbox(table, event_types=ALL_EVENTS, shards=16)
    return PaymentsMappings(table, accounts, transfers, idempotency, stats, processed, outbox)


# The default stage's schema at module level, for the command line and infrastructure as code:
#   python -m persistence tables cloudformation domain_example.adapters.mappings
#   python -m persistence iam-policy domain_example.adapters.mappings
PAYMENTS = build_mappings()
PAYMENTS_TABLE = PAYMENTS.table
