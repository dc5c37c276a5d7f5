"""The Lambda handler with sample API Gateway proxy events (REST v1 and HTTP API v2), on moto."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from domain_example.entrypoints import lambda_handlers
from domain_example.entrypoints.lambda_handlers import make_handler
from domain_example.entrypoints.local import local_container
from persistence.testing.moto_server import MotoServer

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class Context:
    aws_request_id = "req-abc-123"
    function_name = "payments"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


class OtherContext(Context):
    aws_request_id = "req-def-456"


def rest_event(method: str, path: str, body: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "queryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "requestContext": {"requestId": "gw-1", "stage": "prod"},
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
        **extra,
    }


@pytest.fixture
def handler(moto: MotoServer, dynamodb_client: Any) -> Handler:
    app = local_container(moto.endpoint_url)
    return make_handler(lambda: app)


def test_a_proxy_event_opens_an_account(handler: Handler) -> None:
    event = rest_event("POST", "/accounts", {"account_id": "a1", "owner": "ann", "currency": "EUR"})
    response = handler(event, Context())
    assert response["statusCode"] == 201
    assert response["headers"]["X-Request-Id"] == "req-abc-123"
    assert json.loads(response["body"])["account_id"] == "a1"


def test_http_api_v2_events_and_base64_bodies_work(handler: Handler) -> None:
    handler(
        rest_event("POST", "/accounts", {"account_id": "a1", "owner": "o", "currency": "EUR"}),
        Context(),
    )
    body = base64.b64encode(json.dumps({"amount": "7"}).encode()).decode()
    event = {
        "version": "2.0",
        "rawPath": "/accounts/a1/deposits",
        "headers": {"idempotency-key": "k1"},
        "requestContext": {"http": {"method": "POST"}, "requestId": "v2"},
        "body": body,
        "isBase64Encoded": True,
    }
    first = handler(event, Context())
    again = handler(event, Context())
    assert first["statusCode"] == 200 and first["body"] == again["body"]
    account = handler(rest_event("GET", "/accounts/a1"), Context())
    assert json.loads(account["body"])["balance"] == "7"


def test_every_log_line_of_an_invocation_carries_its_request_id(handler: Handler) -> None:
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            handler(rest_event("GET", "/owners/nobody/stats"), Context())
            handler(rest_event("GET", "/owners/nobody/stats"), OtherContext())
    finally:
        structlog.configure(**saved)
    lines = [line for line in logs if line["event"] == "request"]
    assert [(line["request_id"], line["status"]) for line in lines] == [
        ("req-abc-123", 200),
        ("req-def-456", 200),
    ]
    assert all(line["path"] == "/owners/nobody/stats" for line in lines)


def test_malformed_events_and_unknown_routes_answer_in_json(handler: Handler) -> None:
    bad = handler({"httpMethod": "POST", "path": "/transfers", "body": "{"}, Context())
    assert bad["statusCode"] == 400 and json.loads(bad["body"])["error"] == "bad_request"
    missing = handler(rest_event("GET", "/accounts/zz"), None)
    assert missing["statusCode"] == 404
    garbage = handler({"headers": 5}, Context())
    assert garbage["statusCode"] == 400


def test_an_unexpected_failure_is_a_500_with_the_request_id(
    handler: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain_example.service_layer import views

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(views, "owner_stats", broken)
    response = handler(rest_event("GET", "/owners/x/stats"), Context())
    body = json.loads(response["body"])
    assert response["statusCode"] == 500
    assert body == {
        "error": "internal_error",
        "message": "something went wrong",
        "request_id": "req-abc-123",
    }


def test_the_module_handler_builds_its_container_once_per_warm_container(
    moto: MotoServer, dynamodb_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    local_container(moto.endpoint_url)  # the table, as infrastructure would have made it
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto.endpoint_url)
    monkeypatch.setenv("PERSISTENCE_CURSOR_SECRET", "lambda-test")
    monkeypatch.setenv("PAYMENTS_PREWARM", "0")
    lambda_handlers.application.reset()
    try:
        first = lambda_handlers.handler(rest_event("GET", "/owners/o/stats"), Context())
        built = lambda_handlers.application.get()
        second = lambda_handlers.handler(rest_event("GET", "/owners/o/stats"), Context())
        assert lambda_handlers.application.get() is built
        assert first["statusCode"] == second["statusCode"] == 200
        assert "import" in lambda_handlers.COLD_START.phases
    finally:
        lambda_handlers.application.reset()


def test_an_amount_out_of_the_rules_is_a_client_error(handler: Handler) -> None:
    handler(
        rest_event("POST", "/accounts", {"account_id": "a1", "owner": "o", "currency": "EUR"}),
        Context(),
    )
    for raw in ('{"amount": 1e999999999}', '{"amount": "NaN"}', '{"amount": 0.001}'):
        event = {**rest_event("POST", "/accounts/a1/deposits"), "body": raw}
        response = handler(event, Context())
        body = json.loads(response["body"])
        assert (response["statusCode"], body["error"]) == (422, "invalid_amount"), raw


def test_the_lambda_handler_shares_the_route_table_without_importing_the_web_framework() -> None:
    """adr/0016: the Lambda bundle needs neither Starlette's router nor uvicorn. (Where Starlette
    is installed, dependency-injector's wiring imports starlette.requests by itself.)"""
    probe = (
        "import sys\n"
        "from domain_example.entrypoints import lambda_handlers\n"
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


def test_the_asgi_app_routes_exactly_the_api_route_table() -> None:
    from domain_example.entrypoints import api
    from domain_example.entrypoints.web import create_app

    app = create_app(None)  # type: ignore[arg-type]  # routing only: no request is served
    registered = [(route.path, route.methods) for route in app.routes]  # type: ignore[attr-defined]
    expected = [
        (r.path, {r.method, "HEAD"} if r.method == "GET" else {r.method}) for r in api.ROUTES
    ]
    assert registered == expected
