"""DynamoDB's value rules, in the one module both backends use."""

from __future__ import annotations

from decimal import Decimal

import pytest

import persistence as p
from persistence.validation import check_depth, check_item, check_key_value, item_size, number_text


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"a": {"S": "héllo"}}, 1 + 6),  # UTF-8 bytes of name and value
        ({"a": {"N": "123.450"}}, 1 + 4),  # 5 significant digits: 3 bytes, plus 1
        ({"a": {"N": "-0.00012"}}, 1 + 2),
        ({"a": {"N": "1E+100"}}, 1 + 2),
        ({"a": {"B": b"\x00" * 10}}, 1 + 10),  # raw bytes, not base64
        ({"a": {"BOOL": True}, "b": {"NULL": True}}, 2 + 2),
        ({"a": {"L": [{"S": "x"}, {"N": "1"}]}}, 1 + 3 + (1 + 1) + (1 + 2)),
        ({"a": {"M": {"k": {"S": "v"}}}}, 1 + 3 + 1 + 1 + 1),
        ({"a": {"SS": ["xy", "z"]}}, 1 + 3),
    ],
)
def test_item_size_follows_the_documented_rules(item: dict, size: int) -> None:  # type: ignore[type-arg]
    assert item_size(item) == size


def test_numbers() -> None:
    assert number_text(Decimal("1.50"), "x") == "1.50"
    assert number_text(0.1, "x") == "0.1"
    assert number_text(10**37, "x") == str(10**37)
    assert number_text(Decimal("1" * 38), "x") == "1" * 38
    assert number_text(Decimal("1" + "0" * 60), "x")  # one significant digit
    for bad in [Decimal("1" * 39), float("inf"), Decimal("NaN"), Decimal("1E-131"), True]:
        with pytest.raises(p.ValidationError):
            number_text(bad, "x")


def test_key_values() -> None:
    check_key_value("pk", {"S": "x" * 2048}, sort=False, where="T")
    with pytest.raises(p.ValidationError, match="2048"):
        check_key_value("pk", {"S": "x" * 2049}, sort=False, where="T")
    check_key_value("sk", {"B": b"x" * 1024}, sort=True, where="T")
    with pytest.raises(p.ValidationError, match="1024"):
        check_key_value("sk", {"S": "é" * 513}, sort=True, where="T")  # bytes, not characters
    with pytest.raises(p.ValidationError, match="empty"):
        check_key_value("pk", {"S": ""}, sort=False, where="T")
    with pytest.raises(p.ValidationError, match="string, number or bytes"):
        check_key_value("pk", {"BOOL": True}, sort=False, where="T")


def test_key_values_at_the_short_ascii_boundary() -> None:
    # Short ASCII keys take a path without size arithmetic: the limits hold on both sides of it.
    check_key_value("sk", {"S": "x" * 1024}, sort=True, where="T")
    with pytest.raises(p.ValidationError, match="1024"):
        check_key_value("sk", {"S": "x" * 1025}, sort=True, where="T")
    check_key_value("pk", {"S": "x" * 1025}, sort=False, where="T")
    with pytest.raises(p.ValidationError, match="lone surrogate"):
        check_key_value("pk", {"S": "ab\ud800"}, sort=False, where="T")
    with pytest.raises(p.ValidationError, match="string, number or bytes"):
        check_key_value("pk", {"M": {}, "S": "x"}, sort=False, where="T")


@pytest.mark.parametrize(
    ("item", "size"),
    [
        # Numbers at the top level and inside lists and maps, every notation the wire allows.
        ({"a": {"N": "-0.050"}}, 1 + 2),
        ({"a": {"N": "+12.3400"}}, 1 + 3),
        ({"a": {"N": "1.5e-7"}}, 1 + 2),
        ({"a": {"L": [{"N": "19.90"}, {"N": "100"}]}}, 1 + 3 + (1 + 3) + (1 + 2)),
        ({"a": {"M": {"p": {"N": "-3.25E+4"}}}}, 1 + 3 + 1 + 1 + 3),
    ],
)
def test_number_sizes(item: dict, size: int) -> None:  # type: ignore[type-arg]
    assert item_size(item) == size
    assert check_item(item, "T") == size


def test_nesting_depth() -> None:
    value: dict = {"S": "leaf"}  # type: ignore[type-arg]
    for _ in range(31):
        value = {"M": {"x": value}}
    check_depth(value, "T")
    with pytest.raises(p.ValidationError, match="32"):
        check_depth({"L": [value]}, "T")
