"""API Gateway proxy events (REST v1 or HTTP API v2) as transport-neutral requests, and
responses as proxy results: shared by the synchronous and the async Lambda handlers."""

from __future__ import annotations

import base64
from typing import Any

from persistence.lambda_runtime import Deadline

from .api import Request, Response, encode

# An event that is not an API Gateway proxy event (to_request failed on it).
MALFORMED_EVENT = Response(400, {"error": "bad_request", "message": "malformed event"})


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
