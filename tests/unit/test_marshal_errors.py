"""Conversion errors: every invalid field is reported, and tracebacks show generated source."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

import persistence as p
from persistence.model.marshal import Converters, class_converter


@dataclass
class Invoice:
    invoice_id: str
    amount: Decimal
    lines: int
    paid: bool = False
    tags: set[str] = field(default_factory=set)


INVOICES = p.Mapping(Invoice, p.Table("invoices_errors", partition_key="invoice_id"))


def test_from_item_reports_every_bad_attribute_in_one_error() -> None:
    item = {
        "invoice_id": {"S": "i1"},
        "amount": {"S": "not a number"},
        "paid": {"N": "1"},
    }
    with pytest.raises(p.ValidationError) as caught:
        INVOICES.from_item(item)
    message = str(caught.value)
    assert "Invoice has 3 invalid fields" in message
    assert "Invoice.amount: expected a number (N)" in message
    assert "Invoice.lines: the item has no attribute 'lines'" in message
    assert "Invoice.paid: expected a bool (BOOL)" in message
    assert "invoice_id" not in message.replace("Invoice", "")


def test_to_item_reports_every_invalid_field_in_one_error() -> None:
    bad = Invoice("i1", amount="12", lines="x", tags={"a", 1})  # type: ignore[arg-type]
    with pytest.raises(p.ValidationError) as caught:
        INVOICES.to_item(bad)
    message = str(caught.value)
    assert "Invoice has 3 invalid fields" in message
    for name in ("amount", "lines", "tags"):
        assert f"Invoice.{name}: " in message


def test_one_invalid_field_keeps_the_single_field_message() -> None:
    with pytest.raises(p.ValidationError, match=r"^Invoice\.lines: expected a number \(N\)"):
        INVOICES.from_item({"invoice_id": {"S": "i1"}, "amount": {"N": "1"}, "lines": {"S": "x"}})


def test_a_failing_conversion_shows_the_generated_source_in_its_traceback() -> None:
    converter = class_converter(Invoice, frozenset())
    with pytest.raises(p.ValidationError) as caught:
        converter.from_item({"invoice_id": {"S": "i1"}, "amount": {"S": "x"}, "lines": {"N": "1"}})
    text = "".join(traceback.format_exception(caught.value))
    assert '"<persistence generated from_item Invoice' in text
    generated = {line.strip() for line in converter.source["from_item"].splitlines()}
    shown = {line.strip() for line in text.splitlines()}
    assert generated & shown - {""}, "no line of the generated source in the traceback"

    with pytest.raises(p.ValidationError) as caught:
        converter.to_item(Invoice("i1", amount="x", lines=1))  # type: ignore[arg-type]
    text = "".join(traceback.format_exception(caught.value))
    assert '"<persistence generated to_item Invoice' in text
    assert "raise fail(obj, exc) from exc" in text


def test_a_registry_is_an_object_of_its_own() -> None:
    """A separate Converters registry neither sees nor changes the shared one's converters."""
    own = Converters()
    own.register(Money, lambda m: m.cents, lambda c: Money(int(c)))
    assert own.class_converter(Price).to_item(Price(Money(5))) == {"value": {"N": "5"}}
    with pytest.raises(p.ValidationError, match=r"no converter for type"):
        Converters().class_converter(Price).to_item(Price(Money(5)))
    assert own.find_custom(Money) is not None


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.cents == self.cents


@dataclass
class Price:
    value: Money
