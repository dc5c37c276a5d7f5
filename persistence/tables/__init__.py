"""Table operations: create, ensure, describe, diff, update, delete, copy and CloudFormation export.

Nothing here runs implicitly when a repository or a unit of work is used. Every function takes a
boto3 DynamoDB low-level client first. One module per job; this package re-exports them all.
"""

from __future__ import annotations

from ..model.marshal.wire import Item as Item
from .batch_write import BATCH_WRITE_LIMIT as BATCH_WRITE_LIMIT
from .batch_write import write_batch
from .cloudformation import StreamRelay, to_cloudformation
from .copy import CopyResult, copy_table, count_items, is_empty, renamed
from .copy import TransformRaw as TransformRaw
from .diff import Change, TableDiff, diff_table
from .diff import ChangeKind as ChangeKind
from .lifecycle import (
    IndexDescription,
    TableDescription,
    create_table,
    delete_table,
    describe_table,
    ensure_table,
)
from .progress import CopyProgress, TerminalProgress, terminal_progress
from .schema import MAX_LOCAL_INDEXES as MAX_LOCAL_INDEXES
from .schema import MAX_PROJECTED_ATTRIBUTES as MAX_PROJECTED_ATTRIBUTES
from .schema import (
    STREAM_VIEWS,
    Billing,
    KmsEncryption,
    OnDemand,
    Provisioned,
    create_table_request,
    tables_of,
)
from .schema import Client as Client
from .schema import StreamView as StreamView
from .update import auto_migrate, migrate, update_table
from .waiting import DEFAULT_POLL_INTERVAL as DEFAULT_POLL_INTERVAL
from .waiting import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
from .waiting import MAX_POLL_INTERVAL as MAX_POLL_INTERVAL
from .waiting import Sleep as Sleep
from .waiting import wait_for_active
from .yaml_emitter import to_yaml

__all__ = [
    "STREAM_VIEWS",
    "Billing",
    "Change",
    "CopyProgress",
    "CopyResult",
    "IndexDescription",
    "KmsEncryption",
    "OnDemand",
    "Provisioned",
    "StreamRelay",
    "TableDescription",
    "TableDiff",
    "TerminalProgress",
    "auto_migrate",
    "copy_table",
    "count_items",
    "create_table",
    "create_table_request",
    "delete_table",
    "describe_table",
    "diff_table",
    "ensure_table",
    "is_empty",
    "migrate",
    "renamed",
    "tables_of",
    "terminal_progress",
    "to_cloudformation",
    "to_yaml",
    "update_table",
    "wait_for_active",
    "write_batch",
]
