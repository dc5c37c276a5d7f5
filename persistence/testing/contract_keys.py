"""Contract: key templates are injective, and what a mapping without a version means.

`Key(pk="T#{a}#{b}")` once rendered a="x#y", b="z" and a="x", b="y#z" to the same key, so a
write of one aggregate overwrote (or deleted, or read back as) the other. Now the hole `{a}`,
which '#' follows, refuses values holding '#' on every path, before any request (ADR 0009); and
a read by key never hands back an aggregate whose key fields are not the ones asked for.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

import pytest

from .. import errors
from ..backends.actions import Meaning, Put
from ..query.specification import attr
from .harness import Harness
from .models import ACCOUNTS, GADGETS, THINGS, Account, Gadget, Thing

THING_TABLE = THINGS.table.name
KEY_LOGGER = "persistence.repository"


def _stored_things(h: Harness) -> list[Thing]:
    return sorted(h.repository(THINGS).scan_all(segments=1), key=lambda t: (t.a, t.b))


def _keep(h: Harness) -> Thing:
    """The aggregate the ambiguous writes used to destroy: a="x", b="y#z" ('#' is allowed in
    the last hole), stored at key "T#x#y#z"."""
    kept = Thing("x", "y#z", label="kept")
    h.repository(THINGS).put(kept)
    h.log.clear()
    return kept


def _refused(excinfo: pytest.ExceptionInfo[errors.ValidationError], field: str) -> None:
    message = str(excinfo.value)
    assert repr(field) in message and "'#'" in message, message


def _write_raw(h: Harness, item: dict[str, Any]) -> None:
    """Store an item as code without the rule could have: straight through the backend."""
    h.backend.write(Put(THING_TABLE, item, None, Meaning("Thing", {}, "put")))


def _legacy_item() -> dict[str, Any]:
    """Thing(a="x#y", b="z") as written before the rule: at key "T#x#y#z", which is also the key
    of Thing(a="x", b="y#z")."""
    item = THINGS.to_item(Thing("x", "y#z", label="legacy"))
    item["a"] = {"S": "x#y"}
    item["b"] = {"S": "z"}
    return item


class KeysContract:
    """Key templates are injective: an ambiguous value is refused on every write and read path."""

    # ------------------------------------------------------------ every data-loss path, refused

    def test_put_of_an_ambiguous_key_is_refused_and_the_other_aggregate_kept(
        self, harness: Harness
    ) -> None:
        kept = _keep(harness)
        repo = harness.repository(THINGS)
        with pytest.raises(errors.ValidationError) as excinfo:
            repo.put(Thing("x#y", "z", label="intruder"))
        _refused(excinfo, "a")
        assert "T#{a}#{b}" in str(excinfo.value)
        with pytest.raises(errors.ValidationError):
            repo.save(Thing("x#y", "z", label="intruder"))
        assert harness.operations() == []
        assert _stored_things(harness) == [kept]

    def test_put_many_with_one_ambiguous_key_writes_nothing(self, harness: Harness) -> None:
        kept = _keep(harness)
        with pytest.raises(errors.ValidationError) as excinfo:
            harness.repository(THINGS).put_many([Thing("p", "q"), Thing("x#y", "z")])
        _refused(excinfo, "a")
        assert harness.operations() == []
        assert _stored_things(harness) == [kept]

    def test_delete_by_an_ambiguous_key_is_refused(self, harness: Harness) -> None:
        kept = _keep(harness)
        repo = harness.repository(THINGS)
        with pytest.raises(errors.ValidationError) as excinfo:
            repo.delete(a="x#y", b="z")
        _refused(excinfo, "a")
        with pytest.raises(errors.ValidationError):
            repo.delete_many([{"a": "p", "b": "q"}, {"a": "x#y", "b": "z"}])
        assert harness.operations() == []
        assert _stored_things(harness) == [kept]

    def test_get_by_an_ambiguous_key_is_refused_not_answered_with_the_other_aggregate(
        self, harness: Harness
    ) -> None:
        _keep(harness)
        repo = harness.repository(THINGS)
        with pytest.raises(errors.ValidationError) as excinfo:
            repo.get(a="x#y", b="z")
        _refused(excinfo, "a")
        with pytest.raises(errors.ValidationError):
            repo.get_many([{"a": "x", "b": "y#z"}, {"a": "x#y", "b": "z"}])
        uow = harness.uow()
        with uow, pytest.raises(errors.ValidationError):
            uow.repository(Thing).get(a="x#y", b="z")
        assert harness.operations() == []

    def test_find_count_and_iterate_fixing_the_hole_with_a_separator_are_refused(
        self, harness: Harness
    ) -> None:
        _keep(harness)
        repo = harness.repository(THINGS)
        spec = (attr("a") == "x#y") & (attr("b") == "z")
        with pytest.raises(errors.ValidationError):
            repo.find(spec)
        with pytest.raises(errors.ValidationError):
            repo.count(spec)
        with pytest.raises(errors.ValidationError):
            list(repo.iterate(spec))
        with pytest.raises(errors.ValidationError):
            repo.find((attr("kind") == "k#1") & (attr("day") == "d"), index="by_kind")
        assert harness.operations() == []
        # The same fields without a separator in `a` still find the stored aggregate.
        assert repo.find((attr("a") == "x") & (attr("b") == "y#z")).items[0].label == "kept"

    def test_a_unit_of_work_refuses_an_ambiguous_key_and_commits_nothing(
        self, harness: Harness
    ) -> None:
        kept = _keep(harness)
        uow = harness.uow()
        with uow:
            repo = uow.repository(Thing)
            repo.add(Thing("p", "q"))
            with pytest.raises(errors.ValidationError) as excinfo:
                repo.add(Thing("x#y", "z", label="intruder"))
            _refused(excinfo, "a")
            with pytest.raises(errors.ValidationError):
                uow.increment(Thing, {"a": "x#y", "b": "z"}, "hits")
            with pytest.raises(errors.ValidationError):
                uow.check(Thing, {"a": "x#y", "b": "z"}, attr("label") == "kept")
        assert harness.operations() == []
        assert _stored_things(harness) == [kept]

    def test_an_update_builder_on_an_ambiguous_key_is_refused(self, harness: Harness) -> None:
        kept = _keep(harness)
        repo = harness.repository(THINGS)
        with pytest.raises(errors.ValidationError):
            repo.update(a="x#y", b="z").set("label", "intruder").execute()
        assert harness.operations() == []
        assert _stored_things(harness) == [kept]

    # ------------------------------------------------------------ index keys

    def test_a_value_that_makes_an_index_key_ambiguous_is_refused(self, harness: Harness) -> None:
        """`KIND#{kind}#{day}`: kind="k#1", day="d" and kind="k", day="1#d" would share the
        index partition, and a query of one would return the other."""
        repo = harness.repository(THINGS)
        with pytest.raises(errors.ValidationError) as excinfo:
            repo.put(Thing("p", "q", kind="k#1"))
        _refused(excinfo, "kind")
        assert "KIND#{kind}#{day}" in str(excinfo.value)
        uow = harness.uow()
        with uow:
            # add() checks the table key; index keys are rendered at commit, before any request.
            uow.repository(Thing).add(Thing("p", "q", kind="k#1"))
            with pytest.raises(errors.ValidationError):
                uow.commit()
        assert harness.operations() == []
        # `day` is the last hole of the index key: it may hold '#'.
        repo.put(Thing("p", "q", kind="k", day="1#d"))
        found = repo.find((attr("kind") == "k") & (attr("day") == "1#d"), index="by_kind")
        assert [(t.a, t.b) for t in found.items] == [("p", "q")]

    def test_changing_an_index_field_to_an_ambiguous_value_is_refused_at_commit(
        self, harness: Harness
    ) -> None:
        repo = harness.repository(THINGS)
        repo.put(Thing("p", "q", kind="k"))
        uow = harness.uow()
        with uow:
            loaded = uow.repository(Thing).get(a="p", b="q")
            loaded.kind = "k#1"
            harness.log.clear()
            with pytest.raises(errors.ValidationError):
                uow.commit()
        with pytest.raises(errors.ValidationError):
            repo.update(a="p", b="q").set("kind", "k#1").set("day", "d").execute()
        assert "TransactWriteItems" not in harness.operations()
        assert "UpdateItem" not in harness.operations()
        assert repo.get(a="p", b="q").kind == "k"

    # ------------------------------------------------------------ defence in depth on reads

    def test_an_item_written_before_the_rule_never_reads_as_another_aggregate(
        self, harness: Harness, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Thing(a="x#y", b="z"), stored by older code at "T#x#y#z", is not Thing(a="x",
        b="y#z"), whose key is the same text: every read by key treats it as absent."""
        _write_raw(harness, _legacy_item())
        repo = harness.repository(THINGS)
        caplog.set_level(logging.WARNING, logger=KEY_LOGGER)
        with pytest.raises(errors.NotFound):
            repo.get(a="x", b="y#z")
        assert repo.get_many([{"a": "x", "b": "y#z"}]) == []
        assert repo.find((attr("a") == "x") & (attr("b") == "y#z")).items == []
        uow = harness.uow()
        with uow, pytest.raises(errors.NotFound):
            uow.repository(Thing).get(a="x", b="y#z")
        warnings = [r for r in caplog.records if r.name == KEY_LOGGER]
        assert len(warnings) >= 3 and all(r.levelno == logging.WARNING for r in warnings)
        assert "ADR 0009" in warnings[0].getMessage()
        # It is still there, and a scan finds it (to migrate it, see ADR 0009).
        legacy = [t for t in _stored_things(harness) if "#" in t.a]
        assert [(t.a, t.b, t.label) for t in legacy] == [("x#y", "z", "legacy")]


class VersionlessContract:
    """Without `version=`, concurrent units of work that change the same attribute do not
    conflict: the last commit wins. With it, the stale one raises ConcurrencyConflict."""

    def test_a_mapping_without_a_version_is_last_writer_wins(self, harness: Harness) -> None:
        assert GADGETS.version is None
        harness.repository(GADGETS).put(Gadget("g1", name="original", count=1))
        first, second = harness.uow(), harness.uow()
        with first, second:
            a = first.repository(Gadget).get(gadget_id="g1")
            b = second.repository(Gadget).get(gadget_id="g1")
            a.name = "first"
            a.count = 2
            b.name = "second"
            first.commit()
            second.commit()  # no conflict: it never learns that `first` changed `name`
        stored = harness.repository(GADGETS).get(gadget_id="g1", consistent=True)
        assert stored.name == "second"  # the first writer's name is lost
        assert stored.count == 2  # only changed attributes are written: `count` survives

    def test_a_versioned_mapping_refuses_the_stale_writer(self, harness: Harness) -> None:
        assert ACCOUNTS.version == "version"
        harness.repository(ACCOUNTS).put(Account("a1", "alice"))
        first, second = harness.uow(), harness.uow()
        with first, second:
            a = first.repository(Account).get(account_id="a1")
            b = second.repository(Account).get(account_id="a1")
            a.owner = "first"
            b.owner = "second"
            b.balance = Decimal("5")
            first.commit()
            with pytest.raises(errors.ConcurrencyConflict):
                second.commit()
        stored = harness.repository(ACCOUNTS).get(account_id="a1", consistent=True)
        assert (stored.owner, stored.balance) == ("first", Decimal("0"))
