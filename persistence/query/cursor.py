"""Opaque, URL-safe, encrypted and authenticated pagination cursors (adr/0010).

A cursor is base64url (unpadded) of

    version (1 byte) | key id (4 bytes) | nonce (12 bytes) | AES-256-GCM(deflate(key JSON))

with the version, the key id and the query's shape as associated data. It reveals no key value
(a scan filtered to one tenant must not hand out another tenant's keys) and works only for the
read that produced it (same plan, conditions, index, direction and scan segment). Secrets rotate:
the first of the accepted secrets encrypts, all of them decrypt; the key id picks the key.

`cryptography` is imported at the first encode or decode, not with the package: a Lambda cold
start that never pages should not pay for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
import threading
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import wirejson
from ..errors import InvalidCursor

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# The logger keeps the name it had before the modules moved into layers (docs/api.md).
log = logging.getLogger("persistence.cursor")

ENV_SECRET = "PERSISTENCE_CURSOR_SECRET"

VERSION = 1
_VERSION_BYTE = bytes([VERSION])
_KEY_ID_LEN = 4
_NONCE_LEN = 12
_TAG_LEN = 16
_HEADER_LEN = 1 + _KEY_ID_LEN
_MIN_LEN = _HEADER_LEN + _NONCE_LEN + _TAG_LEN
# A LastEvaluatedKey holds at most four key attributes (table and index keys), values of at most
# 2048 (partition) and 1024 (sort) bytes; even fully JSON-escaped that is far below this bound.
# Anything longer is refused before any decoding work.
MAX_CURSOR_CHARS = 1 << 17
# Changing the label changes every derived key: it is part of the format version.
_HKDF_INFO = b"persistence cursor v1: aes-256-gcm key and key id"

_process_secret: bytes | None = None
_fallback_warned = False
_lock = threading.Lock()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _as_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _configured_secrets() -> list[bytes] | None:
    configured = os.environ.get(ENV_SECRET)
    if not configured:
        return None
    return [_as_bytes(s.strip()) for s in configured.split(",") if s.strip()]


def _process_key() -> bytes:
    global _process_secret
    with _lock:  # two threads racing here would build signers that refuse each other's cursors
        if _process_secret is None:
            _process_secret = secrets.token_bytes(32)
        return _process_secret


def default_secrets() -> list[bytes]:
    """PERSISTENCE_CURSOR_SECRET (comma-separated for rotation), else one random key per process."""
    configured = _configured_secrets()
    return configured if configured is not None else [_process_key()]


def _warn_fallback_once() -> None:
    global _fallback_warned
    with _lock:
        if _fallback_warned:
            return
        _fallback_warned = True
    log.warning(
        "cursor_secret_missing",
        extra={
            "detail": f"no {ENV_SECRET}: cursors are encrypted with a random per-process key "
            "and will not survive a restart or work across processes"
        },
    )


class _Key:
    __slots__ = ("aead", "key_id")

    def __init__(self, key_id: bytes, aead: AESGCM) -> None:
        self.key_id = key_id
        self.aead = aead


def _derive(secret: bytes) -> _Key:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    # One HKDF output split in two: the key id is public and must not be the key.
    material = HKDF(
        algorithm=hashes.SHA256(), length=32 + _KEY_ID_LEN, salt=None, info=_HKDF_INFO
    ).derive(secret)
    return _Key(material[32:], AESGCM(material[:32]))


class CursorSigner:
    """Encrypts and authenticates page cursors (AES-256-GCM). Keys are derived once, at the
    first cursor.

    Args:
        secrets_: the secret, or several (newest first: the first encrypts, every one
            decrypts, so secrets rotate without breaking cursors in flight). Without one, the
            comma-separated `PERSISTENCE_CURSOR_SECRET` environment variable, else a random key
            per process (cursors then do not survive a restart; a warning is logged once).
    """

    def __init__(self, secrets_: str | bytes | Sequence[str | bytes] | None = None) -> None:
        self._fallback = False
        if secrets_ is None:
            configured = _configured_secrets()
            self._fallback = configured is None
            keys = configured if configured is not None else [_process_key()]
        elif isinstance(secrets_, str | bytes):
            keys = [_as_bytes(secrets_)]
        else:
            keys = [_as_bytes(s) for s in secrets_]
        if not keys or any(not k for k in keys):
            raise ValueError("cursor secrets must be non-empty")
        self._secrets = keys
        self._keys: list[_Key] | None = None

    def _derived(self) -> list[_Key]:
        keys = self._keys
        if keys is None:  # a race derives twice, the same keys
            keys = self._keys = [_derive(s) for s in self._secrets]
        return keys

    def encode(self, last_key: dict[str, Any], shape: str) -> str:
        """The cursor for `last_key` (a LastEvaluatedKey) of the read described by `shape`:
        AES-256-GCM with the first secret, the read's shape as associated data.
        """
        if self._fallback:
            _warn_fallback_once()
        key = self._derived()[0]
        header = _VERSION_BYTE + key.key_id
        nonce = os.urandom(_NONCE_LEN)
        sealed = key.aead.encrypt(nonce, _plaintext(last_key), header + _shape_bytes(shape))
        return _b64(header + nonce + sealed)

    def decode(self, cursor: str, shape: str) -> dict[str, Any]:
        """The LastEvaluatedKey inside `cursor`, if it was issued for the read `shape`.

        Raises:
            InvalidCursor: malformed, altered, truncated, from another query, or encrypted with
                a secret no longer accepted.
        """
        if not isinstance(cursor, str) or not cursor:
            raise InvalidCursor("malformed cursor: expected a non-empty string")
        if len(cursor) > MAX_CURSOR_CHARS:
            raise InvalidCursor("malformed cursor: too long")
        if "." in cursor:
            raise InvalidCursor(
                "cursor in a format this version no longer reads (issued before an upgrade): "
                "start the listing again"
            )
        try:
            raw = _unb64(cursor)
        except (binascii.Error, ValueError):  # ValueError: non-ASCII text
            raise InvalidCursor("malformed cursor: not base64url") from None
        # The decoder skips foreign characters and ignores trailing bits: only the exact text
        # this library issues is accepted, so no two texts are the same cursor.
        if len(raw) < _MIN_LEN or _b64(raw) != cursor:
            raise InvalidCursor("malformed cursor: altered or truncated")
        if raw[0] != VERSION:
            raise InvalidCursor(f"cursor format version {raw[0]} is not supported")
        header = raw[:_HEADER_LEN]
        nonce, sealed = raw[_HEADER_LEN : _HEADER_LEN + _NONCE_LEN], raw[_HEADER_LEN + _NONCE_LEN :]
        candidates = [k for k in self._derived() if k.key_id == header[1:]]
        if not candidates:
            raise InvalidCursor(
                "cursor was issued with a key that is no longer accepted (rotated out), "
                "or it was altered"
            )
        from cryptography.exceptions import InvalidTag

        associated = header + _shape_bytes(shape)
        for key in candidates:
            try:
                plaintext = key.aead.decrypt(nonce, sealed, associated)
                break
            except InvalidTag:
                continue
        else:
            raise InvalidCursor(
                "cursor does not authenticate: it was altered or truncated, or it belongs to "
                "another query (spec, index, direction or scan segment)"
            )
        # It authenticated: only a bug of ours (or a leaked secret) can make it unreadable.
        try:
            last_key = _parse(plaintext)
        except (ValueError, TypeError, zlib.error):
            raise InvalidCursor("malformed cursor") from None
        if not isinstance(last_key, dict):
            raise InvalidCursor("malformed cursor")
        return last_key


def _plaintext(last_key: dict[str, Any]) -> bytes:
    # Compact JSON; non-ASCII kept as UTF-8 (shorter than \uXXXX escapes). surrogatepass: a
    # cursor never fails to encode, whatever string a backend handed back. Raw deflate (no zlib
    # header or checksum: GCM authenticates) shortens index keys by a third (adr/0010).
    text = wirejson.dumps(last_key, ensure_ascii=False).encode("utf-8", "surrogatepass")
    # A 512-byte window and the smallest state: setting up zlib's default 256 KB state would cost
    # ten times the compressing of a key; the decoder's default window reads any smaller one.
    packer = zlib.compressobj(9, zlib.DEFLATED, -9, 1)
    return packer.compress(text) + packer.flush()


def _parse(plaintext: bytes) -> Any:
    # Only authenticated bytes get here, so no one but a secret holder can feed the inflater;
    # the bound is belt and braces.
    inflater = zlib.decompressobj(-15)
    text = inflater.decompress(plaintext, MAX_CURSOR_CHARS)
    if inflater.unconsumed_tail or not inflater.eof:
        raise ValueError("cursor plaintext is not one complete deflate stream")
    return wirejson.loads(text.decode("utf-8", "surrogatepass"))


def _shape_bytes(shape: str) -> bytes:
    return hashlib.sha256(shape.encode("utf-8", "surrogatepass")).digest()
