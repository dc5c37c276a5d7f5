"""The cursor contract: what a backend's LastEvaluatedKey becomes in a cursor is opaque, on every
backend (adr/0010). Mixed into the contract test classes like the classes of contract.py."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

import pytest

from .. import errors
from ..query.specification import attr
from .harness import Harness
from .models import ACCOUNTS, Account


def _decoded(token: str) -> Iterator[bytes]:
    yield token.encode("ascii")
    for part in token.split("."):
        try:
            yield base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue


def _forms(value: str) -> Iterator[bytes]:
    raw = value.encode("utf-8")
    yield raw
    for shift in range(3):  # base64 of the value at each alignment inside longer bytes
        core = base64.b64encode(b"\x00" * shift + raw)[4 if shift else 0 :].rstrip(b"=")[:-2]
        if len(core) >= 8:  # shorter, a chance match in random bytes becomes thinkable
            yield core
            yield core.replace(b"+", b"-").replace(b"/", b"_")


def _revealed(token: str, values: list[str]) -> list[str]:
    return [v for v in values if any(f in d for f in _forms(v) for d in _decoded(token))]


def _tenants(h: Harness) -> tuple[list[Account], list[Account]]:
    ours = [Account(f"tenant-a-account-{i:02d}", "tenant-a") for i in range(4)]
    theirs = [Account(f"tenant-b-account-{i:02d}", "tenant-b") for i in range(4)]
    uow = h.uow()
    with uow:
        for account in ours + theirs:
            uow.repository(Account).add(account)
        uow.commit()
    return ours, theirs


class CursorContract:
    """Cursors are opaque: they reveal no key value and work only for their own query."""

    def test_a_scan_filtered_to_one_tenant_hands_out_no_other_tenants_key(
        self, harness: Harness
    ) -> None:
        _, theirs = _tenants(harness)
        repo = harness.repository(ACCOUNTS)
        spec = attr("owner") == "tenant-a"
        cursors: list[str] = []
        found: list[str] = []
        cursor: str | None = None
        while True:  # one item evaluated per page: every item's key becomes a cursor
            page = repo.scan_segment(spec, segment=0, total_segments=1, limit=1, cursor=cursor)
            found.extend(a.account_id for a in page.items)
            if page.cursor is None:
                break
            cursors.append(page.cursor)
            cursor = page.cursor
        assert sorted(found) == [f"tenant-a-account-{i:02d}" for i in range(4)]
        # Every item evaluated but perhaps the last (a backend may see that nothing follows).
        assert len(cursors) >= 7
        secrets = [a.account_id for a in theirs] + ["tenant-b"]
        for token in cursors:
            assert not _revealed(token, secrets), token

    def test_index_query_cursors_are_opaque_and_resume_exactly(self, harness: Harness) -> None:
        ours, _ = _tenants(harness)
        repo = harness.repository(ACCOUNTS)
        spec = attr("owner") == "tenant-a"
        first = repo.find(spec, index="by_owner", limit=2)
        assert first.cursor is not None
        # The index's LastEvaluatedKey holds the table key and the index key.
        values = [first.items[-1].account_id, "OWNER#tenant-a", "tenant-a"]
        assert not _revealed(first.cursor, values)
        rest = repo.find(spec, index="by_owner", limit=10, cursor=first.cursor)
        assert [a.account_id for a in first.items + rest.items] == [a.account_id for a in ours]
        middle = len(first.cursor) // 2
        altered = first.cursor[:middle] + ("A" if first.cursor[middle] != "A" else "B")
        altered += first.cursor[middle + 1 :]
        for bad in (altered, first.cursor[:-1], first.cursor + "A", ""):
            with pytest.raises(errors.InvalidCursor):
                repo.find(spec, index="by_owner", limit=2, cursor=bad)
        with pytest.raises(errors.InvalidCursor):
            repo.find(attr("owner") == "tenant-b", index="by_owner", limit=2, cursor=first.cursor)
