"""Cursors: signed, bound to their query, rotated keys; anything else is InvalidCursor."""

from __future__ import annotations

import base64
import json

import pytest

from persistence import attr, errors
from persistence.cursor import CursorSigner
from persistence.memory.store import InMemoryStore
from persistence.memory.unit_of_work import InMemoryRepository
from persistence.repository import Repository
from persistence.testing.models import ORDERS, Order

KEY = {"pk": {"S": "CUSTOMER#c1"}, "sk": {"S": "ORDER#2024-01-01#o001"}}
SHAPE = "Query contract_bank pk=... filter=status"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_cursor_decodes_for_its_own_query() -> None:
    signer = CursorSigner("secret-1")
    assert signer.decode(signer.encode(KEY, SHAPE), SHAPE) == KEY


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-1],  # truncated signature
        lambda c: c[: len(c) // 2],  # truncated body
        lambda c: c.replace(".", ""),  # no separator
        lambda c: c + ".x",  # two separators
        lambda c: "A" + c[1:] if c[0] != "A" else "B" + c[1:],  # a flipped character
        lambda c: c.split(".")[0] + "." + _b64(b"\x00" * 32),  # a forged signature
        lambda c: "",
        lambda c: "not a cursor",
        lambda c: "%%%.%%%",  # not base64
    ],
)
def test_tampered_or_truncated_cursors_are_refused(tamper: object) -> None:
    signer = CursorSigner("secret-1")
    cursor = signer.encode(KEY, SHAPE)
    bad = tamper(cursor)  # type: ignore[operator]
    with pytest.raises(errors.InvalidCursor):
        signer.decode(bad, SHAPE)


def test_a_changed_key_in_the_body_breaks_the_signature() -> None:
    signer = CursorSigner("secret-1")
    body, sig = signer.encode(KEY, SHAPE).split(".")
    payload = json.loads(_unb64(body))
    payload["k"]["sk"]["S"] = "ORDER#2099-01-01#zzz"  # jump elsewhere in the partition
    forged = _b64(json.dumps(payload).encode()) + "." + sig
    with pytest.raises(errors.InvalidCursor, match="signature"):
        signer.decode(forged, SHAPE)


def test_a_cursor_replayed_against_another_query_is_refused() -> None:
    signer = CursorSigner("secret-1")
    cursor = signer.encode(KEY, SHAPE)
    with pytest.raises(errors.InvalidCursor, match="another query"):
        signer.decode(cursor, SHAPE + " descending")


def test_a_cursor_signed_with_a_retired_key_is_refused() -> None:
    old = CursorSigner("old-secret").encode(KEY, SHAPE)
    with pytest.raises(errors.InvalidCursor, match="expired key"):
        CursorSigner(["new-secret"]).decode(old, SHAPE)


def test_rotation_the_first_secret_signs_and_every_secret_verifies() -> None:
    old_only = CursorSigner(["old"])
    rotating = CursorSigner(["new", "old"])
    new_only = CursorSigner(["new"])
    issued_before = old_only.encode(KEY, SHAPE)
    assert rotating.decode(issued_before, SHAPE) == KEY  # still accepted during rotation
    issued_during = rotating.encode(KEY, SHAPE)
    assert new_only.decode(issued_during, SHAPE) == KEY  # signed with the first secret
    with pytest.raises(errors.InvalidCursor):
        old_only.decode(issued_during, SHAPE)


def test_empty_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        CursorSigner([])
    with pytest.raises(ValueError):
        CursorSigner(["ok", ""])


def _orders_repo(secret: str | list[str], store: InMemoryStore) -> Repository[Order]:
    return InMemoryRepository(ORDERS, store=store, cursor_secret=secret)


def test_repository_cursors_are_bound_to_spec_index_and_direction() -> None:
    store = InMemoryStore()
    repo = _orders_repo("s1", store)
    for i in range(5):
        repo.add(Order("c1", "2024-01-01", f"o{i}", total_cents=i))
    spec = attr("customer_id") == "c1"
    page = repo.find(spec, limit=2)
    assert page.cursor is not None
    assert len(repo.find(spec, limit=2, cursor=page.cursor).items) == 2
    for other in (
        lambda: repo.find(spec & (attr("status") == "new"), limit=2, cursor=page.cursor),
        lambda: repo.find(spec, limit=2, cursor=page.cursor, descending=True),
        lambda: repo.find(attr("customer_id") == "c2", limit=2, cursor=page.cursor),
        lambda: _orders_repo("another-secret", store).find(spec, limit=2, cursor=page.cursor),
    ):
        with pytest.raises(errors.InvalidCursor):
            other()
    # A rotated repository still accepts the page it issued before the rotation.
    rotated = _orders_repo(["s2", "s1"], store)
    assert len(rotated.find(spec, limit=2, cursor=page.cursor).items) == 2
