"""The library's loggers: structlog's, with the import deferred to the first log call.

structlog imports asyncio and its processors, about 25 ms: a Lambda cold start that only builds
a unit of work should not pay that before its first log line. `get_logger(__name__)` returns a
stand-in that calls `structlog.get_logger(name)` when first used, so configuration (which only
the application does), `structlog.testing.capture_logs` and bound context all behave as usual.
"""

from __future__ import annotations

from typing import Any


class _DeferredLogger:
    __slots__ = ("_logger", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        logger = self._logger
        if logger is None:
            import structlog

            logger = self._logger = structlog.get_logger(self._name)
        return getattr(logger, method)


def get_logger(name: str) -> Any:
    return _DeferredLogger(name)
