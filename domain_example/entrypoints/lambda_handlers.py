"""AWS Lambda entry points: API Gateway proxy events (REST v1 or HTTP API v2) in, responses out
(`handler`); and the statistics consumer on the events' SQS queue (`statistics_handler`).

Everything expensive happens once per warm container: imports, the container (boto3 client,
mappings), and the first connection (prewarmed during init). Each invocation binds its request
id to the logs and gets a deadline from the Lambda context.
"""

from __future__ import annotations

from persistence.lambda_runtime import measure_cold_start

COLD_START = measure_cold_start()  # first, so the import phase covers the imports below

import os  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import structlog  # noqa: E402

from persistence.lambda_runtime import Lazy, prewarm  # noqa: E402

from ..adapters.messaging import decode_event  # noqa: E402
from ..bootstrap import Container, build_container  # noqa: E402
from ..log_config import bind_request, configure_logging  # noqa: E402
from .api import dispatch  # noqa: E402
from .proxy import MALFORMED_EVENT, to_proxy_response, to_request  # noqa: E402

COLD_START.mark("import")
log = structlog.get_logger(__name__)

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def make_handler(get_container: Callable[[], Container]) -> LambdaHandler:
    """A Lambda handler over a container; `get_container` is called per invocation, so it
    should return a cached one (e.g. `Lazy(build).get`)."""

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            request = to_request(event, context)
        except (AttributeError, TypeError, ValueError):
            return to_proxy_response(MALFORMED_EVENT, "-")
        bind_request(request.request_id, method=request.method, path=request.path)
        response = dispatch(request, get_container())
        log.info("request", status=response.status)
        if COLD_START.mark("first_request"):
            log.info("cold_start", **COLD_START.report())
        return to_proxy_response(response, request.request_id)

    return handle


def make_statistics_handler(get_container: Callable[[], Container]) -> LambdaHandler:
    """The statistics consumer as a Lambda function on the SQS queue subscribed to the events
    topic, for an event source mapping with `FunctionResponseTypes: [ReportBatchItemFailures]`.

    Each record's event is applied once however often it is delivered (the consumer keeps the
    event ids it applied). A record that fails is reported by its `messageId`: Lambda deletes the
    others and leaves only those on the queue, to come back after the visibility timeout and, after
    the queue's maxReceiveCount, to go to its dead-letter queue.
    """

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        consumer = get_container().consumer()
        failures = []
        for record in event.get("Records", []):
            try:
                consumer.apply(decode_event(record["body"]))
            except Exception:
                log.exception("statistics_record_failed", message_id=record.get("messageId"))
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}

    return handle


def _init() -> Container:
    """Logging, the container and the first connection: once per warm container."""
    configure_logging()
    container = build_container()
    COLD_START.mark("container")
    if os.environ.get("PAYMENTS_PREWARM", "1") == "1":
        prewarm(container.client())
        COLD_START.mark("prewarm")
    return container


application: Lazy[Container] = Lazy(_init)
handler: LambdaHandler = make_handler(application.get)
statistics_handler: LambdaHandler = make_statistics_handler(application.get)

if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    # During Lambda's init phase (full CPU, not counted in the first request's latency).
    application.get()
