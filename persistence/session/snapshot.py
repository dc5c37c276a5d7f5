"""Compact snapshots: the wire item an aggregate was loaded from, packed while it waits.

A unit of work keeps, for every aggregate it loaded, the item it was read from: the commit diffs
it against the re-marshalled aggregate and writes only what changed. As nested wire dicts that
item costs about four times the aggregate itself (a loaded 1000-item page of the benchmark's
orders: ~8 MB). Packed, it is one tuple of attribute names and type tags, shared by every item
of the same shape, and one `marshal` blob of the values (about 450 bytes per order).

Unpacking gives back exactly the item that was packed: the same attributes in the same order,
the same number texts, the same set member order, the same bytes. So the diff is computed on the
same wire values as before, attribute by attribute, with the same rules (numbers compared as
numbers, sets unordered): dirty checking is exactly as correct as with the dicts themselves.

Why `marshal` rather than JSON or a hash: it round-trips str (lone surrogates too), bytes, bool,
None and nested dicts and lists exactly, in C, and is several times more compact and faster than
canonical JSON; a hash per attribute would be smaller still but only probably right. The blob is
only ever read back by this process, by `unpack`.
"""

from __future__ import annotations

import marshal
from typing import Any

from ..model.marshal import Item

#: The attribute names of an item and the type tag of each, in the item's order.
Shape = tuple[tuple[str, ...], tuple[str, ...]]

# Items of one aggregate type share a handful of shapes: one tuple each, not one per item. Capped
# so that items with arbitrary attribute names cannot grow it without bound (an uncached shape
# only costs its own tuples).
_SHAPES: dict[Shape, Shape] = {}
_MAX_SHAPES = 4096


def pack(item: Item) -> tuple[Shape | None, bytes | Item]:
    """`item` packed as (shape, blob); (None, item) itself when it cannot be packed exactly (a
    value that is not one type tag and its value, a value `marshal` does not know)."""
    names = tuple(item)
    tags = tuple([tag for wire in item.values() for tag in wire])
    if len(tags) != len(names):
        return None, item
    try:
        blob = marshal.dumps(tuple([value for wire in item.values() for value in wire.values()]))
    except ValueError:
        return None, item
    shape = (names, tags)
    shared = _SHAPES.get(shape)
    if shared is None:
        if len(_SHAPES) < _MAX_SHAPES:
            _SHAPES[shape] = shape
        shared = shape
    return shared, blob


def unpack(shape: Shape | None, packed: bytes | Item) -> Item:
    """The item `pack` returned (shape, packed) for: equal to it, attribute by attribute."""
    if shape is None:
        assert isinstance(packed, dict)
        return packed
    assert isinstance(packed, bytes)
    names, tags = shape
    values: tuple[Any, ...] = marshal.loads(packed)
    return {name: {tag: value} for name, tag, value in zip(names, tags, values, strict=True)}
