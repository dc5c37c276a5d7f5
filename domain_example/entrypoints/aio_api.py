"""The HTTP JSON API for asyncio: `api.ROUTES` answered by endpoints that await the `aio` unit
of work.

Everything but the I/O is `api.py`'s: the route table (the same methods and paths), reading a
request (`api.deposit_command`, `api.transfers_query`, ...), the checks at the door, and the
mapping of every error to its status and JSON body (`api.failure`). So the async app answers
every request as the synchronous one does, status for status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..aio_bootstrap import AioContainer
from ..domain import commands
from ..service_layer import aio_views
from . import api
from .api import Request, Response

AioEndpoint = Callable[[Request, AioContainer], Awaitable[Response]]


async def handle(app: AioContainer, command: Any) -> Any:
    bus = app.bus()  # a fresh unit of work for this request
    return await bus.handle(command)


async def account_after(
    app: AioContainer, account_id: str, *, closed: bool = False
) -> dict[str, Any]:
    """The account as a command just left it (a strongly consistent read)."""
    return await aio_views.account(
        app.unit_of_work(), account_id, consistent=True, include_closed=closed
    )


async def health(request: Request, app: AioContainer) -> Response:
    return Response(200, {"status": "ok"})


async def open_account(request: Request, app: AioContainer) -> Response:
    command = api.open_account_command(request)
    await handle(app, command)
    return Response(201, await account_after(app, command.account_id))


async def get_account(request: Request, app: AioContainer) -> Response:
    return Response(200, await aio_views.account(app.unit_of_work(), request.params["account_id"]))


async def deposit(request: Request, app: AioContainer) -> Response:
    return Response(200, await handle(app, api.deposit_command(request)))


async def withdraw(request: Request, app: AioContainer) -> Response:
    return Response(200, await handle(app, api.withdraw_command(request)))


async def freeze(request: Request, app: AioContainer) -> Response:
    account_id = request.params["account_id"]
    await handle(app, commands.FreezeAccount(account_id))
    return Response(200, await account_after(app, account_id))


async def close(request: Request, app: AioContainer) -> Response:
    account_id = request.params["account_id"]
    await handle(app, commands.CloseAccount(account_id))
    return Response(200, await account_after(app, account_id, closed=True))


async def transfer(request: Request, app: AioContainer) -> Response:
    return api.transfer_answer(await handle(app, api.transfer_command(request)))


async def transfers(request: Request, app: AioContainer) -> Response:
    query = api.transfers_query(request)
    page = await aio_views.transfers_of_account(
        app.unit_of_work(),
        query.account_id,
        direction=query.direction,
        since=query.since,
        limit=query.limit,
        cursor=query.cursor,
    )
    return Response(200, page.as_json())


async def owner_accounts(request: Request, app: AioContainer) -> Response:
    page = await aio_views.accounts_of_owner(
        app.unit_of_work(),
        request.params["owner"],
        limit=api.limit_of(request),
        cursor=request.query.get("cursor"),
    )
    return Response(200, page.as_json())


async def owner_stats(request: Request, app: AioContainer) -> Response:
    return Response(200, await aio_views.owner_stats(app.unit_of_work(), request.params["owner"]))


async def overdrawn(request: Request, app: AioContainer) -> Response:
    # A Scan: stop at the invocation's deadline and say the report is partial.
    found = []
    async for account in aio_views.iter_overdrawn(app.unit_of_work()):
        if request.deadline.expired():
            break
        found.append(account)
    return Response(200, {"items": found, "complete": not request.deadline.expired()})


# api.ROUTES' endpoints, each with its async twin: the route table stays the one in api.py.
ENDPOINTS: dict[api.Endpoint, AioEndpoint] = {
    api.health: health,
    api.open_account: open_account,
    api.get_account: get_account,
    api.deposit: deposit,
    api.withdraw: withdraw,
    api.freeze: freeze,
    api.close: close,
    api.transfer: transfer,
    api.transfers: transfers,
    api.owner_accounts: owner_accounts,
    api.owner_stats: owner_stats,
    api.overdrawn: overdrawn,
}


async def run(route: api.Route, request: Request, app: AioContainer) -> Response:
    """`api.run`, awaited: one routed request; every failure becomes a JSON error response."""
    try:
        api.check_request(request)
        return await ENDPOINTS[route.endpoint](request, app)
    except Exception as exc:
        return api.failure(exc, request)


async def dispatch(request: Request, app: AioContainer) -> Response:
    """`api.dispatch`, awaited: the same route table, matched the same way."""
    route = api.match(request)
    if isinstance(route, Response):
        return route
    return await run(route, request, app)
