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
from itertools import chain
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
    # chain/map rather than comprehensions: a page of items is packed as it is read.
    names = tuple(item)
    tags = tuple(chain.from_iterable(item.values()))
    if len(tags) != len(names):
        return None, item
    try:
        blob = marshal.dumps(tuple(chain.from_iterable(map(dict.values, item.values()))))
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
    # pack made one value per name and tag: zip(strict=True) would only re-check it.
    return {name: {tag: value} for name, tag, value in zip(names, tags, values)}  # noqa: B905


def same(shape: Shape | None, packed: bytes | Item, item: Item) -> bool:
    """Whether `item` has the packed item's attributes, each with an equal wire value (`==`:
    the same tag and the same text, in any attribute order).

    Equal values are always equal for the diff (`wire_equal` only adds equal numbers written
    differently and sets in another order), so an item found the same has nothing to write;
    one found different is diffed attribute by attribute against the unpacked item. Cheaper
    than unpacking: no wire dict is built, and the comparisons run in C.
    """
    if shape is None:
        return packed == item
    names, tags = shape
    if len(item) != len(names):
        return False
    new_tags = tuple(chain.from_iterable(item.values()))
    if len(new_tags) != len(names):
        return False
    assert isinstance(packed, bytes)
    values: tuple[Any, ...] = marshal.loads(packed)
    new_values = chain.from_iterable(map(dict.values, item.values()))
    if names == tuple(item) and tags == new_tags:
        return values == tuple(new_values)
    return dict(zip(names, zip(tags, values))) == dict(zip(item, zip(new_tags, new_values)))  # noqa: B905
