"""Logging for the application: JSON lines on Lambda, a readable console locally.

The library logs through the standard library, as libraries should: `logging.getLogger` under
`persistence`, the event name as the message and its fields as `extra=` (record attributes).
structlog is this application's choice for its own lines. Both kinds of record go through one
handler on the root logger whose `structlog.stdlib.ProcessorFormatter` renders them alike:
`ExtraAdder` lifts a standard record's `extra=` fields into the event dict, so the library's
`commit` line reads `commit  actions=1` like any structlog line. Request ids are bound per
invocation with `structlog.contextvars` and merged into both kinds of record, so every line of a
request (the library's included) carries them.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

# The handler this module installs, found again (and replaced) when logging is configured twice.
HANDLER_NAME = "domain_example"
# Whose lines `level` applies to; other libraries (botocore, urllib3) stay at WARNING and above.
APPLICATION_LOGGERS = ("persistence", "domain_example")


def on_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


def configure_logging(*, json: bool | None = None, level: str = "info") -> None:
    json = on_lambda() if json is None else json
    threshold = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: list[Any]
    if json:
        renderer = [
            structlog.processors.dict_tracebacks,
            # Decimals and datetimes become strings rather than failing the log line.
            structlog.processors.JSONRenderer(default=str),
        ]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # For standard records (the library's, other libraries'): structlog's records went
            # through `shared` before they became records.
            foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *shared],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
        )
    )
    root = logging.getLogger()
    for installed in root.handlers[:]:
        # The Lambda runtime puts its own handler on the root logger before the function's code
        # runs: kept, it would write every line a second time in its own format.
        if installed.get_name() == HANDLER_NAME or on_lambda():
            root.removeHandler(installed)
    root.addHandler(handler)
    root.setLevel(max(threshold, logging.WARNING))
    for name in APPLICATION_LOGGERS:
        logging.getLogger(name).setLevel(threshold)


def bind_request(request_id: str, **values: Any) -> None:
    """Start a request's log context: what the previous request bound is dropped."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, **values)
