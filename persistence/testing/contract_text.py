"""Text: what DynamoDB stores round-trips, what it cannot encode is refused before any request.

DynamoDB: "Strings are Unicode with UTF-8 binary encoding", "All names must be encoded using
UTF-8", "Attribute names must be at least one character long" (Supported data types and naming
rules in Amazon DynamoDB); key attribute values of type String must be non-empty. A Python str
may hold a lone surrogate ("\\ud800", from json.loads of a "\\\\ud800" escape), which has no UTF-8
encoding: a backend must refuse it with ValidationError, not send it (or crash on it).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from .. import errors
from ..query.specification import attr
from .harness import Harness
from .models import ACCOUNTS, GADGETS, Account, Address, Gadget, Order

LONE = "\ud800"


def _add(h: Harness, *aggregates: Any) -> None:
    uow = h.uow()
    with uow:
        for aggregate in aggregates:
            uow.repository(type(aggregate)).add(aggregate)
        uow.commit()


def _increment(h: Harness, account_id: str) -> None:
    uow = h.uow()
    with uow:
        uow.increment(Account, {"account_id": account_id}, "deposits", 1)
        uow.commit()


def _update(h: Harness) -> Any:
    return h.repository(GADGETS).update(gadget_id="seed")


# Each uses the lone surrogate in one place where a string reaches DynamoDB.
REFUSED: dict[str, Callable[[Harness], Any]] = {
    "value": lambda h: _add(h, Gadget("g", name=LONE)),
    "nested-value": lambda h: _add(h, Gadget("g", lines=[Address("a"), Address(LONE)])),
    "set-member": lambda h: _add(h, Gadget("g", tags={"a", LONE})),
    "map-key": lambda h: _add(h, Gadget("g", meta={LONE: 1})),
    "key-field": lambda h: _add(h, Gadget(LONE)),
    "key-template": lambda h: _add(h, Account(f"a{LONE}", "alice")),
    "index-key": lambda h: _add(h, Account("a1", LONE)),
    "sort-key": lambda h: _add(h, Order("c1", LONE, "o1")),
    "put": lambda h: h.repository(GADGETS).put(Gadget("g", name=LONE)),
    "put_many": lambda h: h.repository(GADGETS).put_many([Gadget("g", name=LONE)]),
    "get": lambda h: h.repository(ACCOUNTS).get(account_id=LONE),
    "get_many": lambda h: h.repository(GADGETS).get_many([{"gadget_id": LONE}]),
    "delete": lambda h: h.repository(GADGETS).delete(gadget_id=LONE),
    "delete_many": lambda h: h.repository(GADGETS).delete_many([{"gadget_id": LONE}]),
    "increment": lambda h: _increment(h, LONE),
    "spec-value": lambda h: h.repository(GADGETS).find(attr("name") == LONE),
    "spec-name": lambda h: h.repository(GADGETS).count(attr(["extra", LONE]).exists()),
    "update-value": lambda h: _update(h).set("name", LONE).execute(),
    "update-path": lambda h: _update(h).set(f"extra.{LONE}", 1).execute(),
    "update-set-member": lambda h: _update(h).add_to_set("tags", [LONE]).execute(),
    "update-condition": lambda h: _update(h).set("name", "x").condition(attr("name") == LONE),
}


class TextContract:
    """Text with no UTF-8 form is refused before any request; the rest round-trips."""

    @pytest.mark.parametrize("where", sorted(REFUSED))
    def test_text_without_utf8_is_refused_before_any_request(
        self, harness: Harness, where: str
    ) -> None:
        harness.repository(GADGETS).put(Gadget("seed", name="before"))
        harness.log.clear()
        with pytest.raises(errors.ValidationError, match="not valid Unicode"):
            REFUSED[where](harness)
        assert harness.operations() == [], "refused text must not reach the server"
        with harness.uow() as uow:
            assert uow.repository(Gadget).count() == 1
            assert uow.repository(Gadget).get(gadget_id="seed", consistent=True).name == "before"
            assert uow.repository(Account).count() == 0
            assert uow.repository(Order).count() == 0

    def test_nul_4_byte_characters_and_separators_round_trip(self, harness: Harness) -> None:
        text = "a\x00b🙂𝄞#{x}\u200b"
        gadget = Gadget(
            text,
            name=text,
            tags={text, ""},
            lines=[Address(text, "")],
            meta={text: 1},
            extra={text: [text, ""]},
        )
        account = Account(f"id{text}", text)
        _add(harness, gadget, account)
        with harness.uow() as uow:
            assert uow.repository(Gadget).get(gadget_id=text, consistent=True) == gadget
            assert uow.repository(Account).get(account_id=account.account_id) == account
            assert uow.repository(Gadget).find(attr(["extra", text]).exists()).items == [gadget]
            assert uow.repository(Account).find(attr("owner") == text).items == [account]

    def test_an_empty_map_key_is_refused(self, harness: Harness) -> None:
        harness.log.clear()
        with pytest.raises(errors.ValidationError, match="map key is empty"):
            _add(harness, Gadget("g", extra={"a": {"": 1}}))
        assert harness.operations() == []

    def test_an_outbox_event_without_utf8_is_refused_with_its_change(
        self, harness: Harness
    ) -> None:
        from ..messaging.outbox import Outbox
        from .models import BANK, Deposited

        account = Account("a1", "alice")
        account.events.append(Deposited(LONE, Decimal("1")))
        uow = harness.uow(outbox=Outbox(BANK, event_types=[Deposited]))
        harness.log.clear()
        with uow, pytest.raises(errors.ValidationError, match="not valid Unicode"):
            uow.repository(Account).add(account)
            uow.commit()
        assert harness.operations() == []

    def test_a_cursor_with_a_lone_surrogate_is_invalid(self, harness: Harness) -> None:
        with pytest.raises(errors.InvalidCursor):
            harness.repository(GADGETS).find(attr("name") == "x", cursor=f"abc{LONE}.def")
