"""`check_put_item` (the size bound a Put's JSON gives) decides exactly as `check_item`.

For any wire item, valid or not: the same ValidationError (same message) or none, and a size that
is never below the exact one (equal when it says it is exact). With orjson and without it: the
standard library fallback must keep the exact check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from persistence import fastjson
from persistence.errors import ValidationError
from persistence.validation import check_item, check_put_item

# Text with what JSON escapes ("\\", '"', control characters), non-ASCII of every UTF-8 length,
# and lone surrogates (no UTF-8 encoding at all).
TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(['"', "\\", "\n", "\x00", "\x7f", "é", "€", "𝄞", "\ud800", "\udfff"]),
        st.characters(codec="utf-8"),
    ),
    max_size=12,
)
NUMBER = st.one_of(
    st.integers(-(10**40), 10**40).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(["0", "000", "1E+10", "-0.000100", "12345678901234567890123456789012345678"]),
)
SCALAR = st.one_of(
    st.builds(lambda t: {"S": t}, TEXT),
    st.builds(lambda n: {"N": n}, NUMBER),
    st.builds(lambda b: {"B": b}, st.binary(max_size=12)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda m: {"SS": m}, st.lists(TEXT, min_size=1, max_size=3, unique=True)),
    st.builds(lambda m: {"NS": m}, st.lists(NUMBER, min_size=1, max_size=3, unique=True)),
    st.builds(lambda m: {"BS": m}, st.lists(st.binary(max_size=5), min_size=1, max_size=3)),
    st.sampled_from([{}, {"X": "?"}, {"SSS": ["a"]}]),  # no type, an unknown type
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.builds(lambda m: {"M": m}, st.dictionaries(TEXT, inner, max_size=3)),
        st.builds(lambda m: {"L": m}, st.lists(inner, max_size=3)),
    ),
    max_leaves=12,
)
ITEM = st.dictionaries(TEXT, VALUE, min_size=1, max_size=5)


def _nested(depth: int, leaf: dict[str, Any]) -> dict[str, Any]:
    value = leaf
    for i in range(depth - 1):
        value = {"M": {"k": value}} if i % 2 else {"L": [value]}
    return value


@contextmanager
def _encoder(installed: bool) -> Iterator[None]:
    saved = fastjson._ORJSON
    fastjson._ORJSON = None if installed else False  # None: looked up again
    try:
        if installed and fastjson.orjson_module() is None:
            pytest.skip("orjson is not installed")
        yield
    finally:
        fastjson._ORJSON = saved


def _outcome(check: Any, item: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", check(item, "Probe")
    except ValidationError as exc:
        return "refused", str(exc)


@pytest.mark.parametrize("installed", [True, False], ids=["orjson", "stdlib"])
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(item=ITEM)
@example(item={"deep": _nested(32, {"S": "x"})})
@example(item={"deep": _nested(33, {"S": "x"})})
@example(item={"deep": _nested(33, {"L": []})})
@example(item={"a": {"S": "x"}, "deep": _nested(40, {"N": "1"}), "m": {"M": {"": {"S": "y"}}}})
@example(item={"m": {"M": {"ok": {"L": [{"M": {"": {"NULL": True}}}]}}}})
@example(item={"m": {"M": {"\ud800": {"S": "x"}, "": {"S": "y"}}}})
@example(item={"big": {"S": "é" * 204_800}})  # 409,600 bytes: exactly the limit
@example(item={"big": {"S": "é" * 204_801}})
@example(item={"n": {"NS": ["1" * 38] * 12_000}})  # small for DynamoDB, over 400 KB of JSON
def test_put_check_decides_as_the_exact_check(installed: bool, item: dict[str, Any]) -> None:
    with _encoder(installed):
        exact = _outcome(check_item, item)
        bounded = _outcome(check_put_item, item)
    if exact[0] == "refused":
        assert bounded == exact
        return
    assert bounded[0] == "ok", bounded
    size, is_exact = bounded[1]
    assert size >= exact[1]
    if is_exact:
        assert size == exact[1]
    if not installed:
        assert is_exact


def test_a_small_item_skips_the_exact_sizes_only_with_orjson() -> None:
    item = {"pk": {"S": "a"}, "n": {"N": "12.5"}, "b": {"B": b"\x00\xff"}}
    with _encoder(True):
        assert check_put_item(item, "Probe") == (len(fastjson.request_body(item)), False)
    with _encoder(False):
        assert check_put_item(item, "Probe") == (check_item(item, "Probe"), True)
