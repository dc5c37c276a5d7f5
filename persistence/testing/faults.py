"""Fault injection: make chosen DynamoDB calls fail in chosen ways, on both backends.

A `FaultPlan` lists faults (`throttle`, `server_error`, `connection_error`, `lost_response`,
`unprocessed`, `cancel`), each for one operation and a number of times, and records what the
library sent (operation names, and the ClientRequestToken of every TransactWriteItems attempt).

- `inject(client, plan)` installs it on a boto3 (or aiobotocore) DynamoDB client through
  botocore's public event hooks: `before-send.dynamodb.<Op>` answers with a prepared
  `AWSResponse` (throttling, 5xx, TransactionCanceledException), raises
  `EndpointConnectionError` (nothing sent) or sends the request itself and then raises
  `ConnectionClosedError` (the server applied it, the response is lost);
  `before-call`/`after-call` of BatchWriteItem hold requests back and report them as
  UnprocessedItems, as DynamoDB does under throttling, and those of BatchGetItem hold keys back
  as UnprocessedKeys. BatchWriteItem and BatchGetItem faults are met once per call as the
  library makes it (botocore's own retries never see them): a fault there stands for one that
  outlasted botocore's retries.
- A fault with `after=n` lets the first n calls of its operation through: "chunk 2 fails for
  good" is `connection_error("BatchWriteItem", times=1000, after=1)`.
- `FaultyBackend(backend, plan)` wraps any `Backend` (the in-memory store) and raises the same
  botocore exceptions, so one scenario runs on both backends.

moto ignores ClientRequestToken. `inject(..., emulate_idempotency=True)` answers a
TransactWriteItems whose token was already applied (by a `lost_response`) with the empty success
DynamoDB documents for that case, so a test can check what the library does with that answer;
that DynamoDB itself de-duplicates is AWS's documented behaviour, which the in-memory store
implements and the tests prove there.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from ..backends.actions import Action, Delete, Put, Update
from ..backends.base import Backend, BatchRequests, Cancelled, RawReason, ReadResult
from ..model.marshal import Item, Wire
from ..query.planner import Plan

Kind = Literal[
    "throttle", "server_error", "connection_error", "lost_response", "unprocessed", "cancel"
]
_JSON = "application/x-amz-json-1.0"
_PREFIX = "com.amazonaws.dynamodb.v20120810#"


@dataclass
class Fault:
    """Fail the next `times` calls of `operation` (a DynamoDB operation name) this way."""

    operation: str
    kind: Kind
    times: int = 1
    code: str = "ProvisionedThroughputExceededException"
    status: int = 400
    reasons: tuple[str, ...] = ()
    keep: int = 0  # unprocessed: how many requests (or keys) of each batch are served
    after: int = 0  # let this many calls of the operation through first
    fired: int = 0
    passed: int = 0


def throttle(
    operation: str,
    times: int = 1,
    code: str = "ProvisionedThroughputExceededException",
    *,
    after: int = 0,
) -> Fault:
    """Answer with a throttling error (ThrottlingException, RequestLimitExceeded...)."""
    return Fault(operation, "throttle", times, code=code, status=400, after=after)


def server_error(
    operation: str,
    times: int = 1,
    code: str = "InternalServerError",
    status: int = 500,
    *,
    after: int = 0,
) -> Fault:
    """An error answer; with a 4xx status and another code, any AWS error (a final one)."""
    return Fault(operation, "server_error", times, code=code, status=status, after=after)


def connection_error(operation: str, times: int = 1, *, after: int = 0) -> Fault:
    """The connection fails before the request is sent: nothing is applied."""
    return Fault(operation, "connection_error", times, after=after)


def lost_response(operation: str, times: int = 1) -> Fault:
    """The request reaches the server and is applied; the connection drops before the answer."""
    return Fault(operation, "lost_response", times)


def unprocessed(
    operation: str = "BatchWriteItem", times: int = 1, keep: int = 0, *, after: int = 0
) -> Fault:
    """Serve only the first `keep` requests of the batch (BatchWriteItem) or keys (BatchGetItem);
    return the rest as UnprocessedItems / UnprocessedKeys."""
    return Fault(operation, "unprocessed", times, keep=keep, after=after)


def cancel(
    reasons: Sequence[str] = ("TransactionConflict",),
    times: int = 1,
    operation: str = "TransactWriteItems",
) -> Fault:
    """TransactionCanceledException with these reason codes, in action order (padded with
    "None" to the number of actions)."""
    return Fault(
        operation, "cancel", times, code="TransactionCanceledException", reasons=tuple(reasons)
    )


class FaultPlan:
    """The faults to meet, and what the library sent while meeting them."""

    def __init__(self, *faults: Fault) -> None:
        self.faults = list(faults)
        self.calls: list[str] = []  # every operation attempted, in order
        self.tokens: list[str] = []  # the token of every TransactWriteItems attempt
        self.applied_tokens: set[str] = set()  # tokens of requests applied, answer lost
        self._lock = threading.Lock()

    def add(self, *faults: Fault) -> FaultPlan:
        """Plan more faults, met after those already planned; returns the plan."""
        with self._lock:
            self.faults.extend(faults)
        return self

    def record(self, operation: str, token: str | None = None) -> None:
        """Record one attempt of `operation` that meets no fault."""
        with self._lock:
            self.calls.append(operation)
            if token is not None:
                self.tokens.append(token)

    def next(self, operation: str, token: str | None = None) -> Fault | None:
        """Record one attempt of `operation`; the fault it meets, if any (thread-safe)."""
        self.record(operation, token)
        with self._lock:
            for fault in self.faults:
                if fault.operation == operation and fault.fired < fault.times:
                    if fault.passed < fault.after:
                        fault.passed += 1
                        continue
                    fault.fired += 1
                    return fault
            return None

    def exhausted(self) -> bool:
        """Every fault fired as many times as planned."""
        return all(f.fired >= f.times for f in self.faults)

    def count(self, operation: str) -> int:
        """How many times `operation` was attempted."""
        return sum(1 for name in self.calls if name == operation)


# ---------------------------------------------------------------------------------- errors


def _error_body(fault: Fault, actions: int) -> dict[str, Any]:
    if fault.kind == "cancel":
        codes = list(fault.reasons) + ["None"] * max(0, actions - len(fault.reasons))
        return {
            "__type": _PREFIX + "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific "
            f"reasons [{', '.join(codes)}]",
            "CancellationReasons": [
                {"Code": c} if c == "None" else {"Code": c, "Message": f"injected {c}"}
                for c in codes
            ],
        }
    return {"__type": _PREFIX + fault.code, "message": f"injected {fault.code}"}


def client_error(fault: Fault, operation: str, actions: int = 0) -> ClientError:
    """The ClientError botocore raises for this fault's response."""
    body = _error_body(fault, actions)
    response: dict[str, Any] = {
        "Error": {"Code": fault.code, "Message": body.get("message") or body.get("Message")},
        "ResponseMetadata": {"HTTPStatusCode": fault.status},
    }
    if "CancellationReasons" in body:
        response["CancellationReasons"] = body["CancellationReasons"]
    return ClientError(response, operation)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- botocore


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class _AioRaw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    async def read(self) -> bytes:
        return self._body


def _response(url: str, status: int, body: Mapping[str, Any], aio: bool = False) -> AWSResponse:
    data = json.dumps(body).encode("utf-8")
    headers = HTTPHeaders()
    headers["Content-Type"] = _JSON
    headers["x-amzn-RequestId"] = "fault-injection"
    if aio:
        # aiobotocore awaits the content of the response a before-send handler answers with.
        # (imported by name: aiobotocore is the optional `async` extra, without type hints)
        aio_response = importlib.import_module("aiobotocore.awsrequest").AioAWSResponse
        response: AWSResponse = aio_response(url, status, headers, _AioRaw(data))
        return response
    return AWSResponse(url, status, headers, _Raw(data))


def _is_aio(client: Any) -> bool:
    """An aiobotocore client: its API calls are coroutines."""
    return inspect.iscoroutinefunction(getattr(client, "_make_api_call", None))


def _body_of(request: Any) -> dict[str, Any]:
    body = request.body if hasattr(request, "body") else request.get("body")
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _decode(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON wire value as botocore parses it (B and BS as bytes)."""
    if "B" in value:
        return {"B": base64.b64decode(value["B"])}
    if "BS" in value:
        return {"BS": [base64.b64decode(b) for b in value["BS"]]}
    if "M" in value:
        return {"M": {k: _decode(v) for k, v in value["M"].items()}}
    if "L" in value:
        return {"L": [_decode(v) for v in value["L"]]}
    return value


def _decode_entry(entry: dict[str, Any]) -> dict[str, Any]:
    if "PutRequest" in entry:
        item = entry["PutRequest"]["Item"]
        return {"PutRequest": {"Item": {k: _decode(v) for k, v in item.items()}}}
    key = entry["DeleteRequest"]["Key"]
    return {"DeleteRequest": {"Key": {k: _decode(v) for k, v in key.items()}}}


class FaultInjector:
    """The handlers `inject` registered on a client; `remove()` (or leaving the `with` block)
    takes them off again."""

    def __init__(self, client: Any, plan: FaultPlan, *, emulate_idempotency: bool) -> None:
        self.client = client
        self.plan = plan
        self.emulate_idempotency = emulate_idempotency
        self.aio = _is_aio(client)
        self._held = threading.local()
        events = client.meta.events
        events.register_first("before-send.dynamodb", self._before_send, unique_id=self._id("send"))
        events.register_first(
            "before-call.dynamodb.BatchWriteItem", self._before_batch, unique_id=self._id("call")
        )
        events.register_first(
            "after-call.dynamodb.BatchWriteItem", self._after_batch, unique_id=self._id("after")
        )
        events.register_first(
            "before-call.dynamodb.BatchGetItem", self._before_get, unique_id=self._id("get")
        )
        events.register_first(
            "after-call.dynamodb.BatchGetItem", self._after_get, unique_id=self._id("after-get")
        )

    def _id(self, what: str) -> str:
        return f"persistence-faults-{what}-{id(self)}"

    def remove(self) -> None:
        """Unregister every handler from the client: its requests go out untouched again."""
        events = self.client.meta.events
        events.unregister("before-send.dynamodb", unique_id=self._id("send"))
        events.unregister("before-call.dynamodb.BatchWriteItem", unique_id=self._id("call"))
        events.unregister("after-call.dynamodb.BatchWriteItem", unique_id=self._id("after"))
        events.unregister("before-call.dynamodb.BatchGetItem", unique_id=self._id("get"))
        events.unregister("after-call.dynamodb.BatchGetItem", unique_id=self._id("after-get"))

    def __enter__(self) -> FaultPlan:
        return self.plan

    def __exit__(self, *_: object) -> None:
        self.remove()

    # before-send: one HTTP attempt (botocore's own retries included)
    def _before_send(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation in ("BatchWriteItem", "BatchGetItem"):
            return None  # counted (and faulted) once per call, in before-call
        body = _body_of(request)
        token = body.get("ClientRequestToken") if operation == "TransactWriteItems" else None
        if token is not None and self.emulate_idempotency and token in self.plan.applied_tokens:
            self.plan.record(operation, token)
            return _response(request.url, 200, {}, self.aio)  # DynamoDB's answer to a replay
        fault = self.plan.next(operation, token)
        if fault is None:
            return None
        if fault.kind == "connection_error":
            raise EndpointConnectionError(endpoint_url=request.url)
        if fault.kind == "lost_response":
            from botocore.httpsession import URLLib3Session

            answer = URLLib3Session().send(request)
            if answer.status_code == 200 and token is not None:
                self.plan.applied_tokens.add(token)
            raise ConnectionClosedError(endpoint_url=request.url)
        actions = len(body.get("TransactItems", []))
        status = fault.status if fault.kind != "cancel" else 400
        return _response(request.url, status, _error_body(fault, actions), self.aio)

    # before-call/after-call: one BatchWriteItem call as the library sees it
    def _before_batch(self, params: dict[str, Any], **_: Any) -> Any:
        self._held.entries = None
        fault = self.plan.next("BatchWriteItem")
        if fault is None:
            return None
        if fault.kind != "unprocessed":
            return self._batch_error(fault, params)
        body = _body_of(params)
        kept: dict[str, list[Any]] = {}
        held: dict[str, list[Any]] = {}
        n = 0
        for table, entries in body.get("RequestItems", {}).items():
            for entry in entries:
                target = kept if n < fault.keep else held
                target.setdefault(table, []).append(entry)
                n += 1
        held = {t: [_decode_entry(e) for e in es] for t, es in held.items()}
        if not kept:
            return _response(params.get("url", ""), 200, {}), {"UnprocessedItems": held}
        body["RequestItems"] = kept
        params["body"] = json.dumps(body).encode("utf-8")
        self._held.entries = held
        return None

    def _batch_error(self, fault: Fault, params: dict[str, Any]) -> Any:
        if fault.kind == "connection_error":
            raise EndpointConnectionError(endpoint_url=params.get("url", ""))
        if fault.kind == "lost_response":
            raise NotImplementedError(f"lost_response on {fault.operation}: use the memory backend")
        error = _error_body(fault, 0)
        http = _response(params.get("url", ""), fault.status, error)
        parsed = {
            "Error": {"Code": fault.code, "Message": error["message"]},
            "ResponseMetadata": {"HTTPStatusCode": fault.status},
        }
        return http, parsed

    def _after_batch(self, parsed: dict[str, Any], **_: Any) -> None:
        held = getattr(self._held, "entries", None)
        self._held.entries = None
        if not held:
            return
        unprocessed_items = parsed.setdefault("UnprocessedItems", {})
        for table, entries in held.items():
            unprocessed_items.setdefault(table, []).extend(entries)

    def _before_get(self, params: dict[str, Any], **_: Any) -> Any:
        self._held.keys = None
        fault = self.plan.next("BatchGetItem")
        if fault is None:
            return None
        if fault.kind != "unprocessed":
            return self._batch_error(fault, params)
        body = _body_of(params)
        kept: dict[str, Any] = {}
        held: dict[str, Any] = {}
        n = 0
        for table, entry in body.get("RequestItems", {}).items():
            for key in entry.get("Keys", []):
                target = kept if n < fault.keep else held
                target.setdefault(table, {**entry, "Keys": []})["Keys"].append(key)
                n += 1
        for entry in held.values():
            entry["Keys"] = [{k: _decode(v) for k, v in key.items()} for key in entry["Keys"]]
        if not kept:
            answer = {"Responses": {t: [] for t in held}, "UnprocessedKeys": held}
            return _response(params.get("url", ""), 200, {}), answer
        body["RequestItems"] = kept
        params["body"] = json.dumps(body).encode("utf-8")
        self._held.keys = held
        return None

    def _after_get(self, parsed: dict[str, Any], **_: Any) -> None:
        held = getattr(self._held, "keys", None)
        self._held.keys = None
        if held:
            parsed.setdefault("UnprocessedKeys", {}).update(held)


def inject(client: Any, plan: FaultPlan, *, emulate_idempotency: bool = False) -> FaultInjector:
    """Install `plan` on a boto3 DynamoDB client (see the module's docstring)."""
    return FaultInjector(client, plan, emulate_idempotency=emulate_idempotency)


# ---------------------------------------------------------------------------------- backend


_ENDPOINT = "memory://in-memory-store"


class FaultyBackend:
    """A Backend proxy that meets the plan's faults before (or after) the real backend."""

    def __init__(self, backend: Backend, plan: FaultPlan) -> None:
        self.inner = backend
        self.plan = plan

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)  # store.requests, store.clear()...

    def _before(self, operation: str, fault: Fault | None, actions: int = 0) -> None:
        if fault is None or fault.kind in ("lost_response", "unprocessed"):
            return
        if fault.kind == "connection_error":
            raise EndpointConnectionError(endpoint_url=_ENDPOINT)
        if fault.kind == "cancel":
            codes = list(fault.reasons) + ["None"] * max(0, actions - len(fault.reasons))
            raise Cancelled([RawReason(c, None if c == "None" else f"injected {c}") for c in codes])
        raise client_error(fault, operation, actions)

    @staticmethod
    def _after(fault: Fault | None) -> None:
        if fault is not None and fault.kind == "lost_response":
            raise ConnectionClosedError(endpoint_url=_ENDPOINT)

    def register(self, table: Any) -> None:
        """Register the table with the wrapped backend."""
        self.inner.register(table)

    def get_item(self, table: str, key: Mapping[str, Wire], consistent: bool) -> Item | None:
        """GetItem on the wrapped backend, meeting the plan's next GetItem fault."""
        fault = self.plan.next("GetItem")
        self._before("GetItem", fault)
        result = self.inner.get_item(table, key, consistent)
        self._after(fault)
        return result

    def batch_get(
        self, requests: Mapping[str, Sequence[Mapping[str, Wire]]], consistent: bool
    ) -> tuple[dict[str, list[Item]], dict[str, list[dict[str, Wire]]]]:
        """BatchGetItem; an `unprocessed` fault keeps only its first `keep` keys in the request."""
        fault = self.plan.next("BatchGetItem")
        self._before("BatchGetItem", fault)
        if fault is None or fault.kind != "unprocessed":
            result = self.inner.batch_get(requests, consistent)
            self._after(fault)
            return result
        kept: dict[str, list[Mapping[str, Wire]]] = {}
        held: dict[str, list[dict[str, Wire]]] = {}
        n = 0
        for table, keys in requests.items():
            for key in keys:
                if n < fault.keep:
                    kept.setdefault(table, []).append(key)
                else:
                    held.setdefault(table, []).append(dict(key))
                n += 1
        found, left = self.inner.batch_get(kept, consistent) if kept else ({}, {})
        for table, keys in left.items():
            held.setdefault(table, []).extend(keys)
        return found, held

    def read(self, plan: Plan, **kwargs: Any) -> ReadResult:
        """Query or Scan on the wrapped backend, meeting the plan's next fault for it."""
        operation = plan.operation
        fault = self.plan.next(operation)
        self._before(operation, fault)
        result = self.inner.read(plan, **kwargs)
        self._after(fault)
        return result

    def transact_write(self, actions: Sequence[Action], token: str) -> None:
        """TransactWriteItems; a `cancel` fault raises `Cancelled` with its reasons."""
        fault = self.plan.next("TransactWriteItems", token)
        self._before("TransactWriteItems", fault, len(actions))
        self.inner.transact_write(actions, token)
        self._after(fault)

    def write(self, action: Action, *, return_values: str = "NONE") -> Item | None:
        """One PutItem, UpdateItem or DeleteItem, meeting the plan's next fault for it."""
        operation = {Put: "PutItem", Update: "UpdateItem", Delete: "DeleteItem"}.get(
            type(action), "ConditionCheck"
        )
        fault = self.plan.next(operation)
        self._before(operation, fault)
        result = self.inner.write(action, return_values=return_values)
        self._after(fault)
        return result

    def batch_write(self, requests: BatchRequests) -> BatchRequests:
        """BatchWriteItem; an `unprocessed` fault hands back all but its first `keep` requests."""
        fault = self.plan.next("BatchWriteItem")
        self._before("BatchWriteItem", fault)
        if fault is None or fault.kind != "unprocessed":
            left = self.inner.batch_write(requests)
            self._after(fault)
            return left
        kept: BatchRequests = {}
        held: BatchRequests = {}
        n = 0
        for table, actions in requests.items():
            for action in actions:
                (kept if n < fault.keep else held).setdefault(table, []).append(action)
                n += 1
        left = self.inner.batch_write(kept) if kept else {}
        for table, actions in left.items():
            held.setdefault(table, []).extend(actions)
        return held
