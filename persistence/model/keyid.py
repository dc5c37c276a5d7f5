"""A hashable identity for a wire key (identity map, de-duplication)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .marshal import Wire


def key_id(key: Mapping[str, Wire]) -> tuple[Any, ...]:
    out = []
    for name in sorted(key):
        (tag, inner), *_ = key[name].items()
        value: Any = Decimal(inner) if tag == "N" else bytes(inner) if tag == "B" else inner
        out.append((name, tag, value))
    return tuple(out)
