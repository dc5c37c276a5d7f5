"""Counts DynamoDB requests per operation through botocore's `before-call` event."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class RequestCounter:
    """Attach to a boto3 client; counts API calls (not HTTP retries) per operation name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def attach(self, client: Any) -> RequestCounter:
        client.meta.events.register("before-call.dynamodb", self._on_call)
        return self

    def _on_call(self, model: Any, **_: Any) -> None:
        with self._lock:
            self._counts[model.name] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
