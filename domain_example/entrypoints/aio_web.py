"""The HTTP API as an ASGI app on the async unit of work (Starlette, served by uvicorn).

`web.py`'s app with one difference: its endpoints are awaited on the server's event loop
(`aio_api.run`) instead of run in a worker thread, over `persistence.aio`. The routes, the body
limits and deadlines, the request ids and logs, the JSON errors and the server (`make_server`,
`listen`, `Served`) are `web.py`'s.

The aiobotocore client lives on the server's loop: the app's lifespan opens it at startup
and closes it at shutdown, so serve it with `make_server(app, lifespan=True)`.

    container = build_aio_container(settings)
    server = make_server(create_app(container), lifespan=True)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from ..aio_bootstrap import AioContainer, connected
from . import aio_api, api
from .web import BODY_TIMEOUT, MAX_BODY, asgi_app


def create_app(
    container: AioContainer,
    *,
    max_body: int = MAX_BODY,
    body_timeout: float = BODY_TIMEOUT,
    dynamodb: bool = True,
) -> Starlette:
    """The API over `container`, awaited. `dynamodb=False` when its units of work are in
    memory (`persistence.containers.use_in_memory(container)`): no client is opened."""

    async def run(route: api.Route, call: api.Request) -> api.Response:
        return await aio_api.run(route, call, container)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not dynamodb:
            yield
            return
        async with connected(container):
            yield

    return asgi_app(run, max_body=max_body, body_timeout=body_timeout, lifespan=lifespan)
