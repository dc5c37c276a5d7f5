"""The benchmark aggregate (12 fields, nested lines), its mapping and the hand-written floor.

The hand-written converter is what a careful engineer would type for exactly this class: no
reflection, no validation beyond what the types guarantee. It produces byte-for-byte the item the
library writes (derived keys and type attribute included), so the ratios compare equal work.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import persistence as p


@dataclass
class Line:
    sku: str
    quantity: int
    price: Decimal


@dataclass
class Order:
    order_id: str
    customer: str
    total: Decimal
    item_count: int
    paid: bool
    status: str
    created_at: datetime
    shipped_at: datetime | None
    note: str | None
    tags: set[str] = field(default_factory=set)
    attributes: dict[str, str] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)


TABLE = p.Table(
    "orders",
    partition_key="pk",
    sort_key="sk",
    indexes=[p.GlobalIndex("by_customer", partition_key="gsi1pk", sort_key="gsi1sk")],
)
ORDERS = p.Mapping(
    Order,
    TABLE,
    key=p.Key(pk="ORDER#{order_id}", sk="ORDER"),
    index_keys={"by_customer": p.Key(pk="CUSTOMER#{customer}", sk="ORDER#{order_id}")},
)


def make_order(i: int) -> Order:
    created = datetime(2024, 5, 1, 12, 0, tzinfo=UTC) + timedelta(minutes=i)
    return Order(
        order_id=f"o{i:06d}",
        customer=f"customer-{i % 97}",
        total=Decimal("129.90") + i,
        item_count=3,
        paid=i % 2 == 0,
        status="shipped" if i % 3 else "open",
        created_at=created,
        shipped_at=created + timedelta(days=1) if i % 3 else None,
        note="leave at the door" if i % 5 == 0 else None,
        tags={"gift", "express"} if i % 2 else {"standard"},
        attributes={"channel": "web", "campaign": "spring"},
        lines=[
            Line("sku-1", 1, Decimal("19.90")),
            Line("sku-2", 2, Decimal("50.00")),
            Line("sku-3", 1, Decimal("10.00") + i),
        ],
    )


# ---------------------------------------------------------------------------- the floor


def hand_to_item(o: Order) -> dict[str, Any]:
    item: dict[str, Any] = {
        "order_id": {"S": o.order_id},
        "customer": {"S": o.customer},
        "total": {"N": str(o.total)},
        "item_count": {"N": str(o.item_count)},
        "paid": {"BOOL": o.paid},
        "status": {"S": o.status},
        "created_at": {"S": o.created_at.isoformat()},
    }
    if o.shipped_at is not None:
        item["shipped_at"] = {"S": o.shipped_at.isoformat()}
    if o.note is not None:
        item["note"] = {"S": o.note}
    if o.tags:
        item["tags"] = {"SS": sorted(o.tags)}
    item["attributes"] = {"M": {k: {"S": v} for k, v in o.attributes.items()}}
    item["lines"] = {
        "L": [
            {
                "M": {
                    "sku": {"S": x.sku},
                    "quantity": {"N": str(x.quantity)},
                    "price": {"N": str(x.price)},
                }
            }
            for x in o.lines
        ]
    }
    item["pk"] = {"S": "ORDER#" + o.order_id}
    item["sk"] = {"S": "ORDER"}
    item["gsi1pk"] = {"S": "CUSTOMER#" + o.customer}
    item["gsi1sk"] = {"S": "ORDER#" + o.order_id}
    item["_type"] = {"S": "Order"}
    return item


def hand_from_item(item: dict[str, Any]) -> Order:
    shipped = item.get("shipped_at")
    note = item.get("note")
    tags = item.get("tags")
    return Order(
        order_id=item["order_id"]["S"],
        customer=item["customer"]["S"],
        total=Decimal(item["total"]["N"]),
        item_count=int(item["item_count"]["N"]),
        paid=item["paid"]["BOOL"],
        status=item["status"]["S"],
        created_at=datetime.fromisoformat(item["created_at"]["S"]),
        shipped_at=datetime.fromisoformat(shipped["S"]) if shipped is not None else None,
        note=note["S"] if note is not None else None,
        tags=set(tags["SS"]) if tags is not None else set(),
        attributes={k: v["S"] for k, v in item["attributes"]["M"].items()},
        lines=[
            Line(
                m["M"]["sku"]["S"],
                int(m["M"]["quantity"]["N"]),
                Decimal(m["M"]["price"]["N"]),
            )
            for m in item["lines"]["L"]
        ],
    )


def json_ready(value: Any) -> Any:
    """JSON's `default=` for the wire format: bytes travel as base64, as botocore sends them."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__}")
