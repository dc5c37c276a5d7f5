"""Cursors: opaque (encrypted), authenticated, bound to their query, rotated keys; anything else
is InvalidCursor."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from persistence import attr, errors
from persistence.backends.memory.store import InMemoryStore
from persistence.backends.memory.unit_of_work import InMemoryRepository
from persistence.query import cursor
from persistence.query.cursor import CursorSigner
from persistence.repository import Repository
from persistence.testing.models import ORDERS, Order

KEY = {"pk": {"S": "CUSTOMER#c1"}, "sk": {"S": "ORDER#2024-01-01#o001"}}
INDEX_KEY = {
    "pk": {"S": "ACCOUNT#a-7f3c9e2b"},
    "sk": {"S": "ACCOUNT"},
    "gsi1pk": {"S": "OWNER#alice"},
    "gsi1sk": {"S": "ACCOUNT#a-7f3c9e2b"},
}
SHAPE = "Query contract_bank pk=... filter=status"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _decoded_parts(token: str) -> list[bytes]:
    """Every base64url part of a cursor, decoded (whatever its format: parts split on '.')."""
    parts = []
    for part in token.split("."):
        try:
            parts.append(_unb64(part))
        except (binascii.Error, ValueError):
            continue
    return parts


def _forms(value: str | bytes) -> Iterator[bytes]:
    """The ways a key value can sit in a cursor: raw, JSON-escaped, base64 (any alignment)."""
    raw = value.encode("utf-8") if isinstance(value, str) else value
    yield raw
    if isinstance(value, str):
        yield json.dumps(value)[1:-1].encode("ascii")
    for shift in range(3):  # base64 of the value at each alignment inside a longer byte string
        encoded = base64.b64encode(b"\x00" * shift + raw)[4 if shift else 0 :]
        core = encoded.rstrip(b"=")[:-2]  # the last characters depend on what follows
        if len(core) >= 8:
            yield core
            yield core.replace(b"+", b"-").replace(b"/", b"_")


def _leaks(token: str, value: str | bytes) -> list[bytes]:
    haystacks = [token.encode("ascii"), *_decoded_parts(token)]
    return [form for form in _forms(value) for h in haystacks if form in h]


def test_a_cursor_decodes_for_its_own_query() -> None:
    signer = CursorSigner("secret-1")
    assert signer.decode(signer.encode(KEY, SHAPE), SHAPE) == KEY
    assert signer.decode(signer.encode(INDEX_KEY, SHAPE), SHAPE) == INDEX_KEY


def test_the_same_key_never_gives_the_same_cursor_twice() -> None:
    signer = CursorSigner("secret-1")
    assert signer.encode(KEY, SHAPE) != signer.encode(KEY, SHAPE)  # random nonce


def test_a_cursor_reveals_no_key_value() -> None:
    token = CursorSigner("secret-1").encode(KEY, SHAPE)
    for value in ("CUSTOMER#c1", "ORDER#2024-01-01#o001", "CUSTOMER", "2024-01-01"):
        assert not _leaks(token, value), value


# Values long enough that a chance match in ~100 random bytes is out of the question (2^-60).
key_strings = st.text(min_size=8, max_size=200).filter(lambda s: len(s.encode("utf-8")) >= 8)
key_values = st.one_of(
    key_strings.map(lambda s: {"S": s}),
    st.binary(min_size=8, max_size=200).map(lambda b: {"B": b}),
    st.integers(min_value=10**8, max_value=10**37).map(lambda n: {"N": str(n)}),
)
last_keys = st.dictionaries(
    st.sampled_from(["pk", "sk", "gsi1pk", "gsi1sk", "lsi1sk"]), key_values, min_size=1
)


@settings(max_examples=200, deadline=None)
@given(last_keys)
def test_no_key_value_can_be_read_from_a_cursor(last_key: dict[str, dict[str, Any]]) -> None:
    signer = CursorSigner("secret-1")
    token = signer.encode(last_key, SHAPE)
    for attribute in last_key.values():
        (value,) = attribute.values()
        assert not _leaks(token, value), value
    assert signer.decode(token, SHAPE) == last_key


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_changing_any_single_byte_is_refused(data: st.DataObject) -> None:
    signer = CursorSigner("secret-1")
    raw = bytearray(_unb64(signer.encode(KEY, SHAPE)))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(errors.InvalidCursor):
        signer.decode(_b64(bytes(raw)), SHAPE)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_changing_any_single_character_is_refused(data: st.DataObject) -> None:
    """Including the last one, whose spare bits a lax base64 decoder would ignore."""
    signer = CursorSigner("secret-1")
    token = signer.encode(KEY, SHAPE)
    position = data.draw(st.integers(0, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=.+/ é"
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[position]))
    with pytest.raises(errors.InvalidCursor):
        signer.decode(token[:position] + replacement + token[position + 1 :], SHAPE)


def test_no_other_last_character_is_accepted() -> None:
    """base64 leaves spare bits in the last character, which a lax decoder ignores."""
    signer = CursorSigner("secret-1")
    for last_key in (KEY, INDEX_KEY, {"pk": {"S": "x"}}, {"pk": {"S": "xy"}}):
        token = signer.encode(last_key, SHAPE)
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_":
            if c != token[-1]:
                with pytest.raises(errors.InvalidCursor):
                    signer.decode(token[:-1] + c, SHAPE)


def _token() -> str:
    return CursorSigner("secret-1").encode(KEY, SHAPE)


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda c: c[:-1], id="last character cut"),
        pytest.param(lambda c: c[: len(c) // 2], id="cut in half"),
        pytest.param(lambda c: c[:8], id="header only"),
        pytest.param(lambda c: c + "A", id="one character more"),
        pytest.param(lambda c: c + "AAAA", id="three bytes more"),
        pytest.param(lambda c: c[:10] + "!" + c[10:], id="a character the decoder would skip"),
        pytest.param(lambda c: c[:10] + "\n" + c[10:], id="a newline"),
        pytest.param(lambda c: c + "==", id="padding"),
        pytest.param(lambda c: c + "." + c, id="old format separator"),
        pytest.param(lambda c: "", id="empty"),
        pytest.param(lambda c: "not a cursor", id="text"),
        pytest.param(lambda c: "%%%.%%%", id="not base64"),
        pytest.param(lambda c: "ÄÖÜ" + c, id="non-ASCII"),
        pytest.param(lambda c: "\udcff" + c, id="lone surrogate"),
        pytest.param(lambda c: c[:20] + "é" + c[21:], id="non-ASCII inside"),
        pytest.param(lambda c: "A" * 10_000_000, id="very long"),
        pytest.param(lambda c: c * 1000, id="repeated"),
        pytest.param(lambda c: _b64(b"\x02" + _unb64(c)[1:]), id="unknown version"),
        pytest.param(lambda c: _b64(b"\x01" + b"\x00" * 60), id="zeros"),
        pytest.param(lambda c: None, id="None"),
        pytest.param(lambda c: c.encode(), id="bytes"),
        pytest.param(lambda c: 42, id="int"),
    ],
)
def test_malformed_truncated_or_foreign_input_is_invalid_cursor_only(
    bad: Callable[[str], Any],
) -> None:
    signer = CursorSigner("secret-1")
    with pytest.raises(errors.InvalidCursor):
        signer.decode(bad(_token()), SHAPE)


def test_a_cursor_of_the_previous_format_is_refused_with_a_clear_message() -> None:
    payload = json.dumps({"k": KEY, "s": "0" * 32}, separators=(",", ":")).encode()
    old = _b64(payload) + "." + _b64(b"\x00" * 32)
    with pytest.raises(errors.InvalidCursor, match="start the listing again"):
        CursorSigner("secret-1").decode(old, SHAPE)


def test_a_cursor_replayed_against_another_query_is_refused() -> None:
    signer = CursorSigner("secret-1")
    token = signer.encode(KEY, SHAPE)
    with pytest.raises(errors.InvalidCursor, match="another query"):
        signer.decode(token, SHAPE + " descending")


def test_a_cursor_of_another_scan_segment_is_refused() -> None:
    signer = CursorSigner("secret-1")
    token = signer.encode(KEY, "Scan contract_bank\x1fsegment 0/3")
    with pytest.raises(errors.InvalidCursor, match="scan segment"):
        signer.decode(token, "Scan contract_bank\x1fsegment 1/3")


def test_a_cursor_encrypted_with_a_retired_key_is_refused() -> None:
    old = CursorSigner("old-secret").encode(KEY, SHAPE)
    with pytest.raises(errors.InvalidCursor, match="no longer accepted"):
        CursorSigner(["new-secret"]).decode(old, SHAPE)


def test_rotation_the_first_secret_encrypts_and_every_secret_decrypts() -> None:
    old_only = CursorSigner(["old"])
    rotating = CursorSigner(["new", "old"])
    new_only = CursorSigner(["new"])
    issued_before = old_only.encode(KEY, SHAPE)
    assert rotating.decode(issued_before, SHAPE) == KEY  # still accepted during rotation
    issued_during = rotating.encode(KEY, SHAPE)
    assert new_only.decode(issued_during, SHAPE) == KEY  # encrypted with the first secret
    with pytest.raises(errors.InvalidCursor):
        old_only.decode(issued_during, SHAPE)


def test_secrets_of_any_length_and_type_work() -> None:
    for secret in ("s", "x" * 1000, b"\x00\xff" * 40, "sécret ✓"):
        signer = CursorSigner(secret)
        assert signer.decode(signer.encode(KEY, SHAPE), SHAPE) == KEY


def test_unusual_key_values_round_trip() -> None:
    last_key = {
        "pk": {"B": b"\x00\xff binary"},
        "sk": {"S": 'ünïcode ✓ \U0001f600 "quotes" \\ \x00'},
        "n": {"N": "-1.5E+10"},
    }
    signer = CursorSigner("secret-1")
    assert signer.decode(signer.encode(last_key, SHAPE), SHAPE) == last_key


def test_the_largest_possible_key_round_trips_under_the_length_bound() -> None:
    """Four key attributes (table and index keys) of 255-character names and the largest values
    DynamoDB takes (2048-byte partition, 1024-byte sort key), made of what JSON escapes most."""
    rng = random.Random(0)

    def escaped(n: int) -> str:
        return "".join(chr(rng.randrange(0x20)) for _ in range(n))

    last_key = {
        escaped(255): {"S": escaped(2048)},
        escaped(255) + "s": {"S": escaped(1024)},
        escaped(255) + "g": {"S": escaped(2048)},
        escaped(255) + "h": {"B": rng.randbytes(1024)},
    }
    signer = CursorSigner("secret-1")
    token = signer.encode(last_key, SHAPE)
    assert len(token) < cursor.MAX_CURSOR_CHARS
    assert signer.decode(token, SHAPE) == last_key


def test_cursors_stay_short() -> None:
    """Format overhead is 33 bytes (version, key id, nonce, tag); the key JSON is deflated. The
    previous signed-JSON format gave 186 and 263 characters for these keys (adr/0010)."""
    signer = CursorSigner("secret-1")
    assert len(signer.encode(KEY, SHAPE)) <= 120
    assert len(signer.encode(INDEX_KEY, SHAPE)) <= 140


def test_empty_secrets_are_refused() -> None:
    with pytest.raises(ValueError):
        CursorSigner([])
    with pytest.raises(ValueError):
        CursorSigner(["ok", ""])


def test_environment_secrets_rotate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cursor.ENV_SECRET, "new, old")
    issued = CursorSigner("old").encode(KEY, SHAPE)
    assert CursorSigner().decode(issued, SHAPE) == KEY
    assert CursorSigner("new").decode(CursorSigner().encode(KEY, SHAPE), SHAPE) == KEY


def test_the_missing_secret_warning_comes_with_the_first_cursor_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(cursor.ENV_SECRET, raising=False)
    monkeypatch.setattr(cursor, "_fallback_warned", False)
    caplog.set_level(logging.DEBUG, logger="persistence")

    def logged() -> list[tuple[str, str]]:
        events = [
            (r.levelname, r.getMessage()) for r in caplog.records if r.name == cursor.log.name
        ]
        caplog.clear()
        return events

    signer = CursorSigner()
    other = CursorSigner()
    assert logged() == []  # building a signer (every repository has one) says nothing
    token = signer.encode(KEY, SHAPE)
    other.encode(KEY, SHAPE)
    assert logged() == [("WARNING", "cursor_secret_missing")]
    assert other.decode(token, SHAPE) == KEY  # one random key for the whole process
    monkeypatch.setenv(cursor.ENV_SECRET, "configured")
    monkeypatch.setattr(cursor, "_fallback_warned", False)
    CursorSigner().encode(KEY, SHAPE)
    CursorSigner("explicit").encode(KEY, SHAPE)
    assert logged() == []


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
