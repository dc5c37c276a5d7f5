"""The identity map of a unit of work: which object stands for which stored item.

It holds, per aggregate the unit of work has seen, the object, the wire item it was loaded from
(its snapshot, what the commit diffs against) and its state (clean, new, removed). Repositories
record through its small public interface (`cached`, `track`, `register_new`,
`register_removed`); the commit planner (commit_planner.py) reads it and never changes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from collections.abc import Mapping as MappingABC
from typing import Any, Literal, Protocol, TypeVar

from ..errors import ValidationError
from ..model.keyid import key_id
from ..model.mapping import Mapping
from ..model.marshal import Item, Wire
from .snapshot import Shape, pack, same, unpack

T = TypeVar("T")
State = Literal["clean", "new", "removed"]
Identity = tuple[Any, ...]


def identity_of(mapping: Mapping[Any], key: MappingABC[str, Wire]) -> Identity:
    """What identifies an item across a unit of work: its aggregate type and its key.

    One flat tuple (type, name, tag, value, name, tag, value...), not nested ones: the identity
    map holds one per tracked item."""
    return (mapping.aggregate, *[part for attribute in key_id(key) for part in attribute])


# The shape of an entry whose snapshot is a committed item not packed yet (Entry.committed).
_UNPACKED: Any = object()


class Entry:
    """One aggregate the unit of work tracks: the object, the wire item it was loaded from
    (`snapshot`; None for a new aggregate), its state and its wire key.

    The snapshot is held packed (snapshot.py): reading `snapshot` unpacks a fresh copy of the
    item, assigning it packs the item given.
    """

    __slots__ = ("_key", "_packed", "_shape", "aggregate", "mapping", "state")

    def __init__(
        self,
        mapping: Mapping[Any],
        aggregate: Any,
        snapshot: Item | None,
        state: State,
        key: dict[str, Wire],
    ) -> None:
        self.mapping = mapping
        self.aggregate = aggregate
        self.state: State = state
        # Flat (name, tag, value, name, tag, value...): a third of the dicts' memory.
        self._key = tuple(
            [x for name, wire in key.items() for t in wire.items() for x in (name, *t)]
        )
        self.snapshot = snapshot

    @property
    def key(self) -> dict[str, Wire]:
        """The item's wire key, as it was loaded (or registered)."""
        k = self._key
        return {k[i]: {k[i + 1]: k[i + 2]} for i in range(0, len(k), 3)}

    @property
    def snapshot(self) -> Item | None:
        """The wire item the aggregate was loaded from (None for a new aggregate)."""
        if self._shape is _UNPACKED:
            self._pack_committed()
        return None if self._packed is None else unpack(self._shape, self._packed)

    @snapshot.setter
    def snapshot(self, item: Item | None) -> None:
        self._shape: Shape | None
        self._packed: bytes | Item | None
        if item is None:
            self._shape, self._packed = None, None
        else:
            self._shape, self._packed = pack(item)

    def committed(self, item: Item) -> None:
        """`item` (just written) becomes the snapshot, packed only when first read.

        Most units of work end right after their commit: packing every written item there would
        be pure cost (a tenth of a 100-action commit). Until then the entry holds the item the
        commit built, which nothing else changes, and the first read packs it, so `snapshot`
        and `loaded_as` see exactly what an immediate pack would have given."""
        self._shape, self._packed = _UNPACKED, item

    def _pack_committed(self) -> None:
        item = self._packed
        assert isinstance(item, dict)
        self._shape, self._packed = pack(item)

    def loaded_as(self, item: Item) -> bool:
        """Whether `item` is, attribute for attribute, equal to the snapshot (False for a new
        aggregate): nothing to write. Cheaper than reading `snapshot`."""
        if self._shape is _UNPACKED:
            self._pack_committed()
        return self._packed is not None and same(self._shape, self._packed, item)

    def __repr__(self) -> str:
        return f"Entry({self.mapping.name}, {self.key!r}, {self.state})"

    def drain_events(self) -> list[Any]:
        """Take the aggregate's pending events out of it (a second call finds none)."""
        name = self.mapping.events_field
        if name is None:
            return []
        events = getattr(self.aggregate, name, None)
        if not isinstance(events, list) or not events:
            return []
        drained = list(events)
        events.clear()  # pop, not copy: a second collect must not hand them out again
        return drained

    def pending_events(self) -> list[Any]:
        """A copy of the aggregate's pending events, left in place."""
        name = self.mapping.events_field
        events = getattr(self.aggregate, name, None) if name else None
        return list(events) if isinstance(events, list) else []


class Tracker(Protocol):
    """What a repository's reads need from a unit of work: the object already standing for a
    key, and the object to stand for an item just read."""

    def cached(self, mapping: Mapping[T], key: MappingABC[str, Wire]) -> T | None:
        """The tracked aggregate stored under `key`, or None."""
        ...

    def track(self, mapping: Mapping[T], item: Item, aggregate: T | None = None) -> T:
        """The object that stands for `item` (`aggregate`: already built from it, if any)."""
        ...


class Untracked:
    """The tracker of a repository outside any unit of work: nothing is cached, and every read
    builds a new object."""

    def cached(self, mapping: Mapping[T], key: MappingABC[str, Wire]) -> T | None:
        """Always None: there is no identity map."""
        return None

    def track(self, mapping: Mapping[T], item: Item, aggregate: T | None = None) -> T:
        """A new aggregate built from `item` (or `aggregate` when already built)."""
        return mapping.from_item(item) if aggregate is None else aggregate


UNTRACKED = Untracked()


def _always_usable(doing: str) -> None:
    return None


class IdentityMap:
    """The aggregates a unit of work has loaded or registered, one object per stored item.

    Args:
        guard: called with what is being done before every read or registration; the unit of
            work passes its lifecycle check, which raises UnitOfWorkStateError when the block
            may not be used.
    """

    def __init__(self, guard: Callable[[str], None] = _always_usable) -> None:
        self._guard = guard
        self._entries: dict[Identity, Entry] = {}

    # ------------------------------------------------------------------ reads (Tracker)

    def cached(self, mapping: Mapping[T], key: MappingABC[str, Wire]) -> T | None:
        """The aggregate of this type tracked under `key` (None if absent or removed)."""
        self._guard(f"reading {mapping.name}")
        entry = self._entries.get(identity_of(mapping, key))
        if entry is None or entry.state == "removed":
            return None
        aggregate: T = entry.aggregate
        return aggregate

    def track(self, mapping: Mapping[T], item: Item, aggregate: T | None = None) -> T:
        """The object that stands for the item just read: the one already tracked under its key
        (the same key loaded twice is the same object), else `aggregate` (or one built from
        `item`), tracked from now on with `item` as its snapshot."""
        self._guard(f"reading {mapping.name}")
        key = {a: item[a] for a in mapping.table.key_attributes()}
        ident = identity_of(mapping, key)
        entry = self._entries.get(ident)
        if entry is not None:
            existing: T = entry.aggregate
            return existing
        if aggregate is None:
            aggregate = mapping.from_item(item)
        self._entries[ident] = Entry(mapping, aggregate, item, "clean", key)
        return aggregate

    # ------------------------------------------------------------------ registrations

    def adopt(self, mapping: Mapping[Any], aggregate: Any) -> None:
        """Track an aggregate loaded elsewhere as if loaded here, its current fields as the
        snapshot (a repository outside a unit of work removes through this)."""
        key = mapping.key_of(aggregate)
        self._entries.setdefault(
            identity_of(mapping, key),
            Entry(mapping, aggregate, mapping.to_item(aggregate), "clean", key),
        )

    def register_new(self, mapping: Mapping[Any], aggregate: Any) -> None:
        """`aggregate` is new: the commit Puts it only if its key is not stored yet.

        Raises:
            ValidationError: another object, or this one already loaded, stands for its key.
        """
        self._guard(f"add() of a {mapping.name}")
        key = mapping.key_of(aggregate)
        ident = identity_of(mapping, key)
        entry = self._entries.get(ident)
        if entry is not None:
            if entry.aggregate is aggregate and entry.state == "new":
                return
            if entry.state == "removed" and entry.aggregate is aggregate:
                entry.state = "clean"
                return
            raise ValidationError(
                f"{mapping.name} {mapping.key_fields_of(aggregate)} is already part of this unit "
                "of work; change the loaded aggregate instead of adding another one"
            )
        self._entries[ident] = Entry(mapping, aggregate, None, "new", key)

    def register_removed(self, mapping: Mapping[Any], aggregate: Any) -> None:
        """`aggregate` (loaded or added here) is removed: the commit deletes it (or soft
        deletes it); added and removed in the same work, it is simply forgotten.

        Raises:
            ValidationError: `aggregate` is not the object tracked for its key.
        """
        self._guard(f"remove() of a {mapping.name}")
        key = mapping.key_of(aggregate)
        ident = identity_of(mapping, key)
        entry = self._entries.get(ident)
        if entry is None or entry.aggregate is not aggregate:
            raise ValidationError(
                f"remove() takes an aggregate loaded or added in this unit of work; load "
                f"{mapping.name} {mapping.key_fields_of(aggregate)} first"
            )
        if entry.state == "new":
            del self._entries[ident]  # added and removed in the same work: nothing to write
            entry.drain_events()
            return
        entry.state = "removed"

    # ------------------------------------------------------------------ for the commit

    def get(self, ident: Identity) -> Entry | None:
        """The entry tracked under `ident` (see `identity_of`), or None."""
        return self._entries.get(ident)

    def items(self) -> Iterator[tuple[Identity, Entry]]:
        """Every (identity, entry), in the order they were first tracked."""
        return iter(self._entries.items())

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def drain_events(self) -> list[Any]:
        """Take every tracked aggregate's pending events out of it, in tracking order."""
        return [event for entry in self._entries.values() for event in entry.drain_events()]

    def settle(self) -> list[Any]:
        """After a successful commit: drain every aggregate's events (returned in tracking
        order) and forget the removed aggregates."""
        events = []
        for ident, entry in list(self._entries.items()):
            events.extend(entry.drain_events())
            if entry.state == "removed":
                del self._entries[ident]
        return events

    def clear(self) -> None:
        """Forget every aggregate (a new `with` block, or a rollback)."""
        self._entries.clear()
