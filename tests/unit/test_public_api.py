"""Every name the public contract (docs/api.md) promises is importable from the package."""

from __future__ import annotations

import importlib

import persistence as p

CONTRACT = [
    "Table", "GlobalIndex", "LocalIndex", "Key", "Mapping", "attr", "register_converter",
    "Spec", "DynamoDBUnitOfWork", "InMemoryStore", "InMemoryUnitOfWork", "MessageBus",
    "PersistenceError", "NotFound", "ConcurrencyConflict", "AlreadyExists", "ConditionFailed",
    "TransactionTooLarge", "TransactionCanceled", "ValidationError", "InvalidCursor",
    "TableError", "UnitOfWorkStateError",
]  # fmt: skip


def test_the_contract_names_are_exported() -> None:
    assert set(CONTRACT) <= set(p.__all__)
    for name in p.__all__:
        assert getattr(p, name) is not None, name


def test_errors_derive_from_persistence_error() -> None:
    for name in CONTRACT[12:]:
        assert issubclass(getattr(p, name), p.PersistenceError), name


def test_importing_the_package_does_not_import_table_operations() -> None:
    # Lazy exports: `import persistence` stays cheap for Lambda cold starts.
    code = "import sys, persistence; print('persistence.tables' in sys.modules)"
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert importlib.import_module("persistence.tables").create_table is p.create_table
