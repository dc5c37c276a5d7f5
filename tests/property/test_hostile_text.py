"""Hostile text through every public entry point, on both backends.

Whatever a str holds, only PersistenceError subclasses escape. Text without a UTF-8 encoding (a
lone surrogate) is refused with ValidationError (InvalidCursor for a cursor) before any request,
and the store is unchanged. Text that DynamoDB takes (NUL, 4-byte characters, '#', braces, the
empty string as a value) is stored and read back unchanged. DynamoDB: "Strings are Unicode with
UTF-8 binary encoding", "All names must be encoded using UTF-8", "Attribute names must be at
least one character long" (Supported data types and naming rules in Amazon DynamoDB).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from persistence import attr
from persistence.errors import InvalidCursor, PersistenceError, ValidationError
from persistence.messaging.outbox import Outbox
from persistence.model.mapping import Mapping
from persistence.testing.harness import DynamoDBHarness, Harness, MemoryHarness
from persistence.testing.models import (
    ACCOUNTS,
    ALL_MAPPINGS,
    ALL_TABLES,
    BANK,
    GADGETS,
    ORDERS,
    Account,
    Address,
    Deposited,
    Gadget,
    Order,
)

from .strategies import hostile_text, is_utf8

SEED = "seed"


class Subject:
    """A backend under test with a seed gadget and account, and a way to see all it stores."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.outbox = Outbox(BANK, event_types=[Deposited])
        self.published: list[Any] = []
        self.prepared: Any = None  # what the case's `prepare` stored before the call
        self.harness.repository(GADGETS).put(Gadget(SEED))
        self.harness.repository(ACCOUNTS).put(Account(SEED, "owner"))

    def fresh(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def repo(self, mapping: Mapping[Any]) -> Any:
        return self.harness.repository(mapping)

    def commit(self, *aggregates: Any, outbox: Outbox | None = None) -> None:
        uow = self.harness.uow(outbox=outbox)
        with uow:
            for aggregate in aggregates:
                uow.repository(type(aggregate)).add(aggregate)
            uow.commit()

    def read(self, mapping: Mapping[Any], **key: Any) -> Any:
        with self.harness.uow() as uow:
            return uow.repository(mapping.aggregate).get(consistent=True, **key)

    def snapshot(self) -> list[str]:
        harness = self.harness
        items: list[tuple[str, Any]] = []
        if isinstance(harness, MemoryHarness):
            for table in ALL_TABLES:
                items += [(table.name, i) for i in harness.store.items(table.name)]
        else:
            assert isinstance(harness, DynamoDBHarness)
            for table in ALL_TABLES:
                pages = harness.client.get_paginator("scan").paginate(
                    TableName=table.name, ConsistentRead=True
                )
                items += [(table.name, i) for page in pages for i in page["Items"]]
        return sorted(json.dumps(entry, sort_keys=True, default=_plain) for entry in items)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    raise TypeError(type(value))


# ------------------------------------------------------------------------------ entry points
# Each takes the text and uses it in one place; a "value" entry point must store it and read it
# back unchanged whenever DynamoDB can store it.


def add_values(s: Subject, text: str) -> None:
    gadget = Gadget(
        s.fresh("g"),
        name=text,
        tags={text},
        lines=[Address(text, zip=text)],
        extra={"k": [text, {"t": text}]},
        pair=(1, text),
    )
    s.commit(gadget)
    assert s.read(GADGETS, gadget_id=gadget.gadget_id) == gadget


def add_map_keys(s: Subject, text: str) -> None:
    gadget = Gadget(s.fresh("g"), meta={text: 1}, extra={"k": {text: text}})
    s.commit(gadget)
    assert s.read(GADGETS, gadget_id=gadget.gadget_id) == gadget


def put(s: Subject, text: str) -> None:
    gadget = Gadget(s.fresh("g"), name=text, extra={"x": text})
    s.repo(GADGETS).put(gadget, condition=attr("name").not_exists())
    assert s.read(GADGETS, gadget_id=gadget.gadget_id) == gadget


def stored_gadget(s: Subject) -> Gadget:
    gadget = Gadget(s.fresh("g"))
    s.repo(GADGETS).put(gadget)
    return gadget


def save(s: Subject, text: str) -> None:
    gadget = s.prepared
    gadget.name, gadget.tags = text, {text, "t"}
    s.repo(GADGETS).save(gadget)
    assert s.read(GADGETS, gadget_id=gadget.gadget_id) == gadget


def put_many(s: Subject, text: str) -> None:
    gadgets = [Gadget(s.fresh("g"), name="ok"), Gadget(s.fresh("g"), name=text)]
    s.repo(GADGETS).put_many(gadgets)
    for gadget in gadgets:
        assert s.read(GADGETS, gadget_id=gadget.gadget_id) == gadget


def update_values(s: Subject, text: str) -> None:
    gadget = s.prepared
    updated = (
        s.repo(GADGETS)
        .update(gadget_id=gadget.gadget_id)
        .set("name", text)
        .set("address", Address(text))
        .add_to_set("tags", [text])
        .append_to_list("lines", [Address(text)])
        .execute()
    )
    assert (updated.name, updated.address, updated.tags, updated.lines) == (
        text,
        Address(text),
        {text},
        [Address(text)],
    )
    assert s.read(GADGETS, gadget_id=gadget.gadget_id) == updated


def outbox_event(s: Subject, text: str) -> None:
    account = Account(s.fresh("a"), "owner")
    account.events.append(Deposited(text, Decimal("1")))
    s.commit(account, outbox=s.outbox)
    s.outbox.relay(s.harness.backend, s.published.append).run_once()
    assert Deposited(text, Decimal("1")) in s.published


def add_direct_key(s: Subject, text: str) -> None:
    s.commit(Gadget(text, name="k"))
    assert s.read(GADGETS, gadget_id=text) == Gadget(text, name="k")


def add_template_key(s: Subject, text: str) -> None:
    s.commit(Account(text, "owner"))
    assert s.read(ACCOUNTS, account_id=text).account_id == text


def add_index_key(s: Subject, text: str) -> None:
    account = Account(s.fresh("a"), text)
    s.commit(account)
    assert s.read(ACCOUNTS, account_id=account.account_id).owner == text
    found = s.repo(ACCOUNTS).find(attr("owner") == text, limit=100).items
    assert account.account_id in [a.account_id for a in found]


def add_sort_key(s: Subject, text: str) -> None:
    order = Order("c1", text, s.fresh("o"))
    s.commit(order)
    assert s.read(ORDERS, customer_id="c1", day=text, order_id=order.order_id) == order


def get(s: Subject, text: str) -> None:
    s.repo(GADGETS).get(gadget_id=text)


def get_template(s: Subject, text: str) -> None:
    s.repo(ACCOUNTS).get(account_id=text)


def get_many(s: Subject, text: str) -> None:
    s.repo(GADGETS).get_many([{"gadget_id": SEED}, {"gadget_id": text}])


def delete(s: Subject, text: str) -> None:
    s.repo(GADGETS).delete(gadget_id=text)


def delete_many(s: Subject, text: str) -> None:
    s.repo(ACCOUNTS).delete_many([{"account_id": text}])


def increment(s: Subject, text: str) -> None:
    uow = s.harness.uow()
    with uow:
        uow.increment(Account, {"account_id": text}, "deposits", 1)
        uow.commit()


def find_value(s: Subject, text: str) -> None:
    s.repo(GADGETS).find(attr("name") == text)


def count_functions(s: Subject, text: str) -> None:
    spec = (
        attr("name").begins_with(text)
        | attr("tags").contains(text)
        | attr("name").is_in([text, "x"])
        | attr("name").between(text, text + "z")
    )
    s.repo(GADGETS).count(spec)


def find_name(s: Subject, text: str) -> None:
    s.repo(GADGETS).find(attr(["extra", text]).exists() | (attr(["meta", text]) == 1))


def find_keys(s: Subject, text: str) -> None:
    s.repo(ACCOUNTS).find(attr("account_id") == text)
    s.repo(ACCOUNTS).find(attr("owner") == text)
    s.repo(ORDERS).find((attr("customer_id") == "c1") & (attr("day") == text))


def check(s: Subject, text: str) -> None:
    uow = s.harness.uow()
    with uow:
        uow.check(Account, {"account_id": SEED}, attr("owner") != text)
        uow.increment(Account, {"account_id": SEED}, "deposits", 1)
        uow.commit()


def update_path(s: Subject, text: str) -> None:
    s.repo(GADGETS).update(gadget_id=SEED).set(f"extra.{text}", text).execute()


def update_remove_path(s: Subject, text: str) -> None:
    s.repo(GADGETS).update(gadget_id=SEED).remove(f"extra.{text}").execute()


def update_condition(s: Subject, text: str) -> None:
    builder = s.repo(GADGETS).update(gadget_id=SEED).add("count", 1)
    builder.condition(attr("name") != text).execute()


def cursor(s: Subject, text: str) -> None:
    s.repo(GADGETS).find(attr("name") == "x", cursor=text)


@dataclass(frozen=True)
class Case:
    run: Callable[[Subject, str], None]
    stores: Callable[[str], bool] = lambda text: False  # must succeed and round-trip
    refused: type[PersistenceError] = ValidationError  # the error for text that is not UTF-8
    prepare: Callable[[Subject], Any] | None = None  # writes made before the call under test

    def __repr__(self) -> str:
        return self.run.__name__


def _map_key(text: str) -> bool:
    return is_utf8(text) and text != ""


CASES = [
    Case(add_values, is_utf8),
    Case(add_map_keys, _map_key),
    Case(put, is_utf8),
    Case(save, is_utf8, prepare=stored_gadget),
    Case(put_many, is_utf8),
    Case(update_values, is_utf8, prepare=stored_gadget),
    Case(outbox_event, is_utf8),
    Case(add_direct_key),
    Case(add_template_key),
    Case(add_index_key),
    Case(add_sort_key),
    Case(get),
    Case(get_template),
    Case(get_many),
    Case(delete),
    Case(delete_many),
    Case(increment),
    Case(find_value),
    Case(count_functions),
    Case(find_name),
    Case(find_keys),
    Case(check),
    Case(update_path),
    Case(update_remove_path),
    Case(update_condition),
    Case(cursor, refused=InvalidCursor),
]


def check_entry_point(subject: Subject, case: Case, text: str) -> None:
    subject.prepared = case.prepare(subject) if case.prepare else None
    before = subject.snapshot()
    subject.harness.log.clear()
    try:
        case.run(subject, text)
    except PersistenceError as exc:
        sent = subject.harness.operations()  # before the snapshot's own Scans
        message = str(exc)
        message.encode("utf-8")  # the message itself can be logged and sent back
        assert subject.snapshot() == before, f"{case!r} refused {text!r} but wrote: {message}"
        if not is_utf8(text):
            assert isinstance(exc, case.refused), f"{case!r}: {type(exc).__name__}: {message}"
            assert sent == [], f"{case!r} sent {sent} before refusing {text!r}"
        else:
            assert not case.stores(text), f"{case!r} refused {text!r}: {message}"
        return
    assert is_utf8(text), f"{case!r} accepted {text!r}, which has no UTF-8 encoding"


def _with_lone_surrogates(test: Any) -> Any:
    """Every entry point meets a lone surrogate and a mix of NUL, 4-byte characters and '#'."""
    for case in CASES:
        test = example(case, "\ud800")(test)
        test = example(case, "a\x00🙂#{x}")(test)
    return test


@_with_lone_surrogates
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CASES), hostile_text)
def test_only_persistence_errors_escape_in_memory(case: Case, text: str) -> None:
    check_entry_point(Subject(MemoryHarness(ALL_MAPPINGS)), case, text)


@pytest.fixture
def moto_subject(dynamodb_client: Any) -> Iterator[Subject]:
    yield Subject(DynamoDBHarness(dynamodb_client, ALL_MAPPINGS, ALL_TABLES))


@_with_lone_surrogates
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=st.sampled_from(CASES), text=hostile_text)
def test_only_persistence_errors_escape_through_botocore(
    moto_subject: Subject, case: Case, text: str
) -> None:
    """The same, bounded, against the moto server: the botocore path (its serialiser would
    send a surrogate as a JSON escape) sees only what the library let through."""
    check_entry_point(moto_subject, case, text)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("a\ud800", "Gadget.name"),
        ("\udfff", "Gadget.tags (a set member)"),
        ("x\udc80y", "Gadget.extra.k[1].t"),
    ],
)
def test_the_message_names_the_attribute_and_the_path(text: str, where: str) -> None:
    subject = Subject(MemoryHarness(ALL_MAPPINGS))
    gadget = Gadget("g", name="ok", extra={"k": ["ok", {"t": "ok"}]})
    if where == "Gadget.name":
        gadget.name = text
    elif where.startswith("Gadget.tags"):
        gadget.tags = {"ok", text}
    else:
        gadget.extra = {"k": ["ok", {"t": text}]}
    with pytest.raises(ValidationError) as raised:
        subject.commit(gadget)
    message = str(raised.value)
    assert message.startswith(where + ":"), message
    assert "not valid Unicode" in message and "UTF-8" in message
    assert ascii(text)[1:-1] in message  # the text, escaped: the message itself is valid UTF-8
