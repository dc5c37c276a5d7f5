"""DynamoDBBackend details that a server cannot be made to show on demand."""

from __future__ import annotations

import functools
from typing import Any

import persistence as p
from persistence.backends.actions import Delete, Meaning, Put
from persistence.backends.dynamodb.backend import DynamoDBBackend


class EchoingClient:
    """Answers BatchWriteItem with every request unprocessed, in another textual form."""

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        echoed: dict[str, list[Any]] = {}
        for table, entries in RequestItems.items():
            for entry in entries:
                if "PutRequest" in entry:
                    item = dict(entry["PutRequest"]["Item"])
                    item["tags"] = {"SS": list(reversed(item["tags"]["SS"]))}
                    item["n"] = {"N": item["n"]["N"] + ".0"}
                    echoed.setdefault(table, []).append({"PutRequest": {"Item": item}})
                else:
                    echoed.setdefault(table, []).append(entry)
        return {"UnprocessedItems": echoed}


def test_unprocessed_items_are_matched_by_key_and_never_dropped() -> None:
    backend = DynamoDBBackend(EchoingClient())
    backend.register(p.Table("t", partition_key="pk"))
    meaning = Meaning("T", {"pk": "a"}, "put")
    put = Put("t", {"pk": {"S": "a"}, "tags": {"SS": ["x", "y"]}, "n": {"N": "1"}}, None, meaning)
    delete = Delete("t", {"pk": {"S": "b"}}, None, meaning)
    unprocessed = backend.batch_write({"t": [put, delete]})
    assert unprocessed["t"][0] is put  # matched back to the original request
    assert unprocessed["t"][1] is delete

    # A table the backend was never told about: the echoed request is kept, not dropped.
    other = DynamoDBBackend(EchoingClient())
    assert len(other.batch_write({"t": [put]})["t"]) == 1


# ---------------------------------------------------------------------------------- refusals


class RefusingClient:
    """Every call raises the ClientError it was given."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def __getattr__(self, operation: str) -> Any:
        def call(**_: Any) -> Any:
            raise self.error

        return call


def _client_error(code: str, message: str, status: int = 400, **extra: Any) -> Any:
    from botocore.exceptions import ClientError

    response: dict[str, Any] = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
        **extra,
    }
    return ClientError(response, "UpdateItem")  # type: ignore[arg-type]


def _update() -> Any:
    from persistence.backends.actions import Remove, Update

    return Update(
        "t",
        {"pk": {"S": "a"}},
        [Remove(("address", "city"))],
        None,
        Meaning("T", {"pk": "a"}, "update"),
    )


def test_a_validation_exception_is_a_validation_error_with_dynamodb_s_message() -> None:
    import pytest

    message = "The document path provided in the update expression is invalid for update"
    error = _client_error("ValidationException", message)
    backend = DynamoDBBackend(RefusingClient(error))
    calls = [
        lambda: backend.write(_update()),
        lambda: backend.transact_write([_update()], "token"),
        lambda: backend.get_item("t", {"pk": {"S": "a"}}, True),
        lambda: backend.batch_get({"t": [{"pk": {"S": "a"}}]}, True),
        lambda: backend.batch_write({"t": [Delete("t", {"pk": {"S": "a"}}, None, _MEANING)]}),
    ]
    for call in calls:
        with pytest.raises(p.ValidationError) as raised:
            call()
        assert str(raised.value) == f"DynamoDB refused the request (ValidationException): {message}"
        assert raised.value.__cause__ is error


def test_a_transaction_cancelled_for_an_invalid_action_is_a_validation_error() -> None:
    import pytest

    from persistence.backends.base import Cancelled

    message = "The document path provided in the update expression is invalid for update"
    reasons = [{"Code": "None"}, {"Code": "ValidationError", "Message": message}]
    error = _client_error(
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[None, ValidationError]",
        CancellationReasons=reasons,
    )
    backend = DynamoDBBackend(RefusingClient(error))
    put = Put("t", {"pk": {"S": "b"}}, None, _MEANING)
    with pytest.raises(p.ValidationError, match=r"ValidationError on T \{'pk': 'a'\}.*invalid for"):
        backend.transact_write([put, _update()], "token")
    # A failed condition wins, as in the in-memory store (conditions first, then the changes).
    reasons[0] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    with pytest.raises(Cancelled):
        backend.transact_write([put, _update()], "token")


def test_other_aws_errors_pass_through_unchanged() -> None:
    import pytest

    for error in (
        _client_error("ResourceNotFoundException", "Requested resource not found"),
        _client_error("ProvisionedThroughputExceededException", "slow down"),
        _client_error("InternalServerError", "oops", 500),
    ):
        backend = DynamoDBBackend(RefusingClient(error))
        for call in (
            functools.partial(backend.write, _update()),
            functools.partial(backend.transact_write, [_update()], "token"),
            functools.partial(backend.get_item, "t", {"pk": {"S": "a"}}, True),
        ):
            with pytest.raises(type(error)) as raised:
                call()
            assert raised.value is error


_MEANING = Meaning("T", {"pk": "b"}, "put")
