"""The async Lambda handler (aio_lambda_handlers.py) with the sample API Gateway proxy events of
test_lambda_handlers.py, on the moto server through aiobotocore: the same cases, answered the
same way, and the pattern itself (one loop and one client across invocations)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from domain_example.aio_bootstrap import AioContainer, connected
from domain_example.entrypoints import aio_lambda_handlers
from domain_example.entrypoints.aio_lambda_handlers import AsyncLambdaHandler
from domain_example.entrypoints.local import local_aio_container
from persistence.testing.moto_server import MotoServer
from tests.e2e import test_lambda_handlers as sync_cases
from tests.e2e.test_lambda_handlers import Context, rest_event

# The synchronous module's cases that only call `handler`, run here against the async one.
# (Its 500 case breaks the synchronous view: its async twin is below.)
SHARED_CASES = [
    "test_a_proxy_event_opens_an_account",
    "test_http_api_v2_events_and_base64_bodies_work",
    "test_every_log_line_of_an_invocation_carries_its_request_id",
    "test_malformed_events_and_unknown_routes_answer_in_json",
    "test_an_amount_out_of_the_rules_is_a_client_error",
]
globals().update({name: getattr(sync_cases, name) for name in SHARED_CASES})


@pytest.fixture
def opened() -> list[AioContainer]:
    """The containers the handler opened (to count them)."""
    return []


@pytest.fixture
def handler(moto: MotoServer, dynamodb_client: Any, opened: list[AioContainer]) -> Iterator[Any]:
    container = local_aio_container(moto.endpoint_url)

    @asynccontextmanager
    async def open_container() -> AsyncIterator[AioContainer]:
        async with connected(container):
            opened.append(container)
            yield container

    handler = AsyncLambdaHandler(open_container)
    yield handler
    handler.close()


def test_the_cases_shared_with_the_sync_handler_exist_there() -> None:
    assert all(callable(getattr(sync_cases, name)) for name in SHARED_CASES)


def test_one_loop_and_one_client_serve_every_invocation(
    handler: AsyncLambdaHandler, opened: list[AioContainer]
) -> None:
    event = rest_event("POST", "/accounts", {"account_id": "a1", "owner": "ann", "currency": "EUR"})
    assert handler(event, Context())["statusCode"] == 201
    client = handler.open().client()
    for n in range(3):
        deposit = rest_event("POST", "/accounts/a1/deposits", {"amount": "2"})
        assert handler(deposit, Context())["statusCode"] == 200, n
    account = handler(rest_event("GET", "/accounts/a1"), Context())
    assert json.loads(account["body"])["balance"] == "6"
    assert len(opened) == 1  # opened once, at the first invocation
    assert handler.open().client() is client
    assert not handler.loop.is_closed() and not handler.loop.is_running()


def test_closing_the_handler_closes_its_client_and_loop(
    handler: AsyncLambdaHandler, opened: list[AioContainer]
) -> None:
    assert handler(rest_event("GET", "/health"), Context())["statusCode"] == 200
    handler.close()
    assert handler.loop.is_closed()
    with pytest.raises(Exception, match=r"(?i)dependency"):
        opened[0].client()  # the container has no client once the connection closed


def test_an_unexpected_failure_is_a_500_with_the_request_id(
    handler: AsyncLambdaHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain_example.service_layer import aio_views

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(aio_views, "owner_stats", broken)
    response = handler(rest_event("GET", "/owners/x/stats"), Context())
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {
        "error": "internal_error",
        "message": "something went wrong",
        "request_id": "req-abc-123",
    }


def test_the_module_handler_opens_its_container_once_per_warm_container(
    moto: MotoServer, dynamodb_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_aio_container(moto.endpoint_url)  # the table, as infrastructure would have made it
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint_url)
    monkeypatch.setenv("PERSISTENCE_CURSOR_SECRET", "lambda-test")
    monkeypatch.setenv("PAYMENTS_PREWARM", "1")
    handler = AsyncLambdaHandler(aio_lambda_handlers.open_application)
    try:
        first = handler(rest_event("GET", "/owners/o/stats"), Context())
        built = handler.open()
        second = handler(rest_event("GET", "/owners/o/stats"), Context())
        assert handler.open() is built
        assert first["statusCode"] == second["statusCode"] == 200
        assert {"import", "container", "prewarm"} <= set(aio_lambda_handlers.COLD_START.phases)
    finally:
        handler.close()


def test_the_async_lambda_handler_imports_no_web_framework() -> None:
    """As the synchronous handler (adr/0016): the route table without Starlette or uvicorn."""
    probe = (
        "import sys\n"
        "from domain_example.entrypoints import aio_lambda_handlers\n"
        "web = ('starlette.routing', 'uvicorn', 'domain_example.entrypoints.web')\n"
        "print(sorted(m for m in web if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
