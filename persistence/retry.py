"""Bounded exponential backoff with full jitter, conflict retries and the commit retry policy.

The public face of `persistence.runtime.retry` (the runtime layer), kept at this path so
`from persistence.retry import ...` goes on working.
"""

from .runtime.retry import (
    DEFAULT_RETRY_POLICY,
    RETRYABLE_REASONS,
    SERVER_ERROR_CODES,
    THROTTLING_CODES,
    TOKEN_WINDOW_SECONDS,
    Backoff,
    Deadline,
    RetryPolicy,
    error_code,
    is_transient,
    retry_on_conflict,
)

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "RETRYABLE_REASONS",
    "SERVER_ERROR_CODES",
    "THROTTLING_CODES",
    "TOKEN_WINDOW_SECONDS",
    "Backoff",
    "Deadline",
    "RetryPolicy",
    "error_code",
    "is_transient",
    "retry_on_conflict",
]
