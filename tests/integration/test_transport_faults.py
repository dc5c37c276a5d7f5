"""Faults through the transport (adr/0018) behave as they do through botocore's public path:
the same attempts for the client's retry configuration, the same ClientError when retries run
out, expired and refreshed credentials, 5xx, and botocore's clock-skew-aware retry header.

Every scenario runs twice on identically configured clients: once through the library (which
sends through the transport) and once through the plain client method with the same parameters;
the two must agree.
"""

from __future__ import annotations

import datetime
import email.utils
import json
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import ClientError

import persistence as p
from persistence.backends.dynamodb.backend import DynamoDBBackend
from persistence.backends.dynamodb.transport import Transport

from .test_transport_wire import DOCS, ITEM, Doc, Wire, answer

KEY = {"pk": {"S": "DOC#d1"}, "sk": {"S": "DOC"}}
PARAMS = {"TableName": "transport_docs", "Key": KEY, "ConsistentRead": False}


def client_with(retries: dict[str, Any], credentials: Any = None) -> Any:
    session = botocore.session.get_session()
    if credentials is not None:
        session._credentials = credentials  # the provider chain's answer, as a refresh source
    else:
        session.set_credentials("AKIDTEST", "secret")
    return session.create_client(
        "dynamodb",
        region_name="eu-west-1",
        config=Config(retries=retries, connect_timeout=1, read_timeout=1),
    )


def error(code: str, status: int = 400, headers: dict[str, str] | None = None) -> Any:
    body = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": f"{code} said"}
    ).encode()
    return answer(body, status, headers)


class Script:
    """Answers the first `times` requests with `fail`, then with `success`."""

    def __init__(self, fail: Any, times: int, success: bytes = ITEM) -> None:
        self.fail, self.times, self.success = fail, times, success
        self.count = 0

    def __call__(self, _: bytes) -> Any:
        self.count += 1
        return self.fail() if self.count <= self.times else answer(self.success)


def run_both(
    retries: dict[str, Any], fail: Any, times: int, operation: str = "GetItem"
) -> list[tuple[Any, int, list[dict[str, Any]]]]:
    """(result or exception, attempts, requests) for the library's path and the plain one."""
    out = []
    for ours in (True, False):
        client = client_with(retries)
        # No sleeping between retries: the attempt count is what is compared.
        client.meta.events.register("needs-retry.dynamodb", _no_sleep, unique_id="no-sleep")
        script = Script(fail, times, ITEM if operation == "GetItem" else b"{}")
        wire = Wire(client, script)
        backend = DynamoDBBackend(client)
        assert (backend._transport is not None) is True
        result: Any
        try:
            if operation == "GetItem":
                if ours:
                    result = backend.get_item("transport_docs", KEY, False)
                else:
                    result = client.get_item(**PARAMS)["Item"]
            else:
                uow = p.DynamoDBUnitOfWork(client, [DOCS])
                if ours:
                    with uow:
                        uow.repository(Doc).add(Doc("d1", "t"))
                        uow.commit()
                    result = "committed"
                else:
                    client.transact_write_items(**json.loads(out[0][2][0]["body"]))
                    result = "committed"
        except Exception as exc:  # compared below
            result = exc
        out.append((result, script.count, wire.sent))
    return out


def _no_sleep(**_: Any) -> None:
    return None


def _patch_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    import time as time_module

    monkeypatch.setattr(time_module, "sleep", lambda _: None)


def _same_error(ours: Any, plain: Any) -> None:
    # Each client has its own modelled exception classes: same name, same base.
    assert isinstance(ours, ClientError) and type(ours).__name__ == type(plain).__name__
    assert ours.response["Error"] == plain.response["Error"]
    assert (
        ours.response["ResponseMetadata"]["RetryAttempts"]
        == (plain.response["ResponseMetadata"]["RetryAttempts"])
    )
    assert ours.operation_name == plain.operation_name
    assert str(ours) == str(plain)


# adaptive is standard's retry handler plus a client-side rate limiter that really waits (seconds
# per test): the retry decisions are standard's, so it is left out.
MODES = [{"mode": "standard", "max_attempts": 4}, {"mode": "legacy", "max_attempts": 4}]


@pytest.mark.parametrize("retries", MODES, ids=lambda r: r["mode"])
@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_throttled_then_success_takes_as_many_attempts(
    retries: dict[str, Any], code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _patch_sleep(monkeypatch)
    (ours, ours_n, _), (plain, plain_n, _) = run_both(retries, lambda: error(code), 2)
    assert ours_n == plain_n == 3
    assert ours == plain


@pytest.mark.parametrize("retries", MODES, ids=lambda r: r["mode"])
def test_throttled_until_retries_run_out_raises_the_same_error(
    retries: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _patch_sleep(monkeypatch)
    (ours, ours_n, _), (plain, plain_n, _) = run_both(
        retries, lambda: error("ProvisionedThroughputExceededException"), 100
    )
    # botocore's `max_attempts` counts retries (`total_max_attempts` counts attempts).
    assert ours_n == plain_n == 5
    _same_error(ours, plain)
    assert ours.response["ResponseMetadata"]["RetryAttempts"] == 4


def test_one_action_commit_throttled_then_success(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_sleep(monkeypatch)
    retries = {"mode": "standard", "max_attempts": 3}
    (ours, ours_n, sent), (plain, plain_n, _) = run_both(
        retries, lambda: error("ThrottlingException"), 2, operation="TransactWriteItems"
    )
    assert ours == plain == "committed" and ours_n == plain_n == 3
    # One idempotency token for every attempt (adr/0006).
    tokens = {json.loads(r["body"])["ClientRequestToken"] for r in sent}
    assert len(tokens) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(status: int, monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_sleep(monkeypatch)
    retries = {"mode": "standard", "max_attempts": 3}
    code = "InternalServerError" if status == 500 else "ServiceUnavailable"
    (ours, ours_n, _), (plain, plain_n, _) = run_both(retries, lambda: error(code, status), 2)
    assert ours_n == plain_n == 3 and ours == plain
    (ours, ours_n, _), (plain, plain_n, _) = run_both(retries, lambda: error(code, status), 9)
    assert ours_n == plain_n == 4  # `max_attempts` counts retries
    _same_error(ours, plain)


def test_expired_token_raises_the_same_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _patch_sleep(monkeypatch)
    retries = {"mode": "standard", "max_attempts": 3}
    (ours, ours_n, _), (plain, plain_n, _) = run_both(
        retries, lambda: error("ExpiredTokenException"), 9
    )
    assert ours_n == plain_n
    _same_error(ours, plain)


def test_refreshed_credentials_sign_the_next_request() -> None:
    """RefreshableCredentials from the provider chain: a refresh between two calls, and the new
    keys (and session token) sign the next request the transport sends."""
    issued: list[str] = []

    def refresh() -> dict[str, str]:
        issued.append(f"AKIDREFRESH{len(issued)}")
        # Inside botocore's mandatory refresh window: every use refreshes.
        expiry = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5)
        return {
            "access_key": issued[-1],
            "secret_key": "secret",
            "token": f"token{len(issued)}",
            "expiry_time": expiry.isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    client = client_with({"mode": "standard", "max_attempts": 1}, credentials)
    wire = Wire(client, lambda _: answer(ITEM))
    backend = DynamoDBBackend(client)
    assert backend._transport is not None
    backend.get_item("transport_docs", KEY, False)
    backend.get_item("transport_docs", KEY, False)
    signed = [
        r["headers"]["authorization"].split("Credential=")[1].split("/")[0] for r in wire.sent
    ]
    tokens = [r["headers"]["x-amz-security-token"] for r in wire.sent]
    assert signed[0] != signed[1] and set(signed) <= set(issued[1:])
    assert tokens[0] != tokens[1]


def test_retry_header_carries_botocores_clock_skew_estimate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """botocore has no request-date correction: the only clock-skew handling it does is in the
    retry header (endpoint.py `_set_ttl`: the server's Date header gives the skew, and the retry's
    `amz-sdk-request: ttl=...` is the local clock plus read timeout plus that skew). It runs inside
    `Endpoint.make_request`, which the transport calls: a server an hour ahead moves the ttl."""
    _patch_sleep(monkeypatch)
    ahead = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    date = email.utils.format_datetime(ahead, usegmt=True)
    retries = {"mode": "standard", "max_attempts": 3}
    results = run_both(retries, lambda: error("ThrottlingException", 400, {"Date": date}), 1)
    ttls = []
    for _, count, sent in results:
        assert count == 2
        assert "ttl=" not in sent[0]["headers"]["amz-sdk-request"]
        fields = dict(f.split("=") for f in sent[1]["headers"]["amz-sdk-request"].split("; "))
        assert fields["attempt"] == "2" and fields["max"] == "4"
        ttl = datetime.datetime.strptime(fields["ttl"], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.UTC
        )
        ttls.append(ttl)
        assert abs((ttl - ahead).total_seconds() - 1) < 60  # read timeout 1 s, skew +1 h
    assert abs((ttls[0] - ttls[1]).total_seconds()) < 60


def test_after_call_error_is_emitted_on_a_connection_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from botocore.exceptions import EndpointConnectionError

    _patch_sleep(monkeypatch)
    client = client_with({"mode": "standard", "max_attempts": 1})
    seen: list[Any] = []
    client.meta.events.register(
        "after-call-error.dynamodb.GetItem", lambda exception, **_: seen.append(exception)
    )

    def refuse(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.test/")

    client.meta.events.register("before-send.dynamodb", refuse)
    assert Transport.of(client) is not None
    with pytest.raises(EndpointConnectionError):
        DynamoDBBackend(client).get_item("transport_docs", KEY, False)
    with pytest.raises(EndpointConnectionError):
        client.get_item(**PARAMS)
    assert len(seen) == 2 and all(isinstance(e, EndpointConnectionError) for e in seen)


def test_validation_exception_still_becomes_validation_error() -> None:
    client = client_with({"mode": "standard", "max_attempts": 1})
    Wire(client, lambda _: error("ValidationException"))
    with pytest.raises(p.ValidationError, match="ValidationException said"):
        DynamoDBBackend(client).get_item("transport_docs", KEY, False)
