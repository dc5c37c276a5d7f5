"""Creating the table for local runs and tests. In AWS the table belongs to infrastructure as
code (`python -m persistence tables cloudformation ...`), not to application start-up."""

from __future__ import annotations

from typing import Any

from persistence.tables import ensure_table, tables_of

from .mappings import PaymentsMappings


def ensure_schema(client: Any, mappings: PaymentsMappings) -> None:
    """Create the table and its indexes if missing, and enable TTL; idempotent."""
    for table in tables_of(mappings.all):
        ensure_table(client, table, poll_interval=0.2)
