"""AWS Lambda entry points: API Gateway proxy events (REST v1 or HTTP API v2) in, responses out
(`handler`); and the statistics consumer on the events' SQS queue (`statistics_handler`).

Everything expensive happens once per warm container: imports, the container (boto3 client,
mappings), and the first connection (prewarmed during init). Each invocation binds its request
id to the logs and gets a deadline from the Lambda context.
"""

from __future__ import annotations

from persistence.lambda_runtime import measure_cold_start

COLD_START = measure_cold_start()  # first, so the import phase covers the imports below

import base64  # noqa: E402
import os  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import structlog  # noqa: E402

from persistence.lambda_runtime import Deadline, Lazy, prewarm  # noqa: E402

from ..adapters.messaging import decode_event  # noqa: E402
from ..bootstrap import Container, build_container  # noqa: E402
from ..log_config import bind_request, configure_logging  # noqa: E402
from .api import Request, Response, dispatch, encode  # noqa: E402

COLD_START.mark("import")
log = structlog.get_logger(__name__)

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def to_request(event: dict[str, Any], context: Any) -> Request:
    """An API Gateway proxy event as a transport-neutral request."""
    http = event.get("requestContext", {}).get("http", {})  # HTTP API (v2) payloads
    method = event.get("httpMethod") or http.get("method") or "GET"
    path = event.get("path") or event.get("rawPath") or "/"
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    request_id = (
        getattr(context, "aws_request_id", None)
        or event.get("requestContext", {}).get("requestId")
        or None
    )
    request = Request(
        method=method.upper(),
        path=path,
        body=body,
        query=dict(event.get("queryStringParameters") or {}),
        headers={k.lower(): v for k, v in (event.get("headers") or {}).items()},
        deadline=Deadline.from_context(context if _has_clock(context) else None),
    )
    if request_id:
        request.request_id = request_id
    return request


def _has_clock(context: Any) -> bool:
    return callable(getattr(context, "get_remaining_time_in_millis", None))


def to_proxy_response(response: Response, request_id: str) -> dict[str, Any]:
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": "application/json", "X-Request-Id": request_id},
        "body": encode(response),
        "isBase64Encoded": False,
    }


def make_handler(get_container: Callable[[], Container]) -> LambdaHandler:
    """A Lambda handler over a container; `get_container` is called per invocation, so it
    should return a cached one (e.g. `Lazy(build).get`)."""

    def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            request = to_request(event, context)
        except (AttributeError, TypeError, ValueError):
            return to_proxy_response(
                Response(400, {"error": "bad_request", "message": "malformed event"}), "-"
            )
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
