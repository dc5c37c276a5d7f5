"""A small nested class's map is built inside its parent's generated to_item (no call): the item
and the errors are exactly those of the nested class's own converter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

import pytest

import persistence as p


@dataclass
class Price:
    amount: Decimal
    currency: str
    since: datetime | None = None


@dataclass
class Basket:
    basket_id: str
    total: Price | None = None
    prices: list[Price] = field(default_factory=list)
    by_sku: dict[str, Price] = field(default_factory=dict)


BASKETS = p.Mapping(Basket, p.Table("baskets", partition_key="basket_id"))
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


class CheapPrice(Price):
    """A subclass: not exactly `Price`, so it takes the general path."""


def test_the_map_is_built_in_place_and_equal_to_the_nested_converter() -> None:
    assert "{'M': {'amount': " in BASKETS.converter.source["to_item"]  # built in place
    basket = Basket(
        "b1",
        Price(Decimal("1.50"), "EUR", WHEN),
        [Price(Decimal("2"), "EUR"), CheapPrice(Decimal("0"), "USD", WHEN)],
        {"x": Price(Decimal("-3.25"), "GBP", WHEN)},
    )
    assert BASKETS.to_item(basket) == {
        "basket_id": {"S": "b1"},
        "total": {
            "M": {
                "amount": {"N": "1.50"},
                "currency": {"S": "EUR"},
                "since": {"S": "2024-05-01T00:00:00+00:00"},
            }
        },
        "prices": {
            "L": [
                # a None field is left out, as the nested converter does
                {"M": {"amount": {"N": "2"}, "currency": {"S": "EUR"}}},
                {
                    "M": {
                        "amount": {"N": "0"},
                        "currency": {"S": "USD"},
                        "since": {"S": "2024-05-01T00:00:00+00:00"},
                    }
                },
            ]
        },
        "by_sku": {
            "M": {
                "x": {
                    "M": {
                        "amount": {"N": "-3.25"},
                        "currency": {"S": "GBP"},
                        "since": {"S": "2024-05-01T00:00:00+00:00"},
                    }
                }
            }
        },
        "_type": {"S": "Basket"},
    }
    basket.prices[1] = Price(Decimal("0"), "USD", WHEN)
    assert BASKETS.from_item(BASKETS.to_item(basket)) == basket


@pytest.mark.parametrize(
    ("basket", "message"),
    [
        (
            Basket("b", Price(Decimal("NaN"), "EUR")),
            r"^Basket\.total: .*NaN",
        ),
        (
            Basket("b", prices=[Price(Decimal(1), 5)]),  # type: ignore[arg-type]
            r"^Basket\.prices: .*",
        ),
        (
            Basket("b", by_sku={"x": Price(Decimal("1E+200"), "EUR")}),
            r"^Basket\.by_sku: .*outside DynamoDB's number range",
        ),
    ],
)
def test_an_invalid_nested_value_gives_the_same_error(basket: Basket, message: str) -> None:
    with pytest.raises(p.ValidationError, match=message) as raised:
        BASKETS.to_item(basket)
    # the message the nested class's own converter gives for the same field
    name = message.split("\\.")[1].split(":")[0]
    with pytest.raises(p.ValidationError) as direct:
        BASKETS.converter.field_to_attr(name, getattr(basket, name))
    assert str(raised.value) == str(direct.value)
