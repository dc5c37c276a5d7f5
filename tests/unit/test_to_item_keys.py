"""to_item's derived key attributes on every path: short ASCII keys (the generated fast
derivation) and everything it hands back to the general code (long, non-ASCII, sparse, bad)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import persistence as p


@dataclass
class Doc:
    doc_id: str
    owner: str | None = None


TABLE = p.Table(
    "docs_keys",
    partition_key="pk",
    sort_key="sk",
    indexes=[p.GlobalIndex("by_owner", partition_key="gpk", sort_key="gsk")],
)
DOCS = p.Mapping(
    Doc,
    TABLE,
    key=p.Key(pk="DOC#{doc_id}", sk="DOC"),
    index_keys={"by_owner": p.Key(pk="OWNER#{owner}", sk="DOC#{doc_id}")},
)


def test_short_ascii_keys_and_the_index() -> None:
    item = DOCS.to_item(Doc("d1", "ann"))
    assert item == {
        "doc_id": {"S": "d1"},
        "owner": {"S": "ann"},
        "pk": {"S": "DOC#d1"},
        "sk": {"S": "DOC"},
        "gpk": {"S": "OWNER#ann"},
        "gsk": {"S": "DOC#d1"},
        "_type": {"S": "Doc"},
    }
    # The derived attributes follow the fields, in to_item's documented order.
    assert list(item)[2:] == ["pk", "sk", "gpk", "gsk", "_type"]


def test_a_none_index_field_leaves_the_sparse_index() -> None:
    item = DOCS.to_item(Doc("d1"))
    assert "gpk" not in item and "gsk" not in item
    assert item["pk"] == {"S": "DOC#d1"} and item["_type"] == {"S": "Doc"}


def test_keys_over_1024_ascii_characters_keep_the_partition_limit() -> None:
    long_id = "x" * 2000  # "DOC#" + 2000 = 2004 bytes: a valid partition key...
    with pytest.raises(p.ValidationError, match="sort key attribute 'gsk' is 2004 bytes"):
        DOCS.to_item(Doc(long_id, "ann"))  # ...but gsk (the index sort key) allows 1024
    item = DOCS.to_item(Doc(long_id))  # no index: only pk, within 2048
    assert item["pk"] == {"S": "DOC#" + long_id}
    with pytest.raises(p.ValidationError, match="partition key attribute 'pk' is 2049 bytes"):
        DOCS.to_item(Doc("x" * 2045))


def test_non_ascii_keys_count_bytes_and_refuse_lone_surrogates() -> None:
    item = DOCS.to_item(Doc("é", "ñ"))
    assert item["pk"] == {"S": "DOC#é"} and item["gpk"] == {"S": "OWNER#ñ"}
    with pytest.raises(p.ValidationError, match="sort key attribute 'gsk' is 1028 bytes"):
        DOCS.to_item(Doc("é" * 512, "ann"))  # 512 characters, 1024 bytes, + "DOC#"
    with pytest.raises(p.ValidationError, match="lone surrogate"):
        DOCS.to_item(Doc("a\ud800"))
