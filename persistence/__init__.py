"""persistence: repositories, Specifications and an atomic unit of work for Amazon DynamoDB."""

from .cursor import CursorSigner
from .dynamodb.backend import DynamoDBBackend
from .dynamodb.unit_of_work import DynamoDBRepository, DynamoDBUnitOfWork
from .errors import (
    AlreadyExists,
    BatchIncomplete,
    CancellationReason,
    ConcurrencyConflict,
    ConditionFailed,
    InvalidCursor,
    NotFound,
    PersistenceError,
    TableError,
    TransactionCanceled,
    TransactionTooLarge,
    ValidationError,
)
from .events import MessageBus
from .keys import Key
from .mapping import GlobalIndex, LocalIndex, Mapping, Table
from .marshal import register_converter
from .memory.store import InMemoryStore
from .memory.unit_of_work import InMemoryRepository, InMemoryUnitOfWork
from .outbox import Outbox, OutboxRecord, OutboxRelay
from .repository import Page, Repository
from .retry import Backoff, retry_on_conflict
from .specification import Spec, attr
from .tables import (
    KmsEncryption,
    OnDemand,
    Provisioned,
    TableDescription,
    TableDiff,
    auto_migrate,
    copy_table,
    create_table,
    delete_table,
    describe_table,
    diff_table,
    ensure_table,
    migrate,
    to_cloudformation,
    update_table,
)
from .unit_of_work import UnitOfWork

__all__ = [
    "AlreadyExists",
    "Backoff",
    "BatchIncomplete",
    "CancellationReason",
    "ConcurrencyConflict",
    "ConditionFailed",
    "CursorSigner",
    "DynamoDBBackend",
    "DynamoDBRepository",
    "DynamoDBUnitOfWork",
    "GlobalIndex",
    "InMemoryRepository",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "InvalidCursor",
    "Key",
    "KmsEncryption",
    "LocalIndex",
    "Mapping",
    "MessageBus",
    "NotFound",
    "OnDemand",
    "Outbox",
    "OutboxRecord",
    "OutboxRelay",
    "Page",
    "PersistenceError",
    "Provisioned",
    "Repository",
    "Spec",
    "Table",
    "TableDescription",
    "TableDiff",
    "TableError",
    "TransactionCanceled",
    "TransactionTooLarge",
    "UnitOfWork",
    "ValidationError",
    "attr",
    "auto_migrate",
    "copy_table",
    "create_table",
    "delete_table",
    "describe_table",
    "diff_table",
    "ensure_table",
    "migrate",
    "register_converter",
    "retry_on_conflict",
    "to_cloudformation",
    "update_table",
]
