"""Running on AWS Lambda: a client sized for the function, resources reused across warm
invocations, deadlines from the invocation context, and cold-start measurements.

The public face of `persistence.runtime.lambda_runtime` (the runtime layer), kept at this path so
`from persistence.lambda_runtime import ...` goes on working.
"""

from .runtime.lambda_runtime import (
    DEADLINE_BUFFER_SECONDS,
    MEMORY_ENV,
    ColdStart,
    Deadline,
    DeadlineExceeded,
    LambdaContext,
    Lazy,
    client_config,
    dynamodb_client,
    measure_cold_start,
    memory_size_mb,
    memory_stats,
    pool_size,
    prewarm,
    shared_client,
)

__all__ = [
    "DEADLINE_BUFFER_SECONDS",
    "MEMORY_ENV",
    "ColdStart",
    "Deadline",
    "DeadlineExceeded",
    "LambdaContext",
    "Lazy",
    "client_config",
    "dynamodb_client",
    "measure_cold_start",
    "memory_size_mb",
    "memory_stats",
    "pool_size",
    "prewarm",
    "shared_client",
]
