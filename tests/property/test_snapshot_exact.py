"""Property test: a packed snapshot (persistence/session/snapshot.py) unpacks to exactly the wire
item it was made from, so the commit diffs exactly what it diffed with the item itself."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from persistence.session.identity_map import Entry
from persistence.session.snapshot import pack, same, unpack
from persistence.testing.models import ACCOUNTS
from persistence.write.diff import diff

from .strategies import any_character

texts = st.text(any_character, max_size=6)  # lone surrogates included
# Number texts as DynamoDB or a converter may write them: equal numbers, different texts.
number_texts = st.sampled_from(["0", "-0", "1", "1.0", "1.00", "1E+2", "100", "-7.5", "1e-3"])
scalars = st.one_of(
    texts.map(lambda s: {"S": s}),
    number_texts.map(lambda n: {"N": n}),
    st.binary(max_size=6).map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(texts, min_size=1, max_size=4, unique=True).map(lambda v: {"SS": v}),
    st.lists(number_texts, min_size=1, max_size=4, unique=True).map(lambda v: {"NS": v}),
    st.lists(st.binary(max_size=4), min_size=1, max_size=3, unique=True).map(lambda v: {"BS": v}),
)
wire_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3).map(lambda v: {"L": v}),
        st.dictionaries(texts, children, max_size=3).map(lambda v: {"M": v}),
    ),
    max_leaves=8,
)
# Account's attributes (so the diff knows counters, keys and stored attributes) and others.
names = st.sampled_from(["nickname", "balance", "deposits", "version", "owner", "extra", "ü\ud800"])
items = st.dictionaries(names, wire_values, max_size=6).map(
    lambda d: {"account_id": {"S": "a1"}, **d}
)
# As the commit diffs them: the counter, when present, a number (to_item writes no other).
marshalled = st.tuples(items, st.none() | number_texts).map(
    lambda t: (
        {k: v for k, v in t[0].items() if k != "deposits"}
        | ({} if t[1] is None else {"deposits": {"N": t[1]}})
    )
)


def exact(a: Any, b: Any) -> bool:
    """Equal with the same types and the same order everywhere (`==` ignores dict order)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(exact(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(exact(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(items)
def test_a_packed_item_unpacks_to_exactly_the_item(item: dict[str, Any]) -> None:
    assert exact(unpack(*pack(item)), item)


@settings(max_examples=300, deadline=None)
@given(items, items)
def test_the_diff_against_a_packed_snapshot_is_the_diff_against_the_item(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    entry = Entry(ACCOUNTS, None, old, "clean", {"account_id": {"S": "a1"}})
    snapshot = entry.snapshot
    assert snapshot is not None
    assert outcome(lambda: diff(ACCOUNTS, snapshot, new)) == outcome(
        lambda: diff(ACCOUNTS, old, new)
    )


def outcome(compute: Any) -> str:
    # Random items can be ones the diff refuses (a counter that is not a number): the same
    # refusal counts as the same outcome.
    try:
        return repr(compute())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


@settings(max_examples=300, deadline=None)
@given(marshalled, marshalled, st.randoms(use_true_random=False))
def test_an_item_found_the_same_as_the_snapshot_has_nothing_to_write(
    old: dict[str, Any], new: dict[str, Any], random: Any
) -> None:
    # The commit skips the diff of an item found the same: only right if the diff is empty.
    for candidate in (new, old, shuffled(old, random)):
        if same(*pack(old), candidate):
            assert outcome(lambda c=candidate: diff(ACCOUNTS, old, c)) == repr(([], []))
    assert same(*pack(old), old)
    assert same(*pack(old), shuffled(old, random))


def shuffled(item: dict[str, Any], random: Any) -> dict[str, Any]:
    """The same item with its attributes in another order (as DynamoDB may return them)."""
    names = list(item)
    random.shuffle(names)
    return {name: item[name] for name in names}
