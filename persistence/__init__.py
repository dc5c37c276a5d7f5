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
from .repository import Page, Repository
from .specification import Spec, attr
from .unit_of_work import UnitOfWork

__all__ = [
    "AlreadyExists",
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
    "LocalIndex",
    "Mapping",
    "MessageBus",
    "NotFound",
    "Page",
    "PersistenceError",
    "Repository",
    "Spec",
    "Table",
    "TableError",
    "TransactionCanceled",
    "TransactionTooLarge",
    "UnitOfWork",
    "ValidationError",
    "attr",
    "register_converter",
]
