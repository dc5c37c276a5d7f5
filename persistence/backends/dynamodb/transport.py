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
  X-Amzn-Trace-Id header) and users' hooks run;
- the endpoint from the client's own ruleset resolver (endpoint_url, region, FIPS, dual-stack,
  account-id endpoints), remembered per operation, tables and account (see `_endpoint`);
- `client._endpoint.make_request`, so signing with the client's signer and credential provider
  (refresh included), the retry handlers and quotas, the amz-sdk-request header, the CRC32 check of
  DynamoDB responses and botocore's parsing of error responses are botocore's own code;
- the `ClientError` subclass `_make_api_call` would raise for a status >= 300.

What it skips is parameter validation (the library's requests are valid by construction: it builds
them from its own marshalled items), the model walk of serialisation, and the first of the two
User-Agent builds (the `request-created` handler rebuilds the header on every attempt anyway).

It relies on private botocore attributes. `Transport.of(client)` returns None when any is missing
or botocore is outside TESTED_BOTOCORE: the caller then uses the public client method.
"""

from __future__ import annotations

import base64
import copy
import inspect
import json
from typing import Any

from ... import fastjson
from . import fastpath

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


def _body(operation: str, params: dict[str, Any]) -> bytes:
    """The request body. A small request is byte for byte what botocore's JSONSerializer writes
    (it walks the parameters in the caller's key order and json.dumps them with default
    separators), so its wire form is botocore's. A transaction of several actions is the same
    document, compact and encoded by `fastjson` (orjson when installed, adr/0019): at 100
    actions the encoder is a tenth of the commit, and the fast path already sent such bodies
    compact before this module existed."""
    if operation == "TransactWriteItems" and len(params.get("TransactItems", ())) > 1:
        return fastjson.request_body(params)
    return json.dumps(params, default=_json_default, check_circular=False).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not part of a DynamoDB request")


def _tested_botocore() -> bool:
    import botocore

    try:
        version = tuple(int(part) for part in botocore.__version__.split(".")[:3])
    except ValueError:
        return False
    low, high = TESTED_BOTOCORE
    return low <= version < high


class Transport:
    """Sends DynamoDB JSON requests for one botocore client through its endpoint."""

    def __init__(self, client: Any) -> None:
        from botocore.auth import resolve_auth_scheme_preference
        from botocore.awsrequest import prepare_request_dict
        from botocore.compress import maybe_compress_request
        from botocore.context import get_context, start_as_current_context
        from botocore.httpchecksum import apply_request_checksum, resolve_checksum_context

        self._client = client
        self._events = client.meta.events
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
        self._current_context = get_context

    @classmethod
    def of(cls, client: Any) -> Transport | None:
        """The client's transport, or None when it is not a botocore DynamoDB client with every
        attribute this module relies on (then use the public client method)."""
        try:
            if client.meta.service_model.service_id.hyphenize() != "dynamodb":
                return None
            if client.meta.service_model.protocol != "json":
                return None
        except AttributeError:
            return None
        if not all(hasattr(client, name) for name in _REQUIRED) or not _tested_botocore():
            return None
        # aiobotocore's endpoint is a coroutine: this transport is for the synchronous client.
        if inspect.iscoroutinefunction(getattr(client._endpoint, "make_request", None)):
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
        key = self._endpoint_key(operation, params)
        if key is not None:
            hit = self._endpoints.get(key)
            if hit is not None:
                url, headers, properties, changes, features = hit
                context.update(copy.deepcopy(changes))
                current = self._current_context()
                if current is not None:
                    # The codes the resolution registered (register_feature_id maps names to
                    # these codes), added at the point of the call where it added them.
                    for feature in features:
                        current.features.add(feature)
                return url, headers, properties
        before = {name: copy.deepcopy(context.get(name)) for name in _ENDPOINT_CONTEXT}
        current = self._current_context()
        seen = set(current.features) if current is not None else set()
        url, headers, properties = self._client._resolve_endpoint_ruleset(model, params, context)
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
        return url, headers, properties

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
        """Whether a handler for `before-endpoint-resolution.dynamodb` is registered (True when
        the emitter cannot say: then nothing is cached)."""
        try:
            found = self._events._emitter._handlers.prefix_search(
                f"before-endpoint-resolution.{self._service_id}"
            )
        except AttributeError:
            return True
        return bool(found)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """What `client.<operation>(**params)` returns, or the ClientError it raises."""
        with self._context():
            return self._call(operation, params)

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        client = self._client
        model = self._model(operation)
        config = client.meta.config
        if model.auth and config.auth_scheme_preference:
            auth_type = self._auth_preference(config.auth_scheme_preference.split(","), model.auth)
        else:
            auth_type = model.resolved_auth_type
        # As _make_api_call builds it.
        context: dict[str, Any] = {
            "client_region": client.meta.region_name,
            "client_config": config,
            "has_streaming_input": model.has_streaming_input,
            "auth_type": auth_type,
            "unsigned_payload": model.unsigned_payload,
            "auth_options": self._service.metadata.get("auth"),
        }
        # The fast path's own serialisation swap must not run here: this module serialises.
        with fastpath.ours(False):
            params = client._emit_api_params(
                api_params=params, operation_model=model, context=context
            )
        url, headers, properties = self._endpoint(model, operation, params, context)
        if properties:
            context["endpoint_properties"] = properties
        try:
            body = _body(operation, params)
        except (TypeError, ValueError):
            # A value only botocore knows how to send (a set, a str blob): its own serialiser
            # (with its validation) writes the body.
            body = client._serializer.serialize_to_request(params, model)["body"]
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
            user_agent = self._user_agent = client._user_agent_creator.to_string()
        self._prepare(request, endpoint_url=url, context=context, user_agent=user_agent)
        self._checksum_context(request, model, params)
        service_id = self._service_id
        _, answer = self._events.emit_until_response(
            f"before-call.{service_id}.{operation}",
            model=model,
            params=request,
            request_signer=client._request_signer,
            context=context,
        )
        if answer is not None:
            http, parsed = answer
        else:
            self._compress(config, request, model)
            self._checksum(request)
            try:
                # The fast path's before-parse handler takes the items out of the JSON itself.
                with fastpath.ours(True):
                    http, parsed = client._endpoint.make_request(model, request)
            except Exception as exc:
                self._events.emit(
                    f"after-call-error.{service_id}.{operation}", exception=exc, context=context
                )
                raise
        self._events.emit(
            f"after-call.{service_id}.{operation}",
            http_response=http,
            parsed=parsed,
            model=model,
            context=context,
        )
        if http.status_code >= 300:
            error = parsed.get("Error", {})
            code = context.get("error_code_override") or error.get("Code")
            raise client.exceptions.from_code(code)(parsed, operation)
        return parsed  # type: ignore[no-any-return]
