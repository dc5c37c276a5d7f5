"""The HTTP API as an ASGI app (Starlette), served by uvicorn.

The routes are `api.ROUTES`, registered with Starlette's router; the endpoints are the same
transport-neutral functions the Lambda handler runs. Here each request's body is read with a
size limit and a deadline, then the endpoint runs in a worker thread (boto3 blocks), where the
container gives it that thread's message bus.

Slow or broken clients: uvicorn (h11) answers a malformed request, such as an invalid or
negative Content-Length, with a 400 at once (in JSON here) and closes the connection, and closes
an idle keep-alive connection after `keep_alive` seconds. It waits for the rest of a request head
or body without limit, though (the app's `await request.body()` just waits), so this module adds
both deadlines: `head_timeout` for the request line and headers (the connection is closed, with
a 408 when part of a head arrived) and `body_timeout` for the body (a JSON 408, then closed). One
stalled client holds one socket until then, never a worker: the server keeps answering others.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import h11
import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.requests import Request as HttpRequest
from starlette.responses import Response as HttpResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..bootstrap import Container
from ..log_config import bind_request
from . import api

log = structlog.get_logger(__name__)

MAX_BODY = 1024 * 1024
HEAD_TIMEOUT = 10.0  # seconds for a request line and its headers
BODY_TIMEOUT = 10.0  # seconds for a body, once its headers are in
KEEP_ALIVE = 5  # seconds an idle connection stays open after a response


class BodyTooLarge(Exception):
    pass


async def read_body(request: HttpRequest, limit: int, timeout: float) -> bytes:
    """The whole body, or BodyTooLarge, or TimeoutError when it does not arrive in time."""
    declared = request.headers.get("content-length")
    # h11 has refused an invalid Content-Length already: what is left is a decimal number.
    if declared is not None and int(declared) > limit:
        raise BodyTooLarge

    async def collect() -> bytes:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:  # a chunked body declares no length
                raise BodyTooLarge
        return bytes(body)

    return await asyncio.wait_for(collect(), timeout)


def reply(response: api.Response, request_id: str, *, close: bool = False) -> HttpResponse:
    headers = {"X-Request-Id": request_id}
    if close:
        headers["Connection"] = "close"
    return HttpResponse(
        api.encode(response), response.status, headers, media_type="application/json"
    )


Endpoint = Callable[[HttpRequest], Awaitable[HttpResponse]]
Runner = Callable[[api.Route, api.Request], Awaitable[api.Response]]
Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def create_app(
    container: Container, *, max_body: int = MAX_BODY, body_timeout: float = BODY_TIMEOUT
) -> Starlette:
    """The API over `container`: each endpoint runs in a worker thread (boto3 blocks)."""

    async def run(route: api.Route, call: api.Request) -> api.Response:
        return await run_in_threadpool(api.run, route.endpoint, call, container)

    return asgi_app(run, max_body=max_body, body_timeout=body_timeout)


def asgi_app(
    run: Runner,
    *,
    max_body: int = MAX_BODY,
    body_timeout: float = BODY_TIMEOUT,
    lifespan: Lifespan | None = None,
) -> Starlette:
    """`api.ROUTES` as a Starlette app: each request's body read with a size limit and a
    deadline, logged once with its request id, and answered by `run(route, request)` (the
    synchronous app runs the endpoint in a thread, the async one awaits it: aio_web.py)."""

    async def read(request: HttpRequest) -> bytes | api.Response:
        """The body, or the error that ends the request (the connection closes after it)."""
        try:
            return await read_body(request, max_body, body_timeout)
        except BodyTooLarge:
            return api.error(413, "payload_too_large", f"the body is over {max_body} bytes")
        except TimeoutError:
            # The rest may still come, or never: the connection cannot be reused either way.
            return api.error(
                408, "request_timeout", f"the body did not arrive within {body_timeout:g} s"
            )
        except ClientDisconnect:
            return api.error(400, "bad_request", "the client went away")

    def endpoint_for(route: api.Route) -> Endpoint:
        async def endpoint(request: HttpRequest) -> HttpResponse:
            request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
            bind_request(request_id, method=request.method, path=request.url.path)
            raw = await read(request)
            if isinstance(raw, api.Response):
                log.info("request", status=raw.status)
                return reply(raw, request_id, close=True)
            call = api.Request(
                method=request.method,
                path=request.url.path,
                body=raw.decode("utf-8", errors="replace") if raw else None,
                query=dict(request.query_params),
                headers={name.lower(): value for name, value in request.headers.items()},
                params={name: str(value) for name, value in request.path_params.items()},
                request_id=request_id,
            )
            response = await run(route, call)
            log.info("request", status=response.status)
            return reply(response, request_id)

        return endpoint

    async def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return reply(api.not_found(request.method, request.url.path), "-")

    async def method_not_allowed(request: HttpRequest, exc: Exception) -> HttpResponse:
        allow = (exc.headers or {}).get("Allow", "") if isinstance(exc, HTTPException) else ""
        return reply(api.method_not_allowed([m.strip() for m in allow.split(",")]), "-")

    return Starlette(
        routes=[Route(r.path, endpoint_for(r), methods=[r.method]) for r in api.ROUTES],
        exception_handlers={404: not_found, 405: method_not_allowed},
        lifespan=lifespan,
    )


# ------------------------------------------------------------------------------ the server


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head, and JSON for the 400 it
    sends on a malformed request."""

    head_timeout = HEAD_TIMEOUT
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def _watch_head(self) -> None:
        """Armed while a request head is awaited (once per head, not per packet: a client
        sending a byte at a time must not keep it alive); uvicorn's keep-alive timer covers
        an idle connection between requests."""
        waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
        if not waiting:
            self._stop_head_timer()
        elif self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # part of a head arrived: say why we hang up
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            )
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(
            {"error": "bad_request", "message": f"not a valid HTTP/1.1 request ({msg})"}
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
            h11.Data(data=body),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
        self.transport.close()


def make_server(
    app: Starlette,
    *,
    head_timeout: float = HEAD_TIMEOUT,
    keep_alive: int = KEEP_ALIVE,
    lifespan: bool = False,
) -> uvicorn.Server:
    """`lifespan=True` for an app that opens resources on the server's loop (aio_web.py)."""
    protocol = type("HttpProtocol", (GuardedH11Protocol,), {"head_timeout": head_timeout})
    config = uvicorn.Config(
        app,
        http=protocol,
        timeout_keep_alive=keep_alive,
        lifespan="on" if lifespan else "off",
        ws="none",
        access_log=False,  # each request is logged once, with its id, by the endpoint
        log_config=None,  # logging belongs to the application (log_config.py)
    )
    return uvicorn.Server(config)


def listen(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket (port 0 picks a free one: `sock.getsockname()[1]`). Bound before
    the server starts, so the port is known and early connections wait in the backlog."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


class Served:
    """A server running in a thread over a listening socket: `with Served(server, sock):`."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="http-api", daemon=True
        )

    def __enter__(self) -> Served:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join()
        self.sock.close()
