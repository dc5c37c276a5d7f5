"""`Endpoint.make_request` for the transport's requests, attempt by attempt (adr/0018).

`EndpointLoop` repeats `Endpoint._send_request` step by step and hands every decision to
botocore's own code: the retry context, the `request-created` handlers (the client's
RequestSigner with its credential chain and refresh, the retry headers, users' handlers),
`before-send` (a handler may answer), `_send`, the checksum handling, the `needs-retry` handlers
(retry modes, quotas, DynamoDB's CRC32 check) and the sleep they ask for, the retry-attempt
count, the exception raised. What it does differently changes no byte on the wire and no
decision, and each difference is listed on the class.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from typing import Any

from . import fastpath
from .dispatch import Handlers

# The Endpoint methods the loop below mirrors: an endpoint whose class or instance replaces any
# of them (a subclass, a test's mock of make_request) is used through make_request instead.
_MIRRORED = (
    "make_request",
    "_send_request",
    "create_request",
    "prepare_request",
    "_encode_headers",
    "_get_response",
    "_do_get_response",
    "_needs_retry",
)
# The Endpoint methods the loop calls as they are (botocore's code decides).
_CALLED = ("_update_retries_context", "_send")
_UA_KEPT = 64


@functools.cache
def _request_class() -> type[Any]:
    """`AWSRequest` whose `body` is its bytes when it holds bytes.

    `AWSRequest.body` prepares the whole request (headers copied, Content-Length worked out) to
    return `data`, and the SigV4 signer reads it once per signature. For a non-empty bytes body
    the preparer returns `data` itself, so this answers the same value without the copy. Every
    other body (empty, a dict of form fields, a stream) goes through the preparer as before.
    Made once, on first use, as botocore is imported lazily."""
    from botocore.awsrequest import AWSRequest

    class Request(AWSRequest):
        @property
        def body(self) -> Any:
            data = self.data
            if type(data) is bytes and data:
                return data
            return AWSRequest.body.fget(self)  # type: ignore[attr-defined]

    return Request


class EndpointLoop:
    """`Endpoint.make_request` for the library's own GetItem / TransactWriteItems, attempt by
    attempt as `Endpoint._send_request` does it, with these differences, none of which changes a
    byte on the wire or a decision:

    - events are dispatched by `Handlers` (the handlers `emit` would call, in order, with the
      same arguments) instead of through the emitter;
    - `request-created` handlers are called in their registered order with the event's
      arguments, except botocore's User-Agent rebuild, which is replaced by the same string
      remembered per distinct input (the feature ids of the call, in the order botocore joins
      them);
    - the request object is an `AWSRequest` whose `body` answers its bytes without preparing a
      copy of the request (`_request_class`), and the request sent is prepared in one pass
      (`_prepared`) where botocore first appends utf-8 copies of the headers to the request's
      own header list and then copies that list;
    - a 2xx answer is read with `json.loads` (binary values decoded as botocore's parser does,
      fastpath.py) into the dict botocore's parser returns, while `before-parse` has no handler
      other than the fast path's; otherwise botocore's parser runs;
    - `response-received` is emitted only while a handler is registered for it (emitting to no
      handler does nothing but build its arguments).
    """

    def __init__(self, client: Any) -> None:
        from botocore import endpoint as botocore_endpoint
        from botocore.awsrequest import AWSPreparedRequest, HeadersDict
        from botocore.context import get_context
        from botocore.history import get_global_history_recorder
        from botocore.hooks import first_non_none_response
        from botocore.httpchecksum import handle_checksum_body

        endpoint = client._endpoint
        kind = type(endpoint)
        base = self._endpoint_class()
        if not issubclass(kind, base) or any(
            getattr(kind, name) is not getattr(base, name) for name in _MIRRORED
        ):
            raise AttributeError("not the Endpoint class this loop mirrors")
        for name in _CALLED:
            getattr(endpoint, name)
        self._endpoint = endpoint
        self._client = client
        self.handlers = Handlers(endpoint._event_emitter)
        # The emitter the endpoint emits on (the client's `meta.events` unless replaced).
        self.events = self.handlers.events
        self._factory = endpoint._response_parser_factory
        self._add_modeled_error_fields = endpoint._add_modeled_error_fields
        self._request_class = _request_class()
        self._prepared_class = AWSPreparedRequest
        self._headers_dict = HeadersDict
        self._first_non_none = first_non_none_response
        self._convert = botocore_endpoint.convert_to_response_dict
        self._checksum_body = handle_checksum_body
        self._history = get_global_history_recorder()
        self._get_context = get_context
        self._ua_creator = client._user_agent_creator
        self._ua_handler = self._ua_creator.rebuild_and_replace_user_agent_handler
        self._ua_config = self._ua_creator._client_config
        self._ua_features = self._ua_creator._client_features
        self._user_agents: dict[tuple[str, ...], str] = {}
        # The botocore loggers whose debug lines this loop would not write (the endpoint's
        # request, retry and response lines, the emitter's per-handler lines, the parser's body
        # lines): with any at DEBUG, make_request runs and writes them.
        self._loggers = tuple(
            logging.getLogger(name)
            for name in ("botocore.endpoint", "botocore.hooks", "botocore.parsers")
        )

    @classmethod
    def of(cls, client: Any) -> EndpointLoop | None:
        try:
            return cls(client)
        except (AttributeError, ImportError):
            return None

    @staticmethod
    def _endpoint_class() -> type[Any]:
        """The endpoint class whose `_MIRRORED` methods this loop repeats."""
        from botocore.endpoint import Endpoint

        return Endpoint

    def usable(self) -> bool:
        """Whether the loop may stand in for make_request on this call: the client's endpoint,
        nothing replaced on it since, the User-Agent inputs of the client unchanged, and
        botocore's debug output off (its lines stay botocore's)."""
        if self._client._endpoint is not self._endpoint:
            return False
        if not vars(self._endpoint).keys().isdisjoint(_MIRRORED):
            return False
        if getattr(self._history, "_enabled", True) or any(
            logger.isEnabledFor(logging.DEBUG) for logger in self._loggers
        ):
            return False
        creator = self._client._user_agent_creator
        return (
            creator is self._ua_creator
            and creator._client_config is self._ua_config
            and creator._client_features is self._ua_features
        )

    # -- Endpoint._send_request

    def make_request(self, model: Any, request_dict: dict[str, Any]) -> tuple[Any, Any]:
        endpoint = self._endpoint
        attempts = 1
        context = request_dict["context"]
        endpoint._update_retries_context(context, attempts)
        request = self._create_request(request_dict, model)
        success_response, exception = self._get_response(request, model, context)
        while self._needs_retry(attempts, model, request_dict, success_response, exception):
            attempts += 1
            endpoint._update_retries_context(context, attempts, success_response)
            request.reset_stream()
            request = self._create_request(request_dict, model)
            success_response, exception = self._get_response(request, model, context)
        if success_response is not None and "ResponseMetadata" in success_response[1]:
            success_response[1]["ResponseMetadata"]["RetryAttempts"] = attempts - 1
        if exception is not None:
            raise exception
        return success_response  # type: ignore[no-any-return]

    # -- Endpoint._needs_retry

    def _needs_retry(
        self,
        attempts: int,
        model: Any,
        request_dict: dict[str, Any],
        response: Any,
        exception: BaseException | None,
    ) -> bool:
        event, arguments = self._retry_event(attempts, model, request_dict, response, exception)
        delay = self._first_non_none(self.handlers.emit(event, **arguments))
        if delay is None or delay is False:
            return False
        time.sleep(delay)  # botocore.endpoint's own `time.sleep`
        return True

    def _retry_event(
        self,
        attempts: int,
        model: Any,
        request_dict: dict[str, Any],
        response: Any,
        exception: BaseException | None,
    ) -> tuple[str, dict[str, Any]]:
        """The `needs-retry` event and the arguments `Endpoint._needs_retry` emits it with; the
        handlers' first non-None answer is the delay before a retry (None or False: none)."""
        arguments = {
            "response": response,
            "endpoint": self._endpoint,
            "operation": model,
            "attempts": attempts,
            "caught_exception": exception,
            "request_dict": request_dict,
        }
        return f"needs-retry.dynamodb.{model.name}", arguments

    # -- Endpoint.create_request

    def _create_request(self, request_dict: dict[str, Any], model: Any) -> Any:
        request = self._request_object(request_dict, model)
        operation = model.name
        event, handlers = self.handlers.of(f"request-created.dynamodb.{operation}")
        for handler in handlers:
            if handler == self._ua_handler:
                self._user_agent(request)
            else:
                handler(request=request, operation_name=operation, event_name=event)
        return self._prepared(request)

    def _request_object(self, request_dict: dict[str, Any], model: Any) -> Any:
        """`create_request_object(request_dict)` as `_request_class`, its stream flag set as
        `create_request` sets it."""
        r = request_dict
        request = self._request_class(
            method=r["method"],
            url=r["url"],
            data=r["body"],
            headers=r["headers"],
            auth_path=r.get("auth_path"),
        )
        request.context = r["context"]
        request.stream_output = model.has_streaming_output or model.has_event_stream_output
        return request

    def _prepared(self, request: Any) -> Any:
        """`Endpoint.prepare_request(request)` in one pass. botocore encodes the headers by
        assigning each str value anew as utf-8 bytes, which on the request's `HTTPHeaders`
        appends the bytes after all the existing headers, and the preparer then copies that list
        into a `HeadersDict` (one entry per name, later values replacing earlier ones). The
        same assignments, in the same order, are made here straight into the `HeadersDict`,
        leaving the request's own headers as they were; then Content-Length as the preparer
        adds it. A request with query parameters or a body other than non-empty bytes (nothing
        the library sends, but a handler may change it) is prepared by botocore."""
        body = request.data
        if request.params or type(body) is not bytes or not body:
            return self._endpoint.prepare_request(request)
        items = request.headers.items()
        headers: Any = self._headers_dict()
        for name, value in items:
            headers[name] = value
        for name, value in items:
            if isinstance(value, str):
                headers[name] = value.encode("utf-8")
        if "Transfer-Encoding" not in headers and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(body))
        return self._prepared_class(
            request.method, request.url, headers, body, request.stream_output, request.context
        )

    def _user_agent(self, request: Any) -> None:
        """`rebuild_and_replace_user_agent_handler`, its string remembered per input. What
        `UserAgentString.to_string` reads that can change between calls is the current
        context's feature ids (joined in the order of the union it builds); the rest is the
        client's (checked unchanged in `usable`)."""
        if not request.headers.get("User-Agent"):
            return
        current = self._get_context()
        features = (self._ua_features or set()).union(
            set() if current is None else current.features
        )
        key = tuple(features)
        value = self._user_agents.get(key)
        if value is None:
            value = self._ua_creator.to_string()
            if len(self._user_agents) < _UA_KEPT:
                self._user_agents[key] = value
        request.headers.replace_header("User-Agent", value)

    # -- Endpoint._get_response / _do_get_response

    def _get_response(
        self, request: Any, model: Any, context: dict[str, Any]
    ) -> tuple[Any, BaseException | None]:
        success_response, exception = self._do_get_response(request, model, context)
        event = f"response-received.dynamodb.{model.name}"
        if self.handlers.of(event)[1]:
            kwargs: dict[str, Any] = {
                "response_dict": None,
                "parsed_response": None,
                "context": context,
                "exception": exception,
            }
            if success_response is not None:
                http_response, parsed_response = success_response
                kwargs["parsed_response"] = parsed_response
                kwargs["response_dict"] = self._convert(http_response, model)
            self.handlers.emit(event, **kwargs)
        return success_response, exception

    def _do_get_response(
        self, request: Any, model: Any, context: dict[str, Any]
    ) -> tuple[Any, BaseException | None]:
        operation = model.name
        try:
            responses = self.handlers.emit(f"before-send.dynamodb.{operation}", request=request)
            http_response = self._first_non_none(responses)
            if http_response is None:
                http_response = self._endpoint._send(request)
        except Exception as e:  # botocore returns every send failure for needs-retry to judge
            return None, e
        response_dict = self._convert(http_response, model)
        self._checksum_body(http_response, response_dict, context, model)
        status = http_response.status_code
        event = f"before-parse.dynamodb.{operation}"
        parsed = None
        if 200 <= status < 300 and all(
            handler is fastpath.before_parse for handler in self.handlers.of(event)[1]
        ):
            parsed = self._parse_ok(response_dict, model)
        if parsed is None:
            customized: dict[str, Any] = {}
            self.handlers.emit(
                event,
                operation_model=model,
                response_dict=response_dict,
                customized_response_dict=customized,
            )
            parser = self._factory.create_parser(model.service_model.resolved_protocol)
            parsed = parser.parse(response_dict, model.output_shape)
            parsed.update(customized)
            if status >= 300:
                self._add_modeled_error_fields(response_dict, parsed, model, parser)
        return (http_response, parsed), None

    def _parse_ok(self, response_dict: dict[str, Any], model: Any) -> dict[str, Any] | None:
        """What botocore's JSON parser (after the fast path's before-parse) returns for a 2xx
        body, or None to let them run: the items decoded by the fast path, anything else in the
        body parsed by botocore's parser, the ResponseMetadata its `parse` writes."""
        read = self._read_ok(response_dict, model)
        if read is None:
            return None
        document, taken = read
        if document:
            # Not the library's common answer (ConsumedCapacity, ItemCollectionMetrics...):
            # botocore's parser reads the rest, as under the fast path's before-parse.
            rest = dict(response_dict, body=json.dumps(document).encode("utf-8"))
            parser = self._factory.create_parser(model.service_model.resolved_protocol)
            parsed: dict[str, Any] = parser.parse(rest, model.output_shape)
        else:
            parsed = self._metadata(response_dict)
        if taken is not None:
            parsed[taken[0]] = taken[1]
        return parsed

    def _read_ok(
        self, response_dict: dict[str, Any], model: Any
    ) -> tuple[dict[str, Any], tuple[str, Any] | None] | None:
        """(the 2xx body's JSON document without the items, the items taken by the fast
        path), or None when the body is not a JSON object."""
        body = response_dict["body"]
        if not isinstance(body, bytes):
            return None
        try:
            document = json.loads(body) if body else {}
        except ValueError:
            return None
        if not isinstance(document, dict):
            return None
        return document, fastpath.take_items(model.name, document, body)

    def _metadata(self, response_dict: dict[str, Any]) -> dict[str, Any]:
        """The parsed answer of an otherwise empty 2xx body: the ResponseMetadata botocore's
        `parse` writes."""
        headers: Any = response_dict["headers"]
        metadata: dict[str, Any] = {}
        if "x-amzn-requestid" in headers:
            metadata["RequestId"] = headers["x-amzn-requestid"]
        metadata["HTTPStatusCode"] = response_dict["status_code"]
        if type(headers) is self._headers_dict:
            # lowercase_dict(headers) without a case-insensitive lookup per header.
            lowered = {key._lower: value for key, value in headers._dict.items()}  # type: ignore[attr-defined]
        else:
            lowered = {key.lower(): headers[key] for key in headers}
        metadata["HTTPHeaders"] = lowered
        algorithm = response_dict.get("context", {}).get("checksum", {})
        algorithm = algorithm.get("response_algorithm")
        if algorithm:
            metadata["ChecksumAlgorithm"] = algorithm
        return {"ResponseMetadata": metadata}
