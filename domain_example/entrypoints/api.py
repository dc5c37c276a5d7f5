"""The HTTP JSON API, independent of transport: a request in, a status and a JSON body out.

`ROUTES` is the one route table: the ASGI app (`web.py`, Starlette) registers it with the
framework's router, and the Lambda handler matches it with `dispatch` (without importing the
framework, which would add to every cold start). `run` answers every error here and never leaks
a stack trace: malformed requests 400, unknown things 404, conflicts 409, broken business rules
and input the store refuses (p.ValidationError, text that is not valid Unicode) 422, anything
unexpected 500 with the request id to look it up in logs.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import structlog

import persistence as p
from persistence.lambda_runtime import Deadline, DeadlineExceeded

from ..bootstrap import Container
from ..domain import commands
from ..domain.errors import (
    AccountAlreadyExists,
    AccountNotFound,
    DomainError,
    IdempotencyKeyReused,
)
from ..domain.model import money
from ..service_layer import views

log = structlog.get_logger(__name__)

MAX_PAGE = 100


@dataclass
class Request:
    method: str
    path: str
    body: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    params: dict[str, str] = field(default_factory=dict)  # from the path, set by the router
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    deadline: Deadline = field(default_factory=lambda: Deadline.after(29.0))


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]


class BadRequest(Exception):
    """The request itself is malformed (400)."""


class InvalidInput(Exception):
    """Well-formed, but a value cannot be accepted (422), e.g. text that is not valid Unicode."""


Endpoint = Callable[[Request, Container], Response]


@dataclass(frozen=True)
class Route:
    """`path` in Starlette's syntax: `{name}` matches one segment (anything but '/')."""

    method: str
    path: str
    endpoint: Endpoint

    @functools.cached_property
    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path) + "$")


# ---------------------------------------------------------------------------------- input


def json_body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        # parse_float=Decimal: 0.1 stays 0.1, never a binary float.
        data = json.loads(request.body, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    check_unicode(data, "body")
    return data


def check_unicode(value: Any, where: str) -> None:
    """A "\\ud800" escape decodes to a lone surrogate: JSON allows it, UTF-8 (and the store) not."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInput(
                f"{where} is not valid Unicode text: position {exc.start} holds a lone "
                f"surrogate ({value[exc.start]!r})"
            ) from None
    elif isinstance(value, dict):
        for key, inner in value.items():
            check_unicode(key, f"a key in {where}")
            check_unicode(inner, f"{where}.{key}" if where != "body" else f"'{key}'")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            check_unicode(inner, f"{where}[{i}]")


def text(data: dict[str, Any], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"'{name}' must be a non-empty string")
    return value.strip()


def amount(data: dict[str, Any], name: str = "amount", default: Any = None) -> Decimal:
    """An amount checked by the domain's money rules at the door: anything else (1e27, NaN, a
    bool, 0.001, a word) is a 422 invalid_amount before it reaches a handler or a log line."""
    return money(data.get(name, default), f"'{name}'", zero_allowed=name == "overdraft_limit")


def limit_of(request: Request) -> int:
    raw = request.query.get("limit", "25")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise BadRequest(f"'limit' must be between 1 and {MAX_PAGE}")
    return int(raw)


def request_id_of(request: Request, data: dict[str, Any]) -> str | None:
    """The client's idempotency key: the Idempotency-Key header, or `request_id` in the body."""
    key = request.headers.get("idempotency-key") or data.get("request_id")
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 200):
        raise BadRequest("an idempotency key is a string of 1 to 200 characters")
    return key


# ---------------------------------------------------------------------------------- endpoints


def handle(app: Container, command: Any) -> Any:
    return app.bus().handle(command)


def account_after(app: Container, account_id: str, *, closed: bool = False) -> dict[str, Any]:
    """The account as a command just left it (a strongly consistent read)."""
    uow = app.persistence.unit_of_work()
    return views.account(uow, account_id, consistent=True, include_closed=closed)


# What each endpoint asks, read from the request (no I/O): the async endpoints (aio_api.py)
# read requests with the same functions, so both answer the same input the same way.


def open_account_command(request: Request) -> commands.OpenAccount:
    """`account_id` (optional, generated when absent): 1 to 64 letters, digits, '-' or '_', so
    that /accounts/{account_id} can fetch it back; `currency`: a three-letter ISO 4217 code
    (upper-cased). Anything else is a 422 invalid_account_id / invalid_currency."""
    data = json_body(request)
    return commands.OpenAccount(
        account_id=text(data, "account_id", uuid.uuid4().hex[:12]),
        owner=text(data, "owner"),
        currency=text(data, "currency"),
        overdraft_limit=amount(data, "overdraft_limit", "0"),
    )


def deposit_command(request: Request) -> commands.Deposit:
    data = json_body(request)
    return commands.Deposit(
        request.params["account_id"], amount(data), request_id=request_id_of(request, data)
    )


def withdraw_command(request: Request) -> commands.Withdraw:
    data = json_body(request)
    return commands.Withdraw(
        request.params["account_id"], amount(data), request_id=request_id_of(request, data)
    )


def transfer_command(request: Request) -> commands.TransferMoney:
    data = json_body(request)
    return commands.TransferMoney(
        from_account=text(data, "from_account"),
        to_account=text(data, "to_account"),
        amount=amount(data),
        request_id=request_id_of(request, data),
    )


def transfer_answer(result: dict[str, str]) -> Response:
    if result["status"] == "rejected":
        # Recorded, but no money moved: a business refusal, with the transfer for reference.
        return Response(422, {"error": result.get("reason", "rejected"), "transfer": result})
    return Response(201, result)


@dataclass(frozen=True)
class TransfersQuery:
    """GET /accounts/{account_id}/transfers, as the views take it."""

    account_id: str
    direction: views.Direction
    since: date | None
    limit: int
    cursor: str | None


def transfers_query(request: Request) -> TransfersQuery:
    direction = request.query.get("direction", "out")
    if direction not in ("out", "in"):
        raise BadRequest("'direction' is 'out' or 'in'")
    since = None
    if "since" in request.query:
        try:
            since = date.fromisoformat(request.query["since"])
        except ValueError:
            raise BadRequest("'since' is a date, YYYY-MM-DD") from None
    return TransfersQuery(
        request.params["account_id"],
        "out" if direction == "out" else "in",
        since,
        limit_of(request),
        request.query.get("cursor"),
    )


# ---------------------------------------------------------------------------------- endpoints


def health(request: Request, app: Container) -> Response:
    return Response(200, {"status": "ok"})


def open_account(request: Request, app: Container) -> Response:
    command = open_account_command(request)
    handle(app, command)
    return Response(201, account_after(app, command.account_id))


def get_account(request: Request, app: Container) -> Response:
    uow = app.persistence.unit_of_work()
    return Response(200, views.account(uow, request.params["account_id"]))


def deposit(request: Request, app: Container) -> Response:
    return Response(200, handle(app, deposit_command(request)))


def withdraw(request: Request, app: Container) -> Response:
    return Response(200, handle(app, withdraw_command(request)))


def freeze(request: Request, app: Container) -> Response:
    account_id = request.params["account_id"]
    handle(app, commands.FreezeAccount(account_id))
    return Response(200, account_after(app, account_id))


def close(request: Request, app: Container) -> Response:
    account_id = request.params["account_id"]
    handle(app, commands.CloseAccount(account_id))
    return Response(200, account_after(app, account_id, closed=True))


def transfer(request: Request, app: Container) -> Response:
    return transfer_answer(handle(app, transfer_command(request)))


def transfers(request: Request, app: Container) -> Response:
    query = transfers_query(request)
    page = views.transfers_of_account(
        app.persistence.unit_of_work(),
        query.account_id,
        direction=query.direction,
        since=query.since,
        limit=query.limit,
        cursor=query.cursor,
    )
    return Response(200, page.as_json())


def owner_accounts(request: Request, app: Container) -> Response:
    page = views.accounts_of_owner(
        app.persistence.unit_of_work(),
        request.params["owner"],
        limit=limit_of(request),
        cursor=request.query.get("cursor"),
    )
    return Response(200, page.as_json())


def owner_stats(request: Request, app: Container) -> Response:
    uow = app.persistence.unit_of_work()
    return Response(200, views.owner_stats(uow, request.params["owner"]))


def overdrawn(request: Request, app: Container) -> Response:
    # A Scan: stop at the invocation's deadline and say the report is partial.
    found = list(request.deadline.bounded(views.iter_overdrawn(app.persistence.unit_of_work())))
    return Response(200, {"items": found, "complete": not request.deadline.expired()})


ROUTES = [
    Route("GET", "/health", health),
    Route("POST", "/accounts", open_account),
    Route("GET", "/accounts/{account_id}", get_account),
    Route("POST", "/accounts/{account_id}/deposits", deposit),
    Route("POST", "/accounts/{account_id}/withdrawals", withdraw),
    Route("POST", "/accounts/{account_id}/freeze", freeze),
    Route("POST", "/accounts/{account_id}/close", close),
    Route("GET", "/accounts/{account_id}/transfers", transfers),
    Route("POST", "/transfers", transfer),
    Route("GET", "/owners/{owner}/accounts", owner_accounts),
    Route("GET", "/owners/{owner}/stats", owner_stats),
    Route("GET", "/reports/overdrawn", overdrawn),
]


# ---------------------------------------------------------------------------------- answers


def error(status: int, code: str, message: str, **extra: Any) -> Response:
    # A message may quote client text: escape what UTF-8 cannot carry back to the client.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return Response(status, {"error": code, "message": message, **extra})


def not_found(method: str, path: str) -> Response:
    return error(404, "not_found", f"no route for {method} {path}")


def method_not_allowed(allowed: list[str]) -> Response:
    return error(405, "method_not_allowed", f"use {', '.join(sorted(set(allowed)))}")


def encode(response: Response) -> str:
    return json.dumps(response.body, default=str)


def _status_of(exc: DomainError) -> int:
    if isinstance(exc, AccountNotFound):
        return 404
    if isinstance(exc, AccountAlreadyExists | IdempotencyKeyReused):
        return 409
    return 422


def internal_error(request: Request) -> Response:
    log.exception("request_failed", method=request.method, path=request.path)
    return error(500, "internal_error", "something went wrong", request_id=request.request_id)


def check_request(request: Request) -> None:
    """Text the store could never hold, in the path, the query or the idempotency header."""
    for kind, values in (("path", request.params), ("query", request.query)):
        for name, value in values.items():
            check_unicode(value, f"{kind} parameter '{name}'")
    check_unicode(request.headers.get("idempotency-key"), "the Idempotency-Key header")


def failure(exc: Exception, request: Request) -> Response:
    """The JSON answer to an endpoint's exception; called in its `except` block (a 500 logs
    the traceback)."""
    if isinstance(exc, BadRequest):
        return error(400, "bad_request", str(exc))
    if isinstance(exc, InvalidInput):
        return error(422, "invalid_input", str(exc))
    if isinstance(exc, DomainError):
        return error(_status_of(exc), exc.code, str(exc))
    if isinstance(exc, p.InvalidCursor):
        return error(400, "invalid_cursor", "the cursor is not valid for this query")
    if isinstance(exc, p.ConcurrencyConflict):
        return error(409, "conflict", "the accounts changed concurrently; retry the request")
    if isinstance(exc, p.TransactionCanceled) and exc.retryable:
        return error(409, "conflict", "a concurrent transaction won; retry the request")
    if isinstance(exc, p.ValidationError):
        # The store refused a value the client sent (the library checks before any write).
        return error(422, "invalid_input", str(exc))
    if isinstance(exc, DeadlineExceeded):
        return error(503, "timeout", "the request ran out of time; retry it")
    return internal_error(request)


def run(endpoint: Endpoint, request: Request, app: Container) -> Response:
    """Run one routed request; every failure becomes a JSON error response."""
    try:
        check_request(request)
        return endpoint(request, app)
    except Exception as exc:
        return failure(exc, request)


def match(request: Request) -> Route | Response:
    """The route of `request` (its path parameters set), or the 404 / 405 answer."""
    allowed: list[str] = []
    for route in ROUTES:
        found = route.pattern.match(request.path)
        if found is None:
            continue
        if route.method != request.method:
            allowed.append(route.method)
            continue
        request.params = found.groupdict()
        return route
    if allowed:
        return method_not_allowed(allowed)
    return not_found(request.method, request.path)


def dispatch(request: Request, app: Container) -> Response:
    """Route (the Lambda's way: the same table, matched here) and run one request."""
    route = match(request)
    if isinstance(route, Response):
        return route
    return run(route.endpoint, request, app)
