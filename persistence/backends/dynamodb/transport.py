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
  account-id endpoints), resolved on every call;
- `client._endpoint.make_request`, so signing with the client's signer and credential provider
  (refresh included), the retry handlers and quotas, the amz-sdk-request header, the CRC32 check of
  DynamoDB responses and botocore's parsing of error responses are botocore's own code;
- the `ClientError` subclass `_make_api_call` would raise for a status >= 300.

What it skips is parameter validation (the library's requests are valid by construction: it builds
them from its own marshalled items), the model walk of serialisation, and the first of the two
User-Agent builds (the `request-created` handler rebuilds the header on every attempt anyway).

It relies on private botocore attributes. `Transport.of(client)` returns None when any is missing
(a test double, another botocore): the caller then uses the public client method.
"""

from __future__ import annotations

import base64
import json
from typing import Any

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
        from botocore.awsrequest import prepare_request_dict
        from botocore.compress import maybe_compress_request
        from botocore.context import start_as_current_context
        from botocore.httpchecksum import apply_request_checksum, resolve_checksum_context

        self._client = client
        self._events = client.meta.events
        self._service = client._service_model
        self._service_id = self._service.service_id.hyphenize()
        self._models: dict[str, Any] = {}
        self._prepare = prepare_request_dict
        self._compress = maybe_compress_request
        self._context = start_as_current_context
        self._checksum_context = resolve_checksum_context
        self._checksum = apply_request_checksum
        self._user_agent: str | None = None

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
        try:
            return cls(client)
        except (AttributeError, ImportError):
            return None

    def _model(self, operation: str) -> Any:
        model = self._models.get(operation)
        if model is None:
            model = self._models[operation] = self._service.operation_model(operation)
        return model

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """What `client.<operation>(**params)` returns, or the ClientError it raises."""
        with self._context():
            return self._call(operation, params)

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        client = self._client
        model = self._model(operation)
        config = client.meta.config
        # As _make_api_call builds it (an operation with `auth` and a configured preference
        # resolves its auth type there; DynamoDB's operations have none, checked in of()).
        context: dict[str, Any] = {
            "client_region": client.meta.region_name,
            "client_config": config,
            "has_streaming_input": model.has_streaming_input,
            "auth_type": model.resolved_auth_type,
            "unsigned_payload": model.unsigned_payload,
            "auth_options": self._service.metadata.get("auth"),
        }
        # The fast path's own serialisation swap must not run here: this module serialises.
        with fastpath.ours(False):
            params = client._emit_api_params(
                api_params=params, operation_model=model, context=context
            )
        url, headers, properties = client._resolve_endpoint_ruleset(model, params, context)
        if properties:
            context["endpoint_properties"] = properties
        # Byte for byte what botocore's JSONSerializer writes for these parameters: it walks them
        # in the caller's key order and json.dumps the result with default separators.
        try:
            body = json.dumps(params, default=_json_default, check_circular=False).encode("utf-8")
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
