"""The same aggregate written for the peers. Each peer is optional: a missing package is skipped."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from .model import Line, Order


def boto3_serializer() -> tuple[Any, Any]:
    """`dataclasses.asdict` + boto3's TypeSerializer, and back through TypeDeserializer."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    serializer, deserializer = TypeSerializer(), TypeDeserializer()

    def to_item(o: Order) -> dict[str, Any]:
        plain = dataclasses.asdict(o)
        plain["created_at"] = o.created_at.isoformat()
        plain["shipped_at"] = o.shipped_at.isoformat() if o.shipped_at else None
        if not o.tags:
            del plain["tags"]  # boto3 refuses an empty set, as DynamoDB does
        return {k: serializer.serialize(v) for k, v in plain.items() if v is not None}

    def from_item(item: dict[str, Any]) -> Order:
        d = {k: deserializer.deserialize(v) for k, v in item.items()}
        shipped = d.get("shipped_at")
        return Order(
            order_id=d["order_id"],
            customer=d["customer"],
            total=d["total"],
            item_count=int(d["item_count"]),
            paid=d["paid"],
            status=d["status"],
            created_at=datetime.fromisoformat(d["created_at"]),
            shipped_at=datetime.fromisoformat(shipped) if shipped else None,
            note=d.get("note"),
            tags=d.get("tags", set()),
            attributes=d["attributes"],
            lines=[Line(x["sku"], int(x["quantity"]), x["price"]) for x in d["lines"]],
        )

    return to_item, from_item


def dataclasses_json() -> tuple[Any, Any]:
    """dataclasses-json's to_dict/from_dict + boto3's TypeSerializer/TypeDeserializer."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    from ._dcj import DJLine, DJOrder

    serializer, deserializer = TypeSerializer(), TypeDeserializer()

    def convert(o: Order) -> Any:
        return DJOrder(
            **{f.name: getattr(o, f.name) for f in dataclasses.fields(o) if f.name != "lines"},
            lines=[DJLine(x.sku, x.quantity, x.price) for x in o.lines],
        )

    def to_item(o: Any) -> dict[str, Any]:
        plain = o.to_dict(encode_json=False)
        plain["created_at"] = o.created_at.isoformat()
        plain["shipped_at"] = o.shipped_at.isoformat() if o.shipped_at else None
        if not o.tags:
            del plain["tags"]
        return {k: serializer.serialize(v) for k, v in plain.items() if v is not None}

    def from_item(item: dict[str, Any]) -> Any:
        d = {k: deserializer.deserialize(v) for k, v in item.items()}
        # dataclasses-json reads datetimes as epoch numbers; the item holds ISO-8601 text.
        d["created_at"] = datetime.fromisoformat(d["created_at"]).timestamp()
        if d.get("shipped_at"):
            d["shipped_at"] = datetime.fromisoformat(d["shipped_at"]).timestamp()
        return DJOrder.from_dict(d, infer_missing=True)

    return (to_item, convert), from_item


def pynamodb() -> tuple[Any, Any, Any, Any]:
    """A PynamoDB Model of the same aggregate (its NumberAttribute is float-based), and its
    converters; the Model class itself for its real query and TransactWrite paths."""
    from pynamodb.attributes import (
        BooleanAttribute,
        ListAttribute,
        MapAttribute,
        NumberAttribute,
        UnicodeAttribute,
        UnicodeSetAttribute,
        UTCDateTimeAttribute,
    )
    from pynamodb.models import Model

    class PLine(MapAttribute[str, Any]):
        sku = UnicodeAttribute()
        quantity = NumberAttribute()
        price = NumberAttribute()

    class POrder(Model):
        class Meta:
            table_name = "orders"
            region = "us-east-1"
            aws_access_key_id = "bench"
            aws_secret_access_key = "bench"

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        order_id = UnicodeAttribute()
        customer = UnicodeAttribute()
        total = NumberAttribute()
        item_count = NumberAttribute()
        paid = BooleanAttribute()
        status = UnicodeAttribute()
        created_at = UTCDateTimeAttribute()
        shipped_at = UTCDateTimeAttribute(null=True)
        note = UnicodeAttribute(null=True)
        tags = UnicodeSetAttribute(null=True)
        attributes = MapAttribute[str, Any]()
        lines = ListAttribute(of=PLine)

    def convert(o: Order) -> Any:
        return POrder(
            "ORDER#" + o.order_id,
            "ORDER",
            order_id=o.order_id,
            customer=o.customer,
            total=float(o.total),
            item_count=o.item_count,
            paid=o.paid,
            status=o.status,
            created_at=o.created_at,
            shipped_at=o.shipped_at,
            note=o.note,
            tags=o.tags or None,
            attributes=o.attributes,
            lines=[PLine(sku=x.sku, quantity=x.quantity, price=float(x.price)) for x in o.lines],
        )

    def to_item(m: Any) -> dict[str, Any]:
        serialized: dict[str, Any] = m.serialize()
        return serialized

    def from_item(item: dict[str, Any]) -> Any:
        return POrder.from_raw_data(item)

    return convert, to_item, from_item, POrder
