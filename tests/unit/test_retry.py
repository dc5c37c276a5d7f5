"""RetryPolicy (one commit, resent) and retry_on_conflict (a whole unit of work, rerun)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from persistence import errors
from persistence.backends.base import Cancelled, RawReason
from persistence.lambda_runtime import Deadline
from persistence.retry import (
    TOKEN_WINDOW_SECONDS,
    Backoff,
    RetryPolicy,
    error_code,
    is_transient,
    retry_on_conflict,
)


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "TransactWriteItems",
    )


def _cancelled(*codes: str) -> Cancelled:
    return Cancelled([RawReason(c) for c in codes])


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_client_error("ProvisionedThroughputExceededException"), True),
        (_client_error("ThrottlingException"), True),
        (_client_error("RequestLimitExceeded"), True),
        (_client_error("TransactionInProgressException"), True),
        (_client_error("InternalServerError", 500), True),
        (_client_error("ServiceUnavailable", 503), True),
        (_client_error("SomethingNew", 502), True),
        (ConnectionClosedError(endpoint_url="http://x"), True),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (ReadTimeoutError(endpoint_url="http://x"), True),
        (_cancelled("TransactionConflict"), True),
        (_cancelled("None", "TransactionConflict", "None"), True),
        (_cancelled("ThrottlingError", "ProvisionedThroughputExceeded"), True),
        # Final: a condition did not hold, the request is wrong, or nothing says "try again".
        (_cancelled("TransactionConflict", "ConditionalCheckFailed"), False),
        (_cancelled("ConditionalCheckFailed"), False),
        (_cancelled("None"), False),
        (_cancelled("ValidationError"), False),
        (_client_error("ValidationException"), False),
        (_client_error("ConditionalCheckFailedException"), False),
        (_client_error("IdempotentParameterMismatchException"), False),
        (_client_error("ResourceNotFoundException"), False),
        (errors.ValidationError("bad"), False),
        (ValueError("x"), False),
    ],
    ids=lambda v: error_code(v) if isinstance(v, BaseException) else str(v),
)
def test_what_is_transient(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient


class Flaky:
    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


def _policy(**kwargs: Any) -> tuple[RetryPolicy, list[float]]:
    slept: list[float] = []
    return RetryPolicy(**{"base": 0.01, "cap": 0.05, "sleep": slept.append, **kwargs}), slept


def test_transient_failures_are_retried_until_success() -> None:
    policy, slept = _policy(attempts=4)
    fn = Flaky(3, _client_error("ThrottlingException"))
    assert policy.run(fn) == "done"
    assert fn.calls == 4 and len(slept) == 3


def test_attempts_bound_the_sends_and_the_last_error_propagates() -> None:
    policy, slept = _policy(attempts=3)
    fn = Flaky(100, _client_error("ThrottlingException"))
    with pytest.raises(ClientError):
        policy.run(fn)
    assert fn.calls == 3 and len(slept) == 2
    never, _ = _policy(attempts=1)
    once = Flaky(1, _client_error("ThrottlingException"))
    with pytest.raises(ClientError):
        never.run(once)
    assert once.calls == 1


def test_final_errors_are_not_retried() -> None:
    policy, slept = _policy(attempts=5)
    fn = Flaky(1, _cancelled("ConditionalCheckFailed"))
    with pytest.raises(Cancelled):
        policy.run(fn)
    assert fn.calls == 1 and slept == []


def test_full_jitter_stays_within_the_exponential_bound() -> None:
    random.seed(7)
    policy = RetryPolicy(base=0.01, cap=0.1)
    for attempt in range(8):
        bound = min(0.1, 0.01 * 2**attempt)
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= bound for d in delays)
        assert max(delays) > bound / 2  # jitter spreads over the whole range, not a constant


def test_no_retry_beyond_max_elapsed() -> None:
    now = [0.0]
    policy, slept = _policy(attempts=100, base=1.0, cap=1.0, max_elapsed=5.0, clock=lambda: now[0])

    def fn() -> None:
        now[0] += 2.0  # each send takes two seconds
        raise _client_error("ThrottlingException")

    with pytest.raises(ClientError):
        policy.run(fn)
    assert len(slept) <= 2  # the third send would end past five seconds


@pytest.mark.parametrize(
    "deadline",
    [
        lambda: 0.001,  # seconds left, as a callable
        1_000.0,  # an epoch long past
        Deadline(at=0.0, clock=lambda: 10.0),  # an expired lambda_runtime.Deadline
    ],
    ids=["callable", "epoch", "Deadline"],
)
def test_no_retry_past_the_deadline(deadline: Any) -> None:
    policy, slept = _policy(attempts=10, base=0.5, cap=0.5, deadline=deadline)
    fn = Flaky(100, _client_error("ThrottlingException"))
    random.seed(1)
    with pytest.raises(ClientError):
        policy.run(fn)
    assert fn.calls <= 2 and all(s < 0.001 for s in slept)


def test_a_deadline_with_time_left_allows_the_retries() -> None:
    policy, slept = _policy(attempts=4, deadline=Deadline.after(60.0), reserve=1.0)
    assert policy.run(Flaky(3, ConnectionClosedError(endpoint_url="x"))) == "done"
    assert len(slept) == 3
    assert policy.remaining() is not None


def test_policies_that_could_outlive_the_token_window_are_refused() -> None:
    with pytest.raises(ValueError, match="10 minutes"):
        RetryPolicy(max_elapsed=TOKEN_WINDOW_SECONDS)
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base=-1)


def test_error_codes_carry_no_message_text() -> None:
    error = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "value 'secret-123' is bad"}},
        "PutItem",
    )
    assert error_code(error) == "ValidationException"
    assert error_code(_cancelled("None", "TransactionConflict")) == (
        "TransactionCanceled[None,TransactionConflict]"
    )


# ------------------------------------------------------------------------------ retry_on_conflict


def _conflict() -> errors.ConcurrencyConflict:
    return errors.ConcurrencyConflict(
        "Account", {"account_id": "a1"}, expected_version=1, stored_version=2
    )


FAST = Backoff(base=0.0, cap=0.0)


def test_retry_on_conflict_reruns_the_whole_unit_of_work() -> None:
    fn = Flaky(2, _conflict())
    seen: list[int] = []
    assert retry_on_conflict(fn, attempts=3, backoff=FAST, on_retry=lambda n, _: seen.append(n))
    assert fn.calls == 3 and seen == [1, 2]


def test_retry_on_conflict_gives_up_with_the_last_conflict() -> None:
    fn = Flaky(10, _conflict())
    with pytest.raises(errors.ConcurrencyConflict):
        retry_on_conflict(fn, attempts=3, backoff=FAST)
    assert fn.calls == 3


def test_retry_on_conflict_retries_only_retryable_cancellations() -> None:
    retryable = errors.TransactionCanceled([], retryable=True)
    assert retry_on_conflict(Flaky(1, retryable), attempts=2, backoff=FAST) == "done"
    final = Flaky(1, errors.TransactionCanceled([], retryable=False))
    with pytest.raises(errors.TransactionCanceled):
        retry_on_conflict(final, attempts=5, backoff=FAST)
    assert final.calls == 1
    other = Flaky(1, errors.AlreadyExists("Account", {"account_id": "a1"}))
    with pytest.raises(errors.AlreadyExists):
        retry_on_conflict(other, attempts=5, backoff=FAST)
    assert other.calls == 1
