"""The outbox's event JSON: written through dataclasses-json's public API only, and byte for byte
what the codec wrote before (records already stored keep decoding)."""

from __future__ import annotations

import ast
import enum
import inspect
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from persistence.messaging import event_codec
from persistence.messaging.event_codec import EventCodec


class Kind(enum.Enum):
    CARD = "card"


@dataclass
class Line:
    sku: str
    price: Decimal


@dataclass
class Paid:
    payment_id: uuid.UUID
    amount: Decimal
    at: datetime
    kind: Kind
    lines: list[Line]
    tags: tuple[str, ...]
    note: str | None = None
    meta: dict[str, Decimal] = field(default_factory=dict)


EVENT = Paid(
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    Decimal("12.30"),
    datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    Kind.CARD,
    [Line("é-1", Decimal("1E+2"))],
    ("a", "b"),
    None,
    {"fx": Decimal("0.5")},
)
# Written by the codec before it moved off dataclasses-json's private functions.
STORED = (
    '{"payment_id": "12345678-1234-5678-1234-567812345678", "amount": "12.30", '
    '"at": 1714564800.0, "kind": "card", "lines": [{"sku": "é-1", "price": "1E+2"}], '
    '"tags": ["a", "b"], "note": null, "meta": {"fx": "0.5"}}'
)


def test_an_event_is_written_as_before() -> None:
    name, payload = EventCodec([Paid]).encode(EVENT)
    assert name == f"{__name__}.Paid"
    assert payload == STORED


def test_a_record_written_before_decodes_to_the_event() -> None:
    decoded = EventCodec([Paid]).decode(f"{__name__}.Paid", STORED)
    assert type(decoded) is Paid
    assert decoded == EVENT
    assert type(decoded.lines[0]) is Line and decoded.kind is Kind.CARD


def test_the_codec_uses_no_private_name_of_dataclasses_json() -> None:
    tree = ast.parse(inspect.getsource(event_codec))
    private = [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dataclasses_json")
        for alias in node.names
        if alias.name.startswith("_") or (node.module or "").startswith("dataclasses_json.core")
    ]
    assert private == []
