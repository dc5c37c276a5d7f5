"""structlog for the application: JSON lines on Lambda, a readable console locally.

Only the application configures logging; the library just calls `structlog.get_logger`.
Request ids are bound per invocation with `structlog.contextvars`, so every line of a request
(the library's included) carries them.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog


def on_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


def configure_logging(*, json: bool | None = None, level: str = "info") -> None:
    json = on_lambda() if json is None else json
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if json:
        processors += [
            structlog.processors.dict_tracebacks,
            # Decimals and datetimes become strings rather than failing the log line.
            structlog.processors.JSONRenderer(default=str),
        ]
    else:
        processors.append(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


def bind_request(request_id: str, **values: Any) -> None:
    """Start a request's log context: what the previous request bound is dropped."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, **values)
