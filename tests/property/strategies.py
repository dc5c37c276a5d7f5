"""Hypothesis strategies for a small aggregate and specifications over it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

import persistence as p
from persistence.query.specification import Spec


@dataclass
class Probe:
    """Values of one type per attribute, but declared loosely: a spec comparing a typed field
    with a value of another type is refused before any request (persistence/spec_types.py), and
    these tests exist to check that such comparisons still evaluate in memory as DynamoDB does."""

    probe_id: str
    s: Any = None  # str
    n: Any = None  # int
    d: Any = None  # Decimal
    flag: Any = None  # bool
    tags: set[Any] = field(default_factory=set)  # of str
    nums: list[Any] = field(default_factory=list)  # of int
    m: dict[str, Any] = field(default_factory=dict)  # of int


PROBES_TABLE = p.Table("probes", partition_key="probe_id")
PROBES = p.Mapping(Probe, PROBES_TABLE)

small_text = st.text(alphabet="abcAB01 é", max_size=4)
small_int = st.integers(min_value=-5, max_value=5)
small_dec = st.decimals(min_value=-5, max_value=5, places=1, allow_nan=False)

probes = st.builds(
    Probe,
    probe_id=st.uuids().map(str),
    s=st.none() | small_text,
    n=st.none() | small_int,
    d=st.none() | small_dec,
    flag=st.none() | st.booleans(),
    tags=st.sets(small_text, max_size=3),
    nums=st.lists(small_int, max_size=3),
    m=st.dictionaries(st.sampled_from(["x", "y"]), small_int, max_size=2),
)

fields = st.sampled_from(["s", "n", "d", "flag", "tags", "nums", "m"])
scalar_fields = st.sampled_from(["s", "n", "d", "flag"])


def _comparison(draw: Any) -> Spec:
    name = draw(scalar_fields)
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    if op in ("==", "!="):
        # moto compares BOOL and N with Python's 0 == False; DynamoDB never does (unit-tested).
        value = draw(st.booleans() if name == "flag" else st.one_of(small_text, small_int))
    elif name == "flag":
        return p.attr(name) == draw(st.booleans())
    else:
        # Same-type operands only: moto crashes (HTTP 500) ordering a number against a string,
        # where DynamoDB evaluates the comparison as false (unit tests cover that case).
        value = draw(small_text if name == "s" else st.one_of(small_int, small_dec))
    a = p.attr(name)
    # Built lazily: ordering a BOOL is refused when built, as DynamoDB refuses it.
    build: dict[str, Any] = {
        "==": lambda: a == value,
        "!=": lambda: a != value,
        "<": lambda: a < value,
        "<=": lambda: a <= value,
        ">": lambda: a > value,
        ">=": lambda: a >= value,
    }
    spec: Spec = build[op]()
    return spec


@st.composite
def leaf_specs(draw: Any) -> Spec:
    kind = draw(st.sampled_from(["cmp", "between", "begins", "contains", "in", "exists", "size"]))
    if kind == "cmp":
        return _comparison(draw)
    if kind == "between":
        lo, hi = sorted([draw(small_int), draw(small_int)])
        return p.attr(draw(st.sampled_from(["n", "d"]))).between(lo, hi)
    if kind == "begins":
        return p.attr("s").begins_with(draw(small_text))
    if kind == "contains":
        target = draw(st.sampled_from(["s", "tags", "nums"]))
        value = draw(small_int) if target == "nums" else draw(small_text)
        return p.attr(target).contains(value)
    if kind == "in":
        name = draw(st.sampled_from(["s", "n", "d"]))
        values = st.one_of(small_text, small_int, small_dec)
        return p.attr(name).is_in(draw(st.lists(values, min_size=1, max_size=3)))
    if kind == "exists":
        name = draw(fields)
        return p.attr(name).exists() if draw(st.booleans()) else p.attr(name).not_exists()
    # Only attributes that are always stored: moto answers size() of a missing attribute with a
    # ValidationException, where DynamoDB evaluates the comparison as false.
    name = draw(st.sampled_from(["nums", "m"]))
    return p.attr(name).size() > draw(st.integers(min_value=0, max_value=3))


specs = st.recursive(
    leaf_specs(),
    lambda children: st.one_of(
        st.tuples(children, children).map(lambda t: t[0] & t[1]),
        st.tuples(children, children).map(lambda t: t[0] | t[1]),
        children.map(lambda c: ~c),
    ),
    max_leaves=4,
)


# ------------------------------------------------------------------------------ hostile text
#
# What a str can hold that naive code trips on: lone surrogates (no UTF-8 encoding; json.loads
# makes them from "\ud800" escapes), NUL and 4-byte characters (valid UTF-8, DynamoDB stores
# them), key-template separators and braces, path syntax, and the empty string.
HOSTILE_PIECES = [
    "\ud800",
    "\udfff",
    "\udc80",
    "\x00",
    "🙂",
    "𝄞",
    "é",
    "名",
    "\u200b",
    "\ufeff",
    "#",
    "##",
    "ACCOUNT#",
    "{",
    "}",
    "{x}",
    ".",
    "[0]",
    " ",
    "a",
    "",
]
any_character = st.characters(exclude_categories=())  # surrogates included
hostile_text = st.one_of(
    st.sampled_from(HOSTILE_PIECES),
    st.lists(
        st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(any_character, max_size=4)),
        max_size=6,
    ).map("".join),
)


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def assert_backends_select(client: Any, items: list[Probe], spec: Any) -> None:
    """Store `items` on DynamoDB (the moto server) and in memory, and assert that both select
    exactly what `spec.is_satisfied_by` selects."""
    import persistence as p

    repo = p.DynamoDBRepository(client, PROBES, cursor_secret="x")
    memory = p.InMemoryRepository(PROBES, cursor_secret="x")
    uow = p.DynamoDBUnitOfWork(client, [PROBES])
    with uow:
        for item in items:
            uow.repository(Probe).add(item)
        uow.commit()
    for item in items:
        memory.add(item)
    try:
        expected = {i.probe_id for i in items if spec.is_satisfied_by(i, PROBES)}
        from_dynamodb = {i.probe_id for i in repo.iterate(spec)}
        from_memory = {i.probe_id for i in memory.iterate(spec)}
        assert from_dynamodb == expected, spec
        assert from_memory == expected, spec
    finally:
        for item in items:
            client.delete_item(TableName="probes", Key={"probe_id": {"S": item.probe_id}})
