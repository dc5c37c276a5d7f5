"""The in-memory store's Query reads only its partition's range (O(log n + k), not a scan), and
returns exactly what evaluating every stored item returns: the same items, order, counts and
resume keys, page after page, with writes between pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence.backends.actions import Delete, Meaning, Put, SetValue, Update
from persistence.backends.memory.store import InMemoryStore
from persistence.model.mapping import GlobalIndex, LocalIndex, Table
from persistence.query.planner import Plan
from persistence.query.specification import (
    BeginsWith,
    Between,
    Comparison,
    Spec,
    Value,
)

TABLE = Table(
    "indexed",
    "pk",
    "sk",
    indexes=[
        GlobalIndex("by_g", "gpk", "gsk"),
        GlobalIndex("by_h", "hpk"),
        LocalIndex("by_l", "lsk"),
    ],
)
KEYS = {
    None: ("pk", "sk"),
    "by_g": ("pk", "sk", "gpk", "gsk"),
    "by_h": ("pk", "sk", "hpk"),
    "by_l": ("pk", "sk", "lsk"),
}
INDEX_KEYS = {
    None: ("pk", "sk"),
    "by_g": ("gpk", "gsk"),
    "by_h": ("hpk", None),
    "by_l": ("pk", "lsk"),
}


def _eq(attribute: str, wire: dict[str, Any]) -> Comparison:
    return Comparison((attribute,), "==", Value(None, wire))


def _query(
    index: str | None,
    condition: tuple[Spec, ...],
    *,
    descending: bool = False,
    filter: Spec | None = None,
) -> Plan:
    return Plan(
        "Query",
        TABLE.name,
        index,
        None,
        condition,
        filter,
        None,
        descending,
        False,
        None,
        KEYS[index],
    )


MEANING = Meaning(None, {}, "put")


def _put(item: dict[str, Any]) -> Put:
    return Put(TABLE.name, item, None, MEANING)


def _delete(key: dict[str, Any]) -> Delete:
    return Delete(TABLE.name, key, None, MEANING)


def _store(indexed: bool = True) -> InMemoryStore:
    store = InMemoryStore()
    store.register(TABLE)
    store._indexed = indexed
    return store


# ---------------------------------------------------------------- a Query is not a scan


@pytest.fixture(scope="module")
def big() -> InMemoryStore:
    """10,000 items in 100 partitions of 100, each also in a GSI partition of 100."""
    store = _store()
    for n in range(10_000):
        item = {
            "pk": {"S": f"p{n // 100}"},
            "sk": {"N": str(n % 100)},
            "gpk": {"S": f"g{n % 100}"},
            "gsk": {"S": f"s{n:05}"},
            "_type": {"S": "Thing"},
        }
        store.write(_put(item))
    return store


def _evaluations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every Comparison.evaluate call (key conditions and filters)."""
    calls = [0]
    original = Comparison.evaluate

    def counted(self: Comparison, item: Any) -> bool:
        calls[0] += 1
        return original(self, item)

    monkeypatch.setattr(Comparison, "evaluate", counted)
    return calls


def test_a_query_evaluates_only_its_partition(
    big: InMemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _evaluations(monkeypatch)
    before = big.examined
    result = big.read(
        _query(None, (_eq("pk", {"S": "p42"}),), filter=_eq("_type", {"S": "Thing"})),
        limit=None,
        start_key=None,
    )
    assert result.count == 100
    assert big.examined - before == 100
    # one key condition and one filter evaluation per item of the partition, not of the table
    assert calls[0] == 200


def test_a_gsi_query_evaluates_only_its_partition(
    big: InMemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _evaluations(monkeypatch)
    before = big.examined
    result = big.read(_query("by_g", (_eq("gpk", {"S": "g7"}),)), limit=None, start_key=None)
    assert result.count == 100
    assert [i["gsk"]["S"] for i in result.items] == sorted(f"s{n * 100 + 7:05}" for n in range(100))
    assert big.examined - before == 100
    assert calls[0] == 100


def test_a_sort_key_range_with_a_limit_evaluates_only_the_page(
    big: InMemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _evaluations(monkeypatch)
    before = big.examined
    condition = (
        _eq("pk", {"S": "p3"}),
        Between(("sk",), Value(None, {"N": "40"}), Value(None, {"N": "80"})),
    )
    first = big.read(_query(None, condition), limit=10, start_key=None)
    assert [i["sk"]["N"] for i in first.items] == [str(n) for n in range(40, 50)]
    assert first.last_key == {"pk": {"S": "p3"}, "sk": {"N": "49"}}
    second = big.read(_query(None, condition, descending=True), limit=5, start_key=first.last_key)
    assert [i["sk"]["N"] for i in second.items] == ["48", "47", "46", "45", "44"]
    assert big.examined - before == 15
    assert calls[0] <= 2 * 15


# ---------------------------------------------------------------- DynamoDB's order


def test_sort_keys_come_back_in_dynamodb_order() -> None:
    store = _store()
    texts = ["z", "\uffff", "\U00010000", "a\u00e9", "ab"]  # by UTF-8 bytes, not UTF-16 units
    numbers = ["10", "9", "-1", "1E-5", "-100.5", "0"]
    blobs = [b"\xff", b"\x00\xff", b"\x01", b"\xff\x00"]
    for n, text in enumerate(texts):
        store.write(_put({"pk": {"S": "t"}, "sk": {"S": text}, "lsk": {"N": str(-n)}}))
    for number in numbers:
        store.write(_put({"pk": {"S": "n"}, "sk": {"N": number}}))
    for blob in blobs:
        store.write(_put({"pk": {"S": "b"}, "sk": {"B": blob}}))

    def sort_keys(pk: str, index: str | None = None, attr: str = "sk") -> list[Any]:
        items = store.read(_query(index, (_eq("pk", {"S": pk}),)), limit=None, start_key=None)
        return [next(iter(i[attr].values())) for i in items.items]

    assert sort_keys("t") == sorted(texts, key=lambda t: t.encode("utf-8"))
    assert sort_keys("n") == sorted(numbers, key=Decimal)
    assert sort_keys("b") == sorted(blobs)
    assert sort_keys("t", "by_l", "lsk") == [str(-n) for n in reversed(range(len(texts)))]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (Comparison(("sk",), "<", Value(None, {"N": "10"})), list(range(10))),
        (Comparison(("sk",), "<=", Value(None, {"N": "9"})), list(range(10))),
        (Comparison(("sk",), ">", Value(None, {"N": "89.5"})), list(range(90, 100))),
        (Comparison(("sk",), ">=", Value(None, {"N": "90"})), list(range(90, 100))),
        (Comparison(("sk",), "==", Value(None, {"N": "7.0"})), [7]),
        (Between(("sk",), Value(None, {"N": "5"}), Value(None, {"N": "9"})), [5, 6, 7, 8, 9]),
        (Comparison(("sk",), "<", Value(None, {"S": "x"})), []),  # numbers are not strings
    ],
)
def test_a_sort_key_condition_reads_only_its_range(
    big: InMemoryStore, condition: Spec, expected: list[int]
) -> None:
    before = big.examined
    result = big.read(_query(None, (_eq("pk", {"S": "p9"}), condition)), limit=None, start_key=None)
    assert [int(i["sk"]["N"]) for i in result.items] == expected
    assert big.examined - before == len(expected)


def test_begins_with_reads_only_its_prefix() -> None:
    store = _store()
    texts = ["a", "ab", "abc", "ab\uffff", "ac", "b", "\uffff", "\uffff\U00010000"]
    blobs = [b"\xfe", b"\xff", b"\xff\x00", b"\xff\xff", b"\xff\xff\x01"]
    for text in texts:
        store.write(_put({"pk": {"S": "t"}, "sk": {"S": text}}))
    for blob in blobs:
        store.write(_put({"pk": {"S": "b"}, "sk": {"B": blob}}))

    def read(pk: str, prefix: dict[str, Any]) -> list[Any]:
        before = store.examined
        condition = (_eq("pk", {"S": pk}), BeginsWith(("sk",), Value(None, prefix)))
        found = store.read(_query(None, condition), limit=None, start_key=None)
        assert store.examined - before == found.count
        return [next(iter(i["sk"].values())) for i in found.items]

    assert read("t", {"S": "ab"}) == ["ab", "abc", "ab\uffff"]
    assert read("t", {"S": "\uffff"}) == ["\uffff", "\uffff\U00010000"]
    assert read("b", {"B": b"\xff"}) == [b"\xff", b"\xff\x00", b"\xff\xff", b"\xff\xff\x01"]
    assert read("b", {"B": b"\xff\xff"}) == [b"\xff\xff", b"\xff\xff\x01"]
    assert read("b", {"B": b"\xfe"}) == [b"\xfe"]


def test_an_index_holds_only_items_with_its_key_attributes_and_follows_every_write() -> None:
    store = _store()
    store.write(_put({"pk": {"S": "a"}, "sk": {"S": "1"}, "gpk": {"S": "g"}, "gsk": {"S": "x"}}))
    store.write(_put({"pk": {"S": "a"}, "sk": {"S": "2"}, "gpk": {"S": "g"}}))  # no gsk: sparse
    store.write(_put({"pk": {"S": "a"}, "sk": {"S": "3"}, "gpk": {"S": "g"}, "gsk": {"S": "w"}}))

    def in_gsi() -> list[str]:
        found = store.read(_query("by_g", (_eq("gpk", {"S": "g"}),)), limit=None, start_key=None)
        return [i["sk"]["S"] for i in found.items]

    assert in_gsi() == ["3", "1"]
    key = {"pk": {"S": "a"}, "sk": {"S": "2"}}
    store.write(Update(TABLE.name, key, [SetValue(("gsk",), {"S": "a"})], None, MEANING))
    assert in_gsi() == ["2", "3", "1"]
    store.write(_delete({"pk": {"S": "a"}, "sk": {"S": "3"}}))
    store.transact_write(
        [_put({"pk": {"S": "a"}, "sk": {"S": "1"}, "gpk": {"S": "h"}, "gsk": {"S": "x"}})], "t1"
    )
    assert in_gsi() == ["2"]
    store.clear()
    assert in_gsi() == []


# ---------------------------------------------------------------- the same as evaluating every item

# Few values, so partitions hold several items and conditions often match; 1 and 1.0 are one
# partition, as in DynamoDB.
_PK = st.sampled_from([{"S": "a"}, {"S": "a"}, {"N": "1"}, {"N": "1.0"}, {"B": b"a"}])
_BY_TYPE = {
    "S": st.text(alphabet="a\u00e9\uffff\U00010000", min_size=1, max_size=2).map(
        lambda t: {"S": t}
    ),
    "N": st.sampled_from(["-2", "-1.5", "0", "1", "1.0", "2", "10"]).map(lambda n: {"N": n}),
    "B": st.sampled_from([b"a", b"a\xff", b"b", b"\xff", b"\xff\xff", b"\xff\x00"]).map(
        lambda b: {"B": b}
    ),
}
_SORT = st.one_of(*_BY_TYPE.values())
_ODD = st.sampled_from([{"BOOL": True}, {"NULL": True}])  # no key type: DynamoDB refuses it
_MAYBE = st.one_of(st.none(), _SORT, _SORT, _SORT, _ODD)


@st.composite
def _items(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {"pk": draw(_PK), "sk": draw(_SORT)}
    for attr, value in (
        ("gpk", draw(st.one_of(st.none(), _PK))),
        ("gsk", draw(_MAYBE)),
        ("hpk", draw(st.one_of(st.none(), _PK))),
        ("lsk", draw(_MAYBE)),
        ("v", draw(st.integers(0, 3).map(lambda n: {"N": str(n)}))),
    ):
        if value is not None:
            item[attr] = value
    return item


@st.composite
def _sort_conditions(draw: st.DrawFn, attr: str) -> Spec:
    kind = draw(st.sampled_from(["==", "<", "<=", ">", ">=", "between", "begins_with"]))
    if kind == "between":
        values = draw(st.sampled_from(list(_BY_TYPE.values())))
        low, high = sorted([draw(values), draw(values)], key=_rank)
        return Between((attr,), Value(None, low), Value(None, high))
    if kind == "begins_with":
        prefix = draw(
            st.one_of(
                st.text(alphabet="a\u00e9\uffff", max_size=2).map(lambda t: {"S": t}),
                st.sampled_from([b"", b"\xff", b"a", b"\xff\xff"]).map(lambda b: {"B": b}),
            )
        )
        return BeginsWith((attr,), Value(None, prefix))
    return Comparison((attr,), kind, Value(None, draw(_SORT)))  # type: ignore[arg-type]


def _rank(wire: dict[str, Any]) -> Any:
    (tag, inner), *_ = wire.items()
    return Decimal(inner) if tag == "N" else inner.encode() if tag == "S" else bytes(inner)


@st.composite
def _queries(draw: st.DrawFn) -> tuple[Plan, int | None]:
    index = draw(st.sampled_from([None, "by_g", "by_h", "by_l"]))
    pk_attr, sk_attr = INDEX_KEYS[index]
    condition: list[Spec] = [_eq(pk_attr, draw(_PK))]
    if sk_attr is not None and draw(st.booleans()):
        condition.append(draw(_sort_conditions(sk_attr)))
    limit = draw(st.one_of(st.none(), st.integers(1, 4)))
    plan = _query(
        index,
        tuple(condition),
        descending=draw(st.booleans()),
        filter=draw(st.sampled_from([None, _eq("v", {"N": "1"})])),
    )
    return plan, limit


_WRITES = st.lists(
    st.one_of(_items().map(lambda i: ("put", i)), st.integers(0, 30).map(lambda n: ("delete", n))),
    max_size=3,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(_items(), max_size=40),
    queries=st.lists(_queries(), min_size=1, max_size=4),
    between_pages=st.lists(_WRITES, max_size=6),
)
def test_the_index_reads_what_evaluating_every_item_reads(
    items: list[dict[str, Any]],
    queries: list[tuple[Plan, int | None]],
    between_pages: list[list[tuple[str, Any]]],
) -> None:
    indexed, linear = _store(), _store(indexed=False)
    for item in items:
        for store in (indexed, linear):
            store.write(_put(item))
    writes = iter(between_pages)
    for plan, limit in queries:
        start = None
        for _ in range(50):
            a = indexed.read(plan, limit=limit, start_key=start)
            b = linear.read(plan, limit=limit, start_key=start)
            assert a == b
            if a.last_key is None:
                break
            start = a.last_key
            for kind, what in next(writes, []):
                stored = linear.items(TABLE.name)
                for store in (indexed, linear):
                    if kind == "put":
                        store.write(_put(what))
                    elif stored:
                        victim = stored[what % len(stored)]
                        key = {"pk": victim["pk"], "sk": victim["sk"]}
                        store.write(_delete(key))
    assert sorted(map(repr, indexed.items(TABLE.name))) == sorted(
        map(repr, linear.items(TABLE.name))
    )
