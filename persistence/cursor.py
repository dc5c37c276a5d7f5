"""Opaque, URL-safe, signed pagination cursors.

A cursor is base64url(JSON {k: LastEvaluatedKey, s: hash of the query's shape}) + "." +
base64url(HMAC-SHA256). It works only for the read that produced it (same plan, conditions,
index and direction). Secrets rotate: the first of the accepted secrets signs, all of them verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from typing import Any

from . import wirejson
from .errors import InvalidCursor
from .logs import get_logger

log = get_logger(__name__)

ENV_SECRET = "PERSISTENCE_CURSOR_SECRET"
_process_secret: bytes | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _as_bytes(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def default_secrets() -> list[bytes]:
    """PERSISTENCE_CURSOR_SECRET (comma-separated for rotation), else one random key per process."""
    global _process_secret
    configured = os.environ.get(ENV_SECRET)
    if configured:
        return [_as_bytes(s.strip()) for s in configured.split(",") if s.strip()]
    if _process_secret is None:
        _process_secret = secrets.token_bytes(32)
        log.warning(
            "cursor_secret_missing",
            detail=f"no {ENV_SECRET}: cursors are signed with a random per-process key and will "
            "not survive a restart or work across processes",
        )
    return [_process_secret]


class CursorSigner:
    def __init__(self, secrets_: str | bytes | Sequence[str | bytes] | None = None) -> None:
        if secrets_ is None:
            keys = default_secrets()
        elif isinstance(secrets_, str | bytes):
            keys = [_as_bytes(secrets_)]
        else:
            keys = [_as_bytes(s) for s in secrets_]
        if not keys or any(not k for k in keys):
            raise ValueError("cursor secrets must be non-empty")
        self._keys = keys

    def encode(self, last_key: dict[str, Any], shape: str) -> str:
        payload = wirejson.dumps({"k": last_key, "s": _shape_hash(shape)}).encode("utf-8")
        signature = hmac.new(self._keys[0], payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(signature)}"

    def decode(self, cursor: str, shape: str) -> dict[str, Any]:
        if not isinstance(cursor, str) or cursor.count(".") != 1:
            raise InvalidCursor("malformed cursor")
        body, sig = cursor.split(".")
        try:
            payload = _unb64(body)
            signature = _unb64(sig)
        except (binascii.Error, ValueError):
            raise InvalidCursor("malformed cursor") from None
        if not any(
            hmac.compare_digest(hmac.new(k, payload, hashlib.sha256).digest(), signature)
            for k in self._keys
        ):
            raise InvalidCursor(
                "cursor signature does not match (tampered, truncated or expired key)"
            )
        try:
            data = wirejson.loads(payload)
            last_key, stored_shape = data["k"], data["s"]
        except (ValueError, KeyError, TypeError):
            raise InvalidCursor("malformed cursor") from None
        if not hmac.compare_digest(str(stored_shape), _shape_hash(shape)):
            raise InvalidCursor("this cursor belongs to another query (spec, index or direction)")
        if not isinstance(last_key, dict):
            raise InvalidCursor("malformed cursor")
        return last_key


def _shape_hash(shape: str) -> str:
    return hashlib.sha256(shape.encode("utf-8")).hexdigest()[:32]
