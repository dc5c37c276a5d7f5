"""dataclasses-json versions of the aggregate (module level: it resolves type hints by name)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal

from dataclasses_json import dataclass_json


@dataclass_json
@dataclasses.dataclass
class DJLine:
    sku: str
    quantity: int
    price: Decimal


@dataclass_json
@dataclasses.dataclass
class DJOrder:
    order_id: str
    customer: str
    total: Decimal
    item_count: int
    paid: bool
    status: str
    created_at: datetime
    shipped_at: datetime | None
    note: str | None
    tags: set[str] = dataclasses.field(default_factory=set)
    attributes: dict[str, str] = dataclasses.field(default_factory=dict)
    lines: list[DJLine] = dataclasses.field(default_factory=list)
