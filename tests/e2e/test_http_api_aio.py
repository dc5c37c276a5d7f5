"""The async HTTP API (aio_web.py: Starlette awaiting `persistence.aio`) over real HTTP, with
every case of test_http_api.py that talks to the served app: the same requests, statuses and
bodies, against the async app on the moto server (aiobotocore) and in memory."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from dependency_injector import providers

from domain_example.aio_bootstrap import (
    AioContainer,
    build_aio_container,
    connected,
    deliver_inline,
)
from domain_example.bootstrap import build_container, use_in_memory_messaging
from domain_example.config import Settings
from domain_example.domain import commands
from domain_example.entrypoints import aio_api, aio_web
from domain_example.entrypoints import api as http
from domain_example.entrypoints.local import local_aio_container
from domain_example.entrypoints.web import Served, listen, make_server
from persistence.containers import use_in_memory
from persistence.testing.moto_server import MotoServer
from tests.e2e import test_http_api as sync_cases
from tests.e2e.test_http_api import BODY_TIMEOUT, HEAD_TIMEOUT, Api, api  # noqa: F401  (fixture)


@pytest.fixture(params=["dynamodb", "memory"])
def served(request: pytest.FixtureRequest, moto: MotoServer) -> Iterator[Served]:
    if request.param == "dynamodb":
        moto.reset()
        app = aio_web.create_app(local_aio_container(moto.endpoint_url), body_timeout=BODY_TIMEOUT)
    else:
        app = aio_web.create_app(memory_app(), body_timeout=BODY_TIMEOUT, dynamodb=False)
    server = make_server(app, head_timeout=HEAD_TIMEOUT, keep_alive=1, lifespan=True)
    with Served(server, listen("127.0.0.1", 0)) as running:
        yield running


def memory_app() -> AioContainer:
    """The async container in memory, its events delivered after each command by a synchronous
    container's relay and consumer over the same store (in-memory topic and queue)."""
    events = build_container(Settings(cursor_secret="test", deliver_events_inline=True))
    store = use_in_memory(events.persistence)
    use_in_memory_messaging(events)
    container = build_aio_container(Settings(cursor_secret="test"))
    use_in_memory(container)
    container.store.override(providers.Object(store))
    container.after_command.override(providers.Object(deliver_inline(events)))
    return container


# Every case of the synchronous API's tests that is served over HTTP (it takes `api` or
# `served`) runs here too, now against the async app: `served` above replaces that module's.
SHARED_CASES = [
    name
    for name, case in vars(sync_cases).items()
    if name.startswith("test_")
    and callable(case)
    and {"api", "served"} & set(inspect.signature(case).parameters)
]
globals().update({name: getattr(sync_cases, name) for name in SHARED_CASES})


def test_the_shared_cases_are_the_http_cases_of_the_sync_module() -> None:
    # The ones left out start the CLI server or call the Lambda handler, not the app.
    left_out = {n for n in vars(sync_cases) if n.startswith("test_") and n not in set(SHARED_CASES)}
    assert left_out == {
        "test_a_lone_surrogate_in_a_path_query_or_header_is_a_422",
        "test_python_m_domain_example_serve_answers_and_stops_on_ctrl_c",
    }
    assert len(SHARED_CASES) >= 15


def test_python_m_domain_example_serve_aio_answers_and_stops_on_ctrl_c() -> None:
    banner = sync_cases.serve_answers_and_stops_on_ctrl_c("--aio")
    assert banner.startswith("async payments API on http://"), banner


def test_every_route_has_an_async_endpoint() -> None:
    assert [aio_api.ENDPOINTS[r.endpoint].__name__ for r in http.ROUTES] == [
        r.endpoint.__name__ for r in http.ROUTES
    ]
    assert all(inspect.iscoroutinefunction(e) for e in aio_api.ENDPOINTS.values())


def test_the_async_app_routes_exactly_the_api_route_table() -> None:
    app = aio_web.create_app(build_aio_container(Settings()), dynamodb=False)
    registered = [(route.path, route.methods) for route in app.routes]  # type: ignore[attr-defined]
    expected = [
        (r.path, {r.method, "HEAD"} if r.method == "GET" else {r.method}) for r in http.ROUTES
    ]
    assert registered == expected


@pytest.mark.parametrize("storage", ["memory", "dynamodb"])
def test_concurrent_requests_on_one_loop_each_get_their_own_unit_of_work(
    storage: str, request: pytest.FixtureRequest
) -> None:
    """64 deposits to one account as tasks of one loop, each with an idempotency key, half of
    them sent twice: each key moves money once, the balance and the statistics are exact (the
    async bus builds a unit of work per request: a shared one would mix the tasks' identity
    maps). The tasks interleave at every await: in runs of this test, 80 to 200 deposits lost a
    version race and were retried as a whole."""
    if storage == "memory":
        container = memory_app()
        container.config.retry_attempts.from_value(64)
        connection: Any = contextlib.nullcontext(container)
    else:
        moto: MotoServer = request.getfixturevalue("moto")
        moto.reset()
        container = local_aio_container(moto.endpoint_url)
        container.config.retry_attempts.from_value(64)  # 64 contenders on one account
        connection = connected(container)

    async def scenario() -> tuple[list[http.Response], dict[str, Any], dict[str, Any]]:
        async with connection:
            return await requests()

    async def requests() -> tuple[list[http.Response], dict[str, Any], dict[str, Any]]:
        opened = http.Request("POST", "/accounts", body=json.dumps({
            "account_id": "a1", "owner": "ann", "currency": "EUR"
        }))  # fmt: skip
        assert (await aio_api.dispatch(opened, container)).status == 201

        def deposit(n: int) -> http.Request:
            return http.Request(
                "POST",
                "/accounts/a1/deposits",
                body=json.dumps({"amount": "1.5"}),
                headers={"idempotency-key": f"k{n % 32}"},
            )

        answers = await asyncio.gather(
            *(aio_api.dispatch(deposit(n), container) for n in range(64))
        )
        account = await aio_api.dispatch(http.Request("GET", "/accounts/a1"), container)
        stats = await aio_api.dispatch(http.Request("GET", "/owners/ann/stats"), container)
        return list(answers), account.body, stats.body

    answers, account, stats = asyncio.run(scenario())
    assert {a.status for a in answers} == {200}
    assert Decimal(account["balance"]) == Decimal("48")  # 32 keys x 1.5
    assert (stats["deposits"], Decimal(stats["deposited"])) == (32, Decimal("48"))


def test_a_command_handled_twice_by_the_async_bus_replays_its_answer() -> None:
    container = build_aio_container(Settings(cursor_secret="test"))
    use_in_memory(container)

    async def scenario() -> tuple[list[Any], http.Response, http.Response]:
        await container.bus().handle(commands.OpenAccount("a1", "ann", "EUR", Decimal(0)))
        await container.bus().handle(commands.OpenAccount("b1", "ben", "EUR", Decimal(0)))
        await container.bus().handle(commands.Deposit("a1", Decimal("10")))
        move = commands.TransferMoney("a1", "b1", Decimal("4"), request_id="t1")
        answers = [await container.bus().handle(move) for _ in range(2)]
        account = await aio_api.dispatch(http.Request("GET", "/accounts/a1"), container)
        sent = await aio_api.dispatch(http.Request("GET", "/accounts/a1/transfers"), container)
        return answers, account, sent

    (first, again), account, sent = asyncio.run(scenario())
    assert first == again and first["status"] == "completed"
    assert account.body["balance"] == "6"
    assert [t["transfer_id"] for t in sent.body["items"]] == [first["transfer_id"]]


def test_the_container_awaits_after_command_after_each_command_and_not_after_reads() -> None:
    """The hook local runs use to deliver a command's events (the synchronous Bus has it too)."""
    container = build_aio_container(Settings(cursor_secret="test"))
    use_in_memory(container)
    calls: list[str] = []

    async def after() -> None:
        calls.append("after")

    container.after_command.override(providers.Object(after))

    async def scenario() -> None:
        opened = json.dumps({"account_id": "a1", "owner": "ann", "currency": "EUR"})
        await aio_api.dispatch(http.Request("POST", "/accounts", body=opened), container)
        await aio_api.dispatch(http.Request("GET", "/accounts/a1"), container)
        deposit = json.dumps({"amount": "1"})
        await aio_api.dispatch(
            http.Request("POST", "/accounts/a1/deposits", body=deposit), container
        )

    asyncio.run(scenario())
    assert calls == ["after", "after"]
