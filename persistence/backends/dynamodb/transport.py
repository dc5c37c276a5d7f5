"""A short path from the library's own requests to botocore's endpoint (adr/0018).

`client.get_item(...)` spends most of its client CPU before anything is signed: validating the
parameters against the service model, serialising them with a walk of every attribute value,
building the User-Agent string twice, copying the request context. The library has already
validated what DynamoDB would refuse (validation.py) and holds its parameters as plain wire JSON,
so this module does the part of `BaseClient._make_api_call` that depends on the parameters itself
(one `json.dumps`, bytes as base64, exactly the body botocore's JSON serialiser would write) and
keeps everything else of botocore's, in the same order and with the same arguments:

- the `provide-client-params`, `before-parameter-build`, `before-call`, `after-call` and
  `after-call-error` events, so botocore's own handlers (the recursion-detection
  X-Amzn-Trace-Id header) and users' hooks run (called by dispatch.py's `Handlers` as the
  emitter would call them, while the endpoint loop is usable);
- the endpoint from the client's own ruleset resolver (endpoint_url, region, FIPS, dual-stack,
  account-id endpoints), remembered per operation, tables and account (see `_endpoint`);
- `Endpoint.make_request`'s decisions: `EndpointLoop` (endpoint_loop.py) repeats
  `Endpoint._send_request` attempt by attempt and calls botocore for each step, so signing with
  the client's signer and credential provider (refresh included), the retry handlers and
  quotas, the amz-sdk-request header, the CRC32 check of DynamoDB responses and botocore's
  parsing of error responses are botocore's own code; it remembers the User-Agent string per
  input instead of rebuilding it, prepares the request in one pass, and reads 2xx bodies with
  `json.loads`. Where it cannot account for a handler or a replaced method it calls
  `make_request` itself;
- the `ClientError` subclass `_make_api_call` would raise for a status >= 300.

What it skips is parameter validation (the library's requests are valid by construction: it builds
them from its own marshalled items), the model walk of serialisation, the User-Agent builds whose
result is already known, and the model walk of parsing a 2xx answer.

It relies on private botocore attributes. `Transport.of(client)` returns None when any is missing
or botocore is outside TESTED_BOTOCORE: the caller then uses the public client method.
"""

from __future__ import annotations

import copy
import inspect
import json
from typing import Any

from ... import fastjson
from . import fastpath
from .dispatch import Registry
from .endpoint_loop import EndpointLoop

# The botocore releases this module was tested against (aiobotocore pins botocore to 1.43.x):
# [low, high). Outside them the library takes the public client path, as it does when any of the
# private attributes below is missing.
TESTED_BOTOCORE = ((1, 43, 0), (1, 44, 0))

_REQUIRED = (
    "_endpoint",
    "_request_signer",
    "_resolve_endpoint_ruleset",
    "_emit_api_params",
    "_user_agent_creator",
    "_serializer",
    "_service_model",
    "exceptions",
)

# What `_resolve_endpoint_ruleset` may set in the request context besides its answer.
_ENDPOINT_CONTEXT = ("auth_type", "signing")
# One entry per (operation, tables, account): a bound on what an unusual caller can make it hold.
_ENDPOINTS_KEPT = 1024


def encode_body(operation: str, params: dict[str, Any]) -> bytes:
    """The request body for `params`: the one place the transport encodes JSON.

    A small request is byte for byte what botocore's JSONSerializer writes for these parameters
    (it walks them in the caller's key order and json.dumps the result with default separators,
    blobs as base64), so its wire form is botocore's. A transaction of several actions is the
    same document, compact and encoded by `fastjson` (orjson when installed, adr/0019): at 100
    actions the encoder is a tenth of the commit, and the fast path already sent such bodies
    compact before this module existed. Raises TypeError or ValueError for a value it cannot
    encode: the caller then lets botocore's own serialiser (with its validation) write the
    body."""
    if operation == "TransactWriteItems" and len(params.get("TransactItems", ())) > 1:
        return fastjson.request_body(params)
    text = json.dumps(params, default=fastjson.request_default, check_circular=False)
    return text.encode("utf-8")


def _tested_botocore() -> bool:
    import botocore

    try:
        version = tuple(int(part) for part in botocore.__version__.split(".")[:3])
    except ValueError:
        return False
    low, high = TESTED_BOTOCORE
    return low <= version < high


def fits(client: Any) -> bool:
    """Whether `client` is a DynamoDB client (JSON protocol) with every private attribute the
    transports rely on, over a tested botocore."""
    try:
        if client.meta.service_model.service_id.hyphenize() != "dynamodb":
            return False
        if client.meta.service_model.protocol != "json":
            return False
    except AttributeError:
        return False
    return all(hasattr(client, name) for name in _REQUIRED) and _tested_botocore()


def is_async(client: Any) -> bool:
    """An aiobotocore client: its API call or its endpoint's send loop is a coroutine
    (`AioEndpoint.make_request` is botocore's plain method returning `_send_request`'s
    coroutine, so that one alone does not tell)."""
    endpoint = getattr(client, "_endpoint", None)
    return any(
        inspect.iscoroutinefunction(getattr(owner, name, None))
        for owner, name in (
            (client, "_make_api_call"),
            (endpoint, "make_request"),
            (endpoint, "_send_request"),
        )
    )


class Transport:
    """Sends DynamoDB JSON requests for one botocore client through its endpoint."""

    def __init__(self, client: Any) -> None:
        from botocore.auth import resolve_auth_scheme_preference
        from botocore.awsrequest import prepare_request_dict
        from botocore.compress import maybe_compress_request
        from botocore.context import get_context, start_as_current_context
        from botocore.hooks import first_non_none_response
        from botocore.httpchecksum import apply_request_checksum, resolve_checksum_context

        self._client = client
        self._service = client._service_model
        self._service_id = self._service.service_id.hyphenize()
        self._models: dict[str, Any] = {}
        self._prepare = prepare_request_dict
        self._auth_preference = resolve_auth_scheme_preference
        self._compress = maybe_compress_request
        self._context = start_as_current_context
        self._checksum_context = resolve_checksum_context
        self._checksum = apply_request_checksum
        self._user_agent: str | None = None
        self._endpoints: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self._urls: dict[str, str] = {}
        self._current_context = get_context
        self._loop = self._loop_class().of(client)
        self._own_params = getattr(type(client), "_emit_api_params", None) is getattr(
            self._client_class(), "_emit_api_params", False
        )
        self._first_non_none = first_non_none_response
        # The handler lists of the client's events (re-made if `meta.events` is replaced).
        self._registry: Registry | None = None

    @staticmethod
    def _loop_class() -> type[EndpointLoop]:
        return EndpointLoop

    @staticmethod
    def _client_class() -> type[Any]:
        """The client class whose `_emit_api_params` `_api_params` mirrors."""
        from botocore.client import BaseClient

        return BaseClient

    @classmethod
    def of(cls, client: Any) -> Transport | None:
        """The client's transport, or None when it is not a botocore DynamoDB client with every
        attribute this module relies on (then use the public client method)."""
        if not fits(client):
            return None
        # aiobotocore's client and endpoint are coroutines: this transport is for the
        # synchronous client (aio_transport.py serves aiobotocore's).
        if is_async(client):
            return None
        try:
            return cls(client)
        except (AttributeError, ImportError):
            return None

    def _model(self, operation: str) -> Any:
        model = self._models.get(operation)
        if model is None:
            model = self._models[operation] = self._service.operation_model(operation)
        return model

    def _endpoint(
        self, model: Any, operation: str, params: dict[str, Any], context: dict[str, Any]
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """`client._resolve_endpoint_ruleset`, remembered per operation, tables and account.

        DynamoDB's ruleset reads Region, UseFIPS, UseDualStack, Endpoint and
        AccountIdEndpointMode (fixed when the client is made), IsSearchOperation (fixed per
        operation), ResourceArn / ResourceArnList (the table names of the call) and AccountId
        (the current credentials' account, which a refresh may change). The key holds the
        operation, every table name of the call in order and the account, so two calls with one
        key have the same ruleset inputs. Besides its answer, a resolution registers User-Agent
        feature ids and may set `auth_type` / `signing` in the request context: both are
        recorded and replayed. A `before-endpoint-resolution` handler may change the inputs per
        call: while one is registered nothing is remembered or reused.
        """
        key, hit = self._endpoint_remembered(operation, params, context)
        if hit is not None:
            return hit
        before = self._endpoint_before(context)
        answer = self._client._resolve_endpoint_ruleset(model, params, context)
        self._endpoint_remember(key, context, before, answer)
        return answer  # type: ignore[no-any-return]

    def _endpoint_remembered(
        self, operation: str, params: dict[str, Any], context: dict[str, Any]
    ) -> tuple[tuple[Any, ...] | None, tuple[str, dict[str, str], dict[str, Any]] | None]:
        """(the call's key, the remembered answer replayed into `context`, or None)."""
        key = self._endpoint_key(operation, params)
        if key is not None:
            hit = self._endpoints.get(key)
            if hit is not None:
                url, headers, properties, changes, features = hit
                if changes:
                    context.update(copy.deepcopy(changes))
                current = self._current_context()
                if current is not None:
                    # The codes the resolution registered (register_feature_id maps names to
                    # these codes), added at the point of the call where it added them.
                    for feature in features:
                        current.features.add(feature)
                return key, (url, headers, properties)
        return key, None

    def _endpoint_before(self, context: dict[str, Any]) -> tuple[dict[str, Any], set[Any]]:
        """What a resolution may change, taken before it runs."""
        before = {name: copy.deepcopy(context.get(name)) for name in _ENDPOINT_CONTEXT}
        current = self._current_context()
        return before, set(current.features) if current is not None else set()

    def _endpoint_remember(
        self,
        key: tuple[Any, ...] | None,
        context: dict[str, Any],
        taken: tuple[dict[str, Any], set[Any]],
        answer: tuple[str, dict[str, str], dict[str, Any]],
    ) -> None:
        before, seen = taken
        url, headers, properties = answer
        current = self._current_context()
        if (
            key is not None
            and current is not None
            and len(self._endpoints) < _ENDPOINTS_KEPT
            # Credentials refreshed into another account while resolving: which account the
            # resolution saw is unknown, so it is not remembered.
            and self._account() == key[2]
        ):
            changes = {
                name: copy.deepcopy(context[name])
                for name in _ENDPOINT_CONTEXT
                if name in context and context[name] != before[name]
            }
            features = [f for f in current.features if f not in seen]
            self._endpoints[key] = (url, dict(headers), dict(properties), changes, features)

    def _endpoint_key(self, operation: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        if self._resolution_hooks():
            return None
        try:
            if operation == "TransactWriteItems":
                tables: tuple[Any, ...] = tuple(
                    request.get("TableName")
                    for action in params["TransactItems"]
                    for request in action.values()
                )
            elif operation == "GetItem":
                tables = (params["TableName"],)
            else:
                return None
        except (AttributeError, KeyError, TypeError):
            return None
        return operation, tables, self._account()

    def _account(self) -> Any:
        # What the ruleset's AccountId builtin reads (credentials.get_deferred_property).
        credentials = self._client._request_signer._credentials
        return getattr(credentials, "account_id", None) if credentials is not None else None

    def _resolution_hooks(self) -> bool:
        """Whether a handler for `before-endpoint-resolution.dynamodb` is registered on the
        client's events (True when the emitter cannot say: then nothing is cached)."""
        events = self._client.meta.events
        try:
            registry = self._registry
            if registry is None or registry.events is not events:
                registry = self._registry = Registry(events)
            return bool(registry.of(f"before-endpoint-resolution.{self._service_id}")[1])
        except AttributeError:
            return True

    def _lean(self) -> EndpointLoop | None:
        """The loop, when this call may go through it and dispatch its events with its
        `Handlers`: the loop usable (adr/0018), the client's events the endpoint's, and the
        client's `_emit_api_params` botocore's own (mirrored in `_api_params`)."""
        loop = self._loop
        if (
            loop is None
            or not self._own_params
            or self._client.meta.events is not loop.events
            or "_emit_api_params" in vars(self._client)
            or not loop.usable()
        ):
            return None
        return loop

    def _api_params(
        self, events: Any, model: Any, params: dict[str, Any], context: dict[str, Any]
    ) -> dict[str, Any]:
        """`BaseClient._emit_api_params`: `provide-client-params` (a handler may answer other
        parameters), then `before-parameter-build`, both with the same arguments."""
        operation = model.name
        responses = events.emit(
            f"provide-client-params.{self._service_id}.{operation}",
            params=params,
            model=model,
            context=context,
        )
        params = self._first_non_none(responses, default=params)
        events.emit(
            f"before-parameter-build.{self._service_id}.{operation}",
            params=params,
            model=model,
            context=context,
        )
        return params

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """What `client.<operation>(**params)` returns, or the ClientError it raises."""
        with self._context():
            return self._call(operation, params)

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        client = self._client
        model = self._model(operation)
        context = self._request_context(model)
        loop = self._lean()
        events: Any = client.meta.events if loop is None else loop.handlers
        # The fast path's own serialisation swap must not run here: this module serialises.
        mark = fastpath.mark(False)
        try:
            if loop is None:
                params = client._emit_api_params(
                    api_params=params, operation_model=model, context=context
                )
            else:
                params = self._api_params(events, model, params, context)
        finally:
            fastpath.unmark(mark)
        url, headers, properties = self._endpoint(model, operation, params, context)
        request = self._request(model, operation, params, context, url, headers, properties)
        service_id = self._service_id
        _, answer = events.emit_until_response(
            f"before-call.{service_id}.{operation}",
            model=model,
            params=request,
            request_signer=client._request_signer,
            context=context,
        )
        if answer is not None:
            http, parsed = answer
        else:
            self._compress(client.meta.config, request, model)
            self._checksum(request)
            # The fast path's before-parse handler takes the items out of the JSON itself.
            mark = fastpath.mark(True)
            try:
                if loop is None:
                    http, parsed = client._endpoint.make_request(model, request)
                else:
                    http, parsed = loop.make_request(model, request)
            except Exception as exc:
                events.emit(
                    f"after-call-error.{service_id}.{operation}", exception=exc, context=context
                )
                raise
            finally:
                fastpath.unmark(mark)
        events.emit(
            f"after-call.{service_id}.{operation}",
            http_response=http,
            parsed=parsed,
            model=model,
            context=context,
        )
        return self._result(operation, context, http, parsed)

    def _request_context(self, model: Any) -> dict[str, Any]:
        """The request context, as _make_api_call builds it."""
        client = self._client
        config = client.meta.config
        if model.auth and config.auth_scheme_preference:
            auth_type = self._auth_preference(config.auth_scheme_preference.split(","), model.auth)
        else:
            auth_type = model.resolved_auth_type
        return {
            "client_region": client.meta.region_name,
            "client_config": config,
            "has_streaming_input": model.has_streaming_input,
            "auth_type": auth_type,
            "unsigned_payload": model.unsigned_payload,
            "auth_options": self._service.metadata.get("auth"),
        }

    def _request(
        self,
        model: Any,
        operation: str,
        params: dict[str, Any],
        context: dict[str, Any],
        url: str,
        headers: dict[str, str],
        properties: dict[str, Any],
    ) -> dict[str, Any]:
        """The request dict `_convert_to_request_dict` and `resolve_checksum_context` make."""
        if properties:
            context["endpoint_properties"] = properties
        try:
            body = encode_body(operation, params)
        except (TypeError, ValueError):
            # A value only botocore knows how to send (a set, a str blob): its own serialiser
            # (with its validation) writes the body.
            body = self._client._serializer.serialize_to_request(params, model)["body"]
        request: dict[str, Any] = {
            "url_path": "/",
            "query_string": "",
            "method": "POST",
            "headers": {
                "X-Amz-Target": f"{model.metadata['targetPrefix']}.{operation}",
                "Content-Type": f"application/x-amz-json-{model.metadata['jsonVersion']}",
            },
            "body": body,
        }
        if headers:
            request["headers"].update(headers)
        user_agent = self._user_agent
        if user_agent is None:
            # Built once: botocore's request-created handler rebuilds the header on every
            # attempt (with this call's feature ids), so this value never reaches the wire
            # unless a handler reads it before then (it equals the first build).
            user_agent = self._user_agent = self._client._user_agent_creator.to_string()
        # prepare_request_dict: the User-Agent header, the URL joined from the endpoint and the
        # request's path ("/", no query, no host prefix: the same URL for every call to one
        # endpoint, so it is joined by botocore once per endpoint), the context.
        request["headers"]["User-Agent"] = user_agent
        request["url"] = self._url(url)
        request["context"] = context
        self._checksum_context(request, model, params)
        return request

    def _url(self, endpoint_url: str) -> str:
        """The request URL `prepare_request_dict` joins for a JSON request to `endpoint_url`."""
        url = self._urls.get(endpoint_url)
        if url is None:
            probe: dict[str, Any] = {"url_path": "/", "query_string": "", "headers": {}}
            self._prepare(probe, endpoint_url=endpoint_url)
            url = probe["url"]
            if len(self._urls) < _ENDPOINTS_KEPT:
                self._urls[endpoint_url] = url
        return url

    def _result(
        self, operation: str, context: dict[str, Any], http: Any, parsed: Any
    ) -> dict[str, Any]:
        """The parsed answer, or the ClientError subclass `_make_api_call` raises."""
        if http.status_code >= 300:
            error = parsed.get("Error", {})
            code = context.get("error_code_override") or error.get("Code")
            raise self._client.exceptions.from_code(code)(parsed, operation)
        return parsed  # type: ignore[no-any-return]
