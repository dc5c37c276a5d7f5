"""AWS Lambda entry point on the async unit of work: the events and answers of
`lambda_handlers.py`, with the endpoints awaited (`aio_api.dispatch`).

Lambda calls a handler synchronously, one invocation at a time per container. The pattern:
one event loop per warm container, kept between invocations (`loop.run_until_complete` per
invocation), and one aiobotocore client opened on that loop once, at init, and reused. Not
`asyncio.run(...)` per invocation: it makes and closes a new loop each time, and an aiobotocore
client (its aiohttp connection pool) belongs to the loop it was opened on, so the client, its
connections and their TLS sessions would have to be rebuilt on every invocation.

Async pays inside one invocation that waits on several things at once (`asyncio.gather` over
reads): one invocation is one request, so a handler that reads once and commits once is as
fast synchronously (docs/async.md says when to choose which).
"""

from __future__ import annotations

from persistence.lambda_runtime import measure_cold_start

COLD_START = measure_cold_start()  # first, so the import phase covers the imports below

import asyncio  # noqa: E402
import os  # noqa: E402
from collections.abc import AsyncIterator, Callable  # noqa: E402
from contextlib import (  # noqa: E402
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
)
from typing import Any  # noqa: E402

import structlog  # noqa: E402

from ..aio_bootstrap import AioContainer, build_aio_container, connected  # noqa: E402
from ..log_config import bind_request, configure_logging  # noqa: E402
from . import aio_api  # noqa: E402
from .proxy import MALFORMED_EVENT, to_proxy_response, to_request  # noqa: E402

COLD_START.mark("import")
log = structlog.get_logger(__name__)

Opener = Callable[[], AbstractAsyncContextManager[AioContainer]]


class AsyncLambdaHandler:
    """A Lambda handler (`handler(event, context) -> dict`) running the async API on one event
    loop for the life of the warm container.

    Args:
        open_container: returns an async context manager yielding the container with its
            client open (e.g. `lambda: connected(build_aio_container())`); entered once, on
            the handler's loop, at the first invocation (or `open()` during init).
    """

    def __init__(self, open_container: Opener) -> None:
        self.loop = asyncio.new_event_loop()
        self._open_container = open_container
        self._resources = AsyncExitStack()
        self._container: AioContainer | None = None

    def open(self) -> AioContainer:
        """The container, opened on the handler's loop the first time."""
        if self._container is None:
            self._container = self.loop.run_until_complete(
                self._resources.enter_async_context(self._open_container())
            )
        return self._container

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        container = self.open()
        return self.loop.run_until_complete(self.respond(event, context, container))

    async def respond(
        self, event: dict[str, Any], context: Any, container: AioContainer
    ) -> dict[str, Any]:
        try:
            request = to_request(event, context)
        except (AttributeError, TypeError, ValueError):
            return to_proxy_response(MALFORMED_EVENT, "-")
        bind_request(request.request_id, method=request.method, path=request.path)
        response = await aio_api.dispatch(request, container)
        log.info("request", status=response.status)
        if COLD_START.mark("first_request"):
            log.info("cold_start", **COLD_START.report())
        return to_proxy_response(response, request.request_id)

    def close(self) -> None:
        """Close the client and the loop (tests; Lambda just freezes and ends the process)."""
        if self.loop.is_closed():
            return
        self.loop.run_until_complete(self._resources.aclose())
        self._container = None
        self.loop.close()


async def _prewarm(container: AioContainer) -> None:
    """`persistence.lambda_runtime.prewarm`, awaited: the first connection opened during init.
    A failure is only logged: prewarming must never fail the init phase."""
    try:
        await container.client().describe_endpoints()
    except Exception as error:  # any failure only means "not prewarmed"
        log.warning("prewarm_failed", error=str(error))


@asynccontextmanager
async def open_application() -> AsyncIterator[AioContainer]:
    """Logging, the container, its client and the first connection: once per warm container."""
    configure_logging()
    container = build_aio_container()
    COLD_START.mark("container")
    async with connected(container):
        if os.environ.get("PAYMENTS_PREWARM", "1") == "1":
            await _prewarm(container)
            COLD_START.mark("prewarm")
        yield container


handler = AsyncLambdaHandler(open_application)

if "AWS_LAMBDA_FUNCTION_NAME" in os.environ:
    # During Lambda's init phase (full CPU, not counted in the first request's latency).
    handler.open()
