"""persistence: repositories, Specifications and an atomic unit of work for Amazon DynamoDB.

Names are imported on first use (PEP 562): `import persistence` costs almost nothing, and a
Lambda cold start pays only for what the handler touches. To add a public name, add it to
`_EXPORTS` (name -> module), to the TYPE_CHECKING imports and to `__all__`.

Logging: the library logs on standard-library loggers under `persistence` and stays silent
until the application configures logging. A record's message is a stable event name
(`"commit"`, `"table_create"`, ...) and its fields are record attributes (`record.actions`).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

# The library logs through the standard library and never configures it (handlers, levels and
# rendering are the application's). Without a handler here, Python's last-resort handler would
# print the library's warnings to stderr in an application that configured nothing.
logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS = {
    "AlreadyExists": ".errors",
    "Backoff": ".runtime.retry",
    "BatchIncomplete": ".errors",
    "CancellationReason": ".errors",
    "ConcurrencyConflict": ".errors",
    "ConditionFailed": ".errors",
    "CursorSigner": ".query.cursor",
    "DynamoDBBackend": ".backends.dynamodb.backend",
    "DynamoDBRepository": ".backends.dynamodb.unit_of_work",
    "DynamoDBUnitOfWork": ".backends.dynamodb.unit_of_work",
    "GlobalIndex": ".model.mapping",
    "InMemoryRepository": ".backends.memory.unit_of_work",
    "InMemoryStore": ".backends.memory.store",
    "InMemoryUnitOfWork": ".backends.memory.unit_of_work",
    "InvalidCursor": ".errors",
    "Key": ".model.keys",
    "KmsEncryption": ".tables",
    "LocalIndex": ".model.mapping",
    "Mapping": ".model.mapping",
    "MessageBus": ".messaging.bus",
    "NotFound": ".errors",
    "OnDemand": ".tables",
    "Outbox": ".messaging.outbox",
    "OutboxRecord": ".messaging.outbox",
    "OutboxRelay": ".messaging.outbox",
    "outbox_stream_handler": ".messaging.streams",
    "Page": ".session.repository",
    "PersistenceError": ".errors",
    "Provisioned": ".tables",
    "Repository": ".session.repository",
    "Spec": ".query.specification",
    "Table": ".model.mapping",
    "TableDescription": ".tables",
    "TableDiff": ".tables",
    "TableError": ".errors",
    "TransactionCanceled": ".errors",
    "TransactionTooLarge": ".errors",
    "UnitOfWork": ".session.unit_of_work",
    "UnitOfWorkStateError": ".errors",
    "UpdateBuilder": ".write.update",
    "ValidationError": ".errors",
    "attr": ".query.specification",
    "auto_migrate": ".tables",
    "copy_table": ".tables",
    "create_table": ".tables",
    "delete_table": ".tables",
    "describe_table": ".tables",
    "diff_table": ".tables",
    "ensure_table": ".tables",
    "migrate": ".tables",
    "register_converter": ".model.marshal",
    "retry_on_conflict": ".runtime.retry",
    "RetryPolicy": ".runtime.retry",
    "to_cloudformation": ".tables",
    "update_table": ".tables",
}

if TYPE_CHECKING:
    from .backends.dynamodb.backend import (
        DynamoDBBackend,
    )
    from .backends.dynamodb.unit_of_work import (
        DynamoDBRepository,
        DynamoDBUnitOfWork,
    )
    from .backends.memory.store import (
        InMemoryStore,
    )
    from .backends.memory.unit_of_work import (
        InMemoryRepository,
        InMemoryUnitOfWork,
    )
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
        UnitOfWorkStateError,
        ValidationError,
    )
    from .messaging.bus import (
        MessageBus,
    )
    from .messaging.outbox import (
        Outbox,
        OutboxRecord,
        OutboxRelay,
    )
    from .messaging.streams import (
        outbox_stream_handler,
    )
    from .model.keys import (
        Key,
    )
    from .model.mapping import (
        GlobalIndex,
        LocalIndex,
        Mapping,
        Table,
    )
    from .model.marshal import (
        register_converter,
    )
    from .query.cursor import (
        CursorSigner,
    )
    from .query.specification import (
        Spec,
        attr,
    )
    from .runtime.retry import (
        Backoff,
        RetryPolicy,
        retry_on_conflict,
    )
    from .session.repository import (
        Page,
        Repository,
    )
    from .session.unit_of_work import (
        UnitOfWork,
    )
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
    from .write.update import UpdateBuilder

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
    "RetryPolicy",
    "Spec",
    "Table",
    "TableDescription",
    "TableDiff",
    "TableError",
    "TransactionCanceled",
    "TransactionTooLarge",
    "UnitOfWork",
    "UnitOfWorkStateError",
    "UpdateBuilder",
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
    "outbox_stream_handler",
    "register_converter",
    "retry_on_conflict",
    "to_cloudformation",
    "update_table",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
