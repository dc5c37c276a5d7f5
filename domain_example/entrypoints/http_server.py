"""A local HTTP server for the API: each request becomes an API Gateway proxy event for the
same Lambda handler that runs in AWS, so curl exercises exactly the deployed code path."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import structlog

from .lambda_handlers import LambdaHandler

log = structlog.get_logger(__name__)

MAX_BODY = 1024 * 1024


class LocalContext:
    """The bits of a Lambda context the handler reads."""

    def __init__(self, timeout_seconds: float = 30.0) -> None:
        self.aws_request_id = uuid.uuid4().hex
        self._ends = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - time.monotonic()) * 1000))


def to_event(method: str, target: str, headers: dict[str, str], body: str | None) -> dict[str, Any]:
    parts = urlsplit(target)
    return {
        "httpMethod": method,
        "path": parts.path,
        "queryStringParameters": dict(parse_qsl(parts.query)) or None,
        "headers": headers,
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"requestId": headers.get("x-request-id") or uuid.uuid4().hex},
    }


def make_server(
    handler: LambdaHandler, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """A threaded server (port 0 picks a free one: `server.server_address[1]`)."""

    class ApiRequestHandler(BaseHTTPRequestHandler):
        server_version = "payments/1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(413, {"error": "payload_too_large", "message": "body over 1 MiB"})
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace") if length else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            event = to_event(self.command, self.path, headers, body)
            result = handler(event, LocalContext())
            self._reply(result["statusCode"], result["body"], result.get("headers", {}))

        def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            payload = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "application/json"}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        def log_message(self, format: str, *args: Any) -> None:
            # The Lambda handler already logs each request with its id, in structlog's format.
            pass

    server = ThreadingHTTPServer((host, port), ApiRequestHandler)
    server.daemon_threads = True
    return server


def serve_in_thread(server: ThreadingHTTPServer, poll_interval: float = 0.5) -> threading.Thread:
    # `server.shutdown()` waits for the serving loop's next poll: up to `poll_interval` seconds.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": poll_interval},
        name="http-api",
        daemon=True,
    )
    thread.start()
    return thread
