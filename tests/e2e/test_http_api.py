"""The HTTP API over real HTTP: Starlette on uvicorn on a port of 127.0.0.1, moto behind it."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain_example.entrypoints.lambda_handlers import make_handler
from domain_example.entrypoints.local import local_container
from domain_example.entrypoints.web import Served, create_app, listen, make_server
from persistence.testing.moto_server import MotoServer

# Short deadlines for slow clients, so the tests that stall do not wait long; the guard below
# (how long a test waits for an answer before failing) is far longer than any of them.
HEAD_TIMEOUT = BODY_TIMEOUT = 0.5
GUARD = 20.0


class Api:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=GUARD) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture
def served(moto: MotoServer, dynamodb_client: Any) -> Iterator[Served]:
    app = create_app(local_container(moto.endpoint_url), body_timeout=BODY_TIMEOUT)
    server = make_server(app, head_timeout=HEAD_TIMEOUT, keep_alive=1)
    with Served(server, listen("127.0.0.1", 0)) as running:
        yield running


@pytest.fixture
def api(served: Served) -> Api:
    return Api(f"http://127.0.0.1:{served.port}")


def open_funded(api: Api, account_id: str, owner: str, amount: str) -> None:
    status, _ = api.call(
        "POST", "/accounts", {"account_id": account_id, "owner": owner, "currency": "EUR"}
    )
    assert status == 201
    if amount != "0":
        status, _ = api.call("POST", f"/accounts/{account_id}/deposits", {"amount": amount})
        assert status == 200


def test_open_deposit_transfer_and_read_back(api: Api) -> None:
    open_funded(api, "a1", "ann", "100.00")
    open_funded(api, "b1", "ben", "5")
    status, body = api.call(
        "POST", "/transfers", {"from_account": "a1", "to_account": "b1", "amount": "12.5"}
    )
    assert status == 201 and body["status"] == "completed"
    status, account = api.call("GET", "/accounts/a1")
    assert status == 200 and account["balance"] == "87.50"
    status, page = api.call("GET", "/accounts/b1/transfers?direction=in")
    assert status == 200 and [t["amount"] for t in page["items"]] == ["12.5"]
    status, owned = api.call("GET", "/owners/ann/accounts")
    assert [a["account_id"] for a in owned["items"]] == ["a1"]
    status, stats = api.call("GET", "/owners/ben/stats")
    assert stats["transfers_received"] == 1


def test_an_idempotency_key_makes_a_retry_safe(api: Api) -> None:
    open_funded(api, "a1", "ann", "100")
    open_funded(api, "b1", "ben", "0")
    transfer = {"from_account": "a1", "to_account": "b1", "amount": 30}
    key = {"Idempotency-Key": "req-1", "Content-Type": "application/json"}
    first = api.call("POST", "/transfers", transfer, headers=key)
    again = api.call("POST", "/transfers", transfer, headers=key)
    assert first == again and first[0] == 201
    assert api.call("GET", "/accounts/a1")[1]["balance"] == "70"
    status, body = api.call("POST", "/transfers", {**transfer, "amount": 31}, headers=key)
    assert (status, body["error"]) == (409, "idempotency_key_reused")


def test_paging_through_an_owner_s_accounts(api: Api) -> None:
    for n in range(3):
        api.call("POST", "/accounts", {"account_id": f"p{n}", "owner": "pat", "currency": "EUR"})
    status, first = api.call("GET", "/owners/pat/accounts?limit=2")
    assert len(first["items"]) == 2 and first["cursor"]
    status, rest = api.call("GET", f"/owners/pat/accounts?limit=2&cursor={first['cursor']}")
    assert [a["account_id"] for a in rest["items"]] == ["p2"] and rest["cursor"] is None
    status, body = api.call("GET", "/owners/pat/accounts?cursor=forged")
    assert (status, body["error"]) == (400, "invalid_cursor")


@pytest.mark.parametrize(
    ("method", "path", "raw", "status", "code"),
    [
        ("POST", "/accounts", b"{not json", 400, "bad_request"),
        ("POST", "/accounts", b"[1, 2]", 400, "bad_request"),
        ("POST", "/accounts", b'{"owner": "x"}', 400, "bad_request"),
        ("POST", "/accounts/a1/deposits", b'{"amount": true}', 422, "invalid_amount"),
        ("POST", "/accounts/a1/deposits", b'{"amount": "-5"}', 422, "invalid_amount"),
        ("POST", "/accounts/zz/deposits", b'{"amount": "5"}', 404, "account_not_found"),
        ("GET", "/owners/x/accounts?limit=1000", None, 400, "bad_request"),
        ("GET", "/nowhere", None, 404, "not_found"),
        ("DELETE", "/accounts", None, 405, "method_not_allowed"),
    ],
)
def test_bad_requests_get_a_json_error_never_a_trace(
    api: Api, method: str, path: str, raw: bytes | None, status: int, code: str
) -> None:
    open_funded(api, "a1", "ann", "1")
    got, body = api.call(method, path, raw=raw)
    assert (got, body["error"]) == (status, code)
    assert "Traceback" not in json.dumps(body)


def test_domain_refusals_are_409_or_422(api: Api) -> None:
    open_funded(api, "a1", "ann", "10")
    open_funded(api, "b1", "ben", "0")
    status, body = api.call(
        "POST", "/accounts", {"account_id": "a1", "owner": "x", "currency": "EUR"}
    )
    assert (status, body["error"]) == (409, "account_already_exists")
    status, body = api.call("POST", "/accounts/a1/withdrawals", {"amount": "11"})
    assert (status, body["error"]) == (422, "insufficient_funds")
    status, body = api.call(
        "POST", "/transfers", {"from_account": "a1", "to_account": "b1", "amount": "11"}
    )
    assert (status, body["error"]) == (422, "insufficient_funds")
    assert body["transfer"]["status"] == "rejected"
    status, body = api.call("POST", "/accounts/a1/close")
    assert (status, body["error"]) == (422, "account_not_empty")


def test_freeze_and_close(api: Api) -> None:
    open_funded(api, "a1", "ann", "1")
    assert api.call("POST", "/accounts/a1/freeze")[1]["status"] == "frozen"
    status, body = api.call("POST", "/accounts/a1/deposits", {"amount": "1"})
    assert (status, body["error"]) == (422, "account_not_open")
    api.call("POST", "/accounts", {"account_id": "e1", "owner": "ann", "currency": "EUR"})
    status, closed = api.call("POST", "/accounts/e1/close")
    assert (status, closed["status"]) == (200, "closed")
    assert api.call("GET", "/accounts/e1")[0] == 404


# Every amount that is not positive cents up to 1,000,000,000.00 (docs/tour.md, Amounts): a 422 with
# a message, never a 500 (1e999999999 used to reach Decimal.quantize and fail with a trace).
BAD_AMOUNTS = [
    b"1e27",
    b"1e999999999",
    b'"1e999999999"',
    b"99999999999999999999999999999999999999",
    b'"99999999999999999999999999999999999999"',
    b"NaN",
    b'"NaN"',
    b"Infinity",
    b'"-Infinity"',
    b'"-5"',
    b"0",
    b'"0.00"',
    b'"abc"',
    b'"5_000"',
    b'" 5"',
    b"true",
    b"null",
    b"[1]",
    b"0.001",
    b'"1000000000.01"',
]


def test_an_amount_out_of_the_rules_is_a_422_with_a_message(api: Api) -> None:
    open_funded(api, "a1", "ann", "10")
    open_funded(api, "b1", "ben", "0")
    endpoints = [
        ("/accounts/a1/deposits", b""),
        ("/accounts/a1/withdrawals", b""),
        ("/transfers", b', "from_account": "a1", "to_account": "b1"'),
    ]
    for raw in BAD_AMOUNTS:
        for path, extra in endpoints:
            got, body = api.call("POST", path, raw=b'{"amount": ' + raw + extra + b"}")
            assert (got, body["error"]) == (422, "invalid_amount"), (path, raw, body)
            assert "'amount'" in body["message"], body
        limit = raw if raw not in (b"0", b'"0.00"', b"null") else b'"-1"'
        status, body = api.call(
            "POST",
            "/accounts",
            raw=b'{"owner": "x", "currency": "EUR", "overdraft_limit": ' + limit + b"}",
        )
        assert (status, body["error"]) == (422, "invalid_amount"), (raw, body)
    status, body = api.call("GET", "/accounts/a1")
    assert (status, body["balance"]) == (200, "10")


def test_the_largest_amount_is_accepted_exactly(api: Api) -> None:
    open_funded(api, "a1", "ann", "1000000000.00")
    status, body = api.call("POST", "/accounts/a1/deposits", {"amount": "0.01"})
    assert status == 200
    status, body = api.call("GET", "/accounts/a1")
    assert body["balance"] == "1000000000.01"


# A JSON "\ud800" escape is valid JSON that decodes to a lone surrogate: text with no UTF-8
# encoding, which DynamoDB cannot store. The raw bodies below carry exactly that escape.
LONE = "\\ud800"


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        (
            "/accounts",
            f'{{"account_id": "x{LONE}", "owner": "o", "currency": "EUR"}}',
            "account_id",
        ),
        ("/accounts", f'{{"account_id": "x1", "owner": "{LONE}", "currency": "EUR"}}', "owner"),
        ("/accounts", f'{{"account_id": "x1", "owner": "o", "currency": "E{LONE}"}}', "currency"),
        ("/accounts/a1/deposits", f'{{"amount": "5", "request_id": "{LONE}"}}', "request_id"),
        ("/accounts/a1/withdrawals", f'{{"amount": "{LONE}"}}', "amount"),
        (
            "/transfers",
            f'{{"from_account": "a1", "to_account": "b{LONE}", "amount": "1"}}',
            "to_account",
        ),
    ],
)
def test_a_lone_surrogate_in_the_body_is_a_422_naming_the_field(
    api: Api, path: str, raw: str, field: str
) -> None:
    open_funded(api, "a1", "ann", "10")
    status, body = api.call("POST", path, raw=raw.encode("ascii"))
    assert (status, body["error"]) == (422, "invalid_input")
    assert f"'{field}'" in body["message"] and "not valid Unicode" in body["message"]
    body["message"].encode("utf-8")  # escaped: the answer is valid UTF-8 itself
    assert api.call("GET", "/accounts/x1")[0] == 404
    assert api.call("GET", "/accounts/a1")[1]["balance"] == "10"


def test_input_the_store_refuses_is_a_422(api: Api) -> None:
    """p.ValidationError from the library (here an index partition key, built from the owner,
    over DynamoDB's 2048 bytes) is the client's input refused, not a server failure."""
    status, body = api.call(
        "POST", "/accounts", {"account_id": "k1", "owner": "o" * 2100, "currency": "EUR"}
    )
    assert (status, body["error"]) == (422, "invalid_input")
    assert "2048" in body["message"]


def test_a_lone_surrogate_in_a_path_query_or_header_is_a_422(
    moto: MotoServer, dynamodb_client: Any
) -> None:
    """API Gateway hands the Lambda a JSON event: its path, query and header values can hold
    "\\ud800" escapes too (the local server's URL and header decoding cannot produce them)."""
    app = local_container(moto.endpoint_url)
    handler = make_handler(lambda: app)

    def call(path: str, query: dict[str, str] | None = None, **headers: str) -> tuple[int, Any]:
        event = {
            "httpMethod": "POST" if path.endswith(("deposits", "freeze")) else "GET",
            "path": path,
            "queryStringParameters": query,
            "headers": headers,
            "body": '{"amount": "1"}' if path.endswith("deposits") else None,
            "isBase64Encoded": False,
            "requestContext": {"requestId": "r1"},
        }
        response = handler(event, None)
        return response["statusCode"], json.loads(response["body"])

    s = "\ud800"
    cases = [
        (call(f"/accounts/{s}"), "path parameter 'account_id'"),
        (call(f"/accounts/a{s}/deposits"), "path parameter 'account_id'"),
        (call(f"/accounts/{s}/freeze"), "path parameter 'account_id'"),
        (call(f"/owners/{s}/accounts"), "path parameter 'owner'"),
        (call(f"/owners/{s}/stats"), "path parameter 'owner'"),
        (call("/owners/ann/accounts", {"cursor": s}), "query parameter 'cursor'"),
        (call("/accounts/a1/transfers", {"since": f"2024{s}"}), "query parameter 'since'"),
        (call("/accounts/a1/deposits", **{"idempotency-key": s}), "Idempotency-Key"),
    ]
    for (status, body), where in cases:
        assert (status, body["error"]) == (422, "invalid_input"), (where, body)
        assert where in body["message"] and "not valid Unicode" in body["message"]


@pytest.mark.parametrize(
    ("fields", "code", "hint"),
    [
        ({"account_id": "x/y"}, "invalid_account_id", "letters A-Z a-z, digits, '-' and '_'"),
        ({"account_id": "a b"}, "invalid_account_id", "1 to 64 characters"),
        ({"account_id": "k" * 65}, "invalid_account_id", "1 to 64 characters"),
        ({"currency": "euro!!"}, "invalid_currency", "three-letter ISO 4217 code"),
        ({"currency": "EURO"}, "invalid_currency", "such as EUR or USD"),
    ],
)
def test_an_account_that_could_never_be_fetched_is_refused_with_a_422(
    api: Api, fields: dict[str, str], code: str, hint: str
) -> None:
    request = {"account_id": "ok-1", "owner": "ann", "currency": "EUR", **fields}
    status, body = api.call("POST", "/accounts", request)
    assert (status, body["error"]) == (422, code)
    assert hint in body["message"]
    assert api.call("GET", "/owners/ann/accounts")[1]["items"] == []


def test_a_valid_account_id_and_a_lower_case_currency_are_accepted(api: Api) -> None:
    status, body = api.call(
        "POST", "/accounts", {"account_id": "Ann_2-b", "owner": "ann", "currency": "usd"}
    )
    assert status == 201, body
    fetched = api.call("GET", "/accounts/Ann_2-b")
    assert fetched[0] == 200 and fetched[1]["currency"] == "USD"


# ------------------------------------------------------------------ the transport, raw


def connect(served: Served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=GUARD)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the guard fails the test
    if it never does)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status_and_body(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


@pytest.mark.parametrize("length", [b"-5", b"abc", b"5, 6", b" "])
def test_an_invalid_content_length_is_a_400_at_once(served: Served, length: bytes) -> None:
    """The old http.server read `int(Content-Length)` itself: -5 read to the end of the stream
    (the client and the worker hung), and a word killed the worker without an answer."""
    with connect(served) as sock:
        sock.sendall(
            b"POST /accounts HTTP/1.1\r\nHost: t\r\nContent-Length: " + length + b"\r\n\r\n"
        )
        status, body = status_and_body(read_all(sock))  # answered, then closed: no body awaited
    assert status == 400
    assert json.loads(body)["error"] == "bad_request"


def test_a_body_over_the_limit_is_refused_before_it_is_read(served: Served) -> None:
    with connect(served) as sock:
        sock.sendall(b"POST /accounts HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n{")
        status, body = status_and_body(read_all(sock))
    assert (status, json.loads(body)["error"]) == (413, "payload_too_large")


def test_a_body_that_never_arrives_gets_a_408_and_others_are_served_meanwhile(
    served: Served, api: Api
) -> None:
    """uvicorn would let the app wait for the rest of the body forever; the app's deadline
    answers 408 and the connection is closed."""
    with connect(served) as stalled:
        stalled.sendall(
            b"POST /accounts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"owner"'
        )
        assert api.call("GET", "/health") == (200, {"status": "ok"})
        status, body = status_and_body(read_all(stalled))
    assert (status, json.loads(body)["error"]) == (408, "request_timeout")


@pytest.mark.parametrize(
    "partial", [b"GET /health HTTP/1.1\r\nHost: t\r\n", b"GET /hea", b""], ids=repr
)
def test_a_stalled_request_head_is_closed_and_others_are_served_meanwhile(
    served: Served, api: Api, partial: bytes
) -> None:
    """uvicorn waits for the rest of a request head without limit; the server's protocol
    closes the connection at the head deadline (with a 408 when part of a head arrived)."""
    with connect(served) as stalled:
        stalled.sendall(partial)
        assert api.call("GET", "/health") == (200, {"status": "ok"})
        answer = read_all(stalled)
    if partial:
        assert status_and_body(answer)[0] == 408
    else:
        assert answer == b""  # a connection that never spoke is just closed


def test_one_keep_alive_connection_serves_several_requests(served: Served) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=GUARD)
    try:
        for _ in range(2):
            connection.request("GET", "/health")
            response = connection.getresponse()
            assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})
        first_socket = connection.sock
        connection.request("GET", "/owners/nobody/stats")
        assert connection.getresponse().status == 200
        assert connection.sock is first_socket  # the same connection throughout
    finally:
        connection.close()


def test_python_m_domain_example_serve_answers_and_stops_on_ctrl_c() -> None:
    serve_answers_and_stops_on_ctrl_c()


def serve_answers_and_stops_on_ctrl_c(*options: str) -> str:
    """`python -m domain_example serve` with `options` (test_http_api_aio.py: --aio); returns
    the banner."""
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PYTHONPATH"] = str(root)
    with subprocess.Popen(
        [sys.executable, "-m", "domain_example", "serve", "--port", "0", *options],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            banner = server.stdout.readline()  # printed once the socket listens
            url = re.search(r"http://[\d.]+:\d+", banner)
            assert url is not None, banner
            api = Api(url.group(0))
            assert api.call("GET", "/health") == (200, {"status": "ok"})
            status, body = api.call(
                "POST", "/accounts", {"account_id": "s1", "owner": "sam", "currency": "EUR"}
            )
            assert (status, body["status"]) == (201, "open")
        finally:
            server.send_signal(signal.SIGINT)
            _, errors = server.communicate(timeout=GUARD)
    assert server.returncode == 0, errors
    assert "Traceback" not in errors
    return banner
