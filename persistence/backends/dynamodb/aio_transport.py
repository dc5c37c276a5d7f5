"""The short path of transport.py (adr/0018) for aiobotocore clients.

`AioTransport` is `Transport` with its I/O awaited: the parameter part of aiobotocore's
`AioBaseClient._make_api_call` (its event emitter, `_emit_api_params` and
`_resolve_endpoint_ruleset` are coroutines) and `AioEndpointLoop`, `EndpointLoop` over
aiobotocore's `AioEndpoint._send_request` (its signer, `request-created` handlers, `before-send`,
`_send`, response conversion, checksum check, parser and `_needs_retry` with its sleep are
awaited). Everything that is not I/O (the request body, the request dict, the endpoint memory,
the remembered User-Agent, the 2xx `json.loads` read, the error raised) is transport.py's own
code, so both clients put the same bytes on the wire.

`AioTransport.of(client)` returns None unless the client is an aiobotocore DynamoDB client with
every private attribute relied on, aiobotocore is within TESTED_AIOBOTOCORE and botocore within
transport.TESTED_BOTOCORE: the caller then awaits the public client method.
"""

from __future__ import annotations

import json
from typing import Any

from . import fastpath
from .dispatch import AsyncHandlers, resolved
from .endpoint_loop import EndpointLoop
from .transport import Transport, fits, is_async

# The aiobotocore releases this module was tested against: [low, high).
TESTED_AIOBOTOCORE = ((3, 10, 0), (3, 11, 0))


def _tested_aiobotocore() -> bool:
    try:
        import aiobotocore  # type: ignore[import-untyped]

        version = tuple(int(part) for part in aiobotocore.__version__.split(".")[:3])
    except (ImportError, AttributeError, ValueError):
        return False
    low, high = TESTED_AIOBOTOCORE
    return low <= version < high


class AioTransport(Transport):
    """Sends DynamoDB JSON requests for one aiobotocore client through its endpoint."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        # aiobotocore's own: a trailer checksum wraps the body in its async stream.
        from aiobotocore.httpchecksum import apply_request_checksum  # type: ignore[import-untyped]

        self._checksum = apply_request_checksum

    @staticmethod
    def _loop_class() -> type[EndpointLoop]:
        return AioEndpointLoop

    @staticmethod
    def _client_class() -> type[Any]:
        from aiobotocore.client import AioBaseClient  # type: ignore[import-untyped]

        return AioBaseClient  # type: ignore[no-any-return]

    async def _aapi_params(
        self, events: AsyncHandlers, model: Any, params: dict[str, Any], context: dict[str, Any]
    ) -> dict[str, Any]:
        """`AioBaseClient._emit_api_params` (`Transport._api_params`, awaited)."""
        operation = model.name
        responses = await events.emit(
            f"provide-client-params.{self._service_id}.{operation}",
            params=params,
            model=model,
            context=context,
        )
        params = self._first_non_none(responses, default=params)
        await events.emit(
            f"before-parameter-build.{self._service_id}.{operation}",
            params=params,
            model=model,
            context=context,
        )
        return params

    @classmethod
    def of(cls, client: Any) -> AioTransport | None:
        """The client's transport, or None when it is not an aiobotocore DynamoDB client with
        every attribute relied on (then await the public client method)."""
        if not fits(client) or not is_async(client) or not _tested_aiobotocore():
            return None
        try:
            return cls(client)
        except (AttributeError, ImportError):
            return None

    async def _aendpoint(
        self, model: Any, operation: str, params: dict[str, Any], context: dict[str, Any]
    ) -> tuple[str, dict[str, str], dict[str, Any]]:
        """`Transport._endpoint` over the awaited `_resolve_endpoint_ruleset`."""
        key, hit = self._endpoint_remembered(operation, params, context)
        if hit is not None:
            return hit
        before = self._endpoint_before(context)
        answer = await self._client._resolve_endpoint_ruleset(model, params, context)
        self._endpoint_remember(key, context, before, answer)
        return answer  # type: ignore[no-any-return]

    async def acall(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """What `await client.<operation>(**params)` returns, or the ClientError it raises."""
        # botocore's synchronous context manager does what aiobotocore's asynchronous one does
        # (a copy of the current ClientContext set in the task's context for the call).
        with self._context():
            return await self._acall(operation, params)

    async def _acall(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        client = self._client
        model = self._model(operation)
        context = self._request_context(model)
        loop = self._lean()
        lean = loop if isinstance(loop, AioEndpointLoop) else None
        events: Any = client.meta.events if lean is None else lean.ahandlers
        # The fast path's own serialisation swap must not run here: this module serialises.
        mark = fastpath.mark(False)
        try:
            if lean is None:
                params = await client._emit_api_params(
                    api_params=params, operation_model=model, context=context
                )
            else:
                params = await self._aapi_params(lean.ahandlers, model, params, context)
        finally:
            fastpath.unmark(mark)
        url, headers, properties = await self._aendpoint(model, operation, params, context)
        request = self._request(model, operation, params, context, url, headers, properties)
        service_id = self._service_id
        _, answer = await events.emit_until_response(
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
                if lean is None:
                    http, parsed = await client._endpoint.make_request(model, request)
                else:
                    http, parsed = await lean.amake_request(model, request)
            except Exception as exc:
                await events.emit(
                    f"after-call-error.{service_id}.{operation}", exception=exc, context=context
                )
                raise
            finally:
                fastpath.unmark(mark)
        await events.emit(
            f"after-call.{service_id}.{operation}",
            http_response=http,
            parsed=parsed,
            model=model,
            context=context,
        )
        return self._result(operation, context, http, parsed)


class AioEndpointLoop(EndpointLoop):
    """`EndpointLoop` over aiobotocore's `AioEndpoint`: `_send_request` attempt by attempt with
    the same three differences (the User-Agent remembered, a 2xx body read with `json.loads`,
    `response-received` emitted only while it has a handler), every step awaited where
    aiobotocore awaits it: the `request-created` handlers (its signer's is a coroutine), the
    emitted events, `_send`, the response conversion, `handle_checksum_body`, the parser and
    `_needs_retry` (whose sleep is the endpoint's own, asyncio's or anyio's)."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        from aiobotocore.endpoint import convert_to_response_dict  # type: ignore[import-untyped]
        from aiobotocore.httpchecksum import handle_checksum_body

        self._endpoint._sleep  # noqa: B018 - awaited before a retry, as AioEndpoint does
        self.ahandlers = AsyncHandlers(self.events)
        # aiobotocore's coroutines (botocore's are the parent's _convert / _checksum_body).
        self._aconvert: Any = convert_to_response_dict
        self._acheck_body: Any = handle_checksum_body

    @staticmethod
    def _endpoint_class() -> type[Any]:
        from aiobotocore.endpoint import AioEndpoint

        return AioEndpoint  # type: ignore[no-any-return]

    # -- AioEndpoint._send_request

    async def amake_request(self, model: Any, request_dict: dict[str, Any]) -> tuple[Any, Any]:
        endpoint = self._endpoint
        attempts = 1
        context = request_dict["context"]
        endpoint._update_retries_context(context, attempts)
        request = await self._acreate_request(request_dict, model)
        success_response, exception = await self._aget_response(request, model, context)
        while await self._aneeds_retry(attempts, model, request_dict, success_response, exception):
            attempts += 1
            endpoint._update_retries_context(context, attempts, success_response)
            request.reset_stream()
            request = await self._acreate_request(request_dict, model)
            success_response, exception = await self._aget_response(request, model, context)
        if success_response is not None and "ResponseMetadata" in success_response[1]:
            success_response[1]["ResponseMetadata"]["RetryAttempts"] = attempts - 1
        if exception is not None:
            raise exception
        return success_response  # type: ignore[no-any-return]

    # -- AioEndpoint._needs_retry

    async def _aneeds_retry(
        self,
        attempts: int,
        model: Any,
        request_dict: dict[str, Any],
        response: Any,
        exception: BaseException | None,
    ) -> bool:
        """`AioEndpoint._needs_retry`: the needs-retry handlers awaited, the endpoint's own
        sleep (asyncio's or anyio's) awaited before a retry."""
        event, arguments = self._retry_event(attempts, model, request_dict, response, exception)
        delay = self._first_non_none(await self.ahandlers.emit(event, **arguments))
        if delay is None or delay is False:
            return False
        await self._endpoint._sleep(delay)
        return True

    # -- AioEndpoint.create_request

    async def _acreate_request(self, request_dict: dict[str, Any], model: Any) -> Any:
        request = self._request_object(request_dict, model)
        operation = model.name
        event, handlers = self.ahandlers.of(f"request-created.dynamodb.{operation}")
        for handler in handlers:
            if handler == self._ua_handler:
                self._user_agent(request)
            else:
                await resolved(handler(request=request, operation_name=operation, event_name=event))
        return self._prepared(request)

    # -- AioEndpoint._get_response / _do_get_response

    async def _aget_response(
        self, request: Any, model: Any, context: dict[str, Any]
    ) -> tuple[Any, BaseException | None]:
        success_response, exception = await self._ado_get_response(request, model, context)
        event = f"response-received.dynamodb.{model.name}"
        if self.ahandlers.of(event)[1]:
            kwargs: dict[str, Any] = {
                "response_dict": None,
                "parsed_response": None,
                "context": context,
                "exception": exception,
            }
            if success_response is not None:
                http_response, parsed_response = success_response
                kwargs["parsed_response"] = parsed_response
                kwargs["response_dict"] = await self._aconvert(http_response, model)
            await self.ahandlers.emit(event, **kwargs)
        return success_response, exception

    async def _ado_get_response(
        self, request: Any, model: Any, context: dict[str, Any]
    ) -> tuple[Any, BaseException | None]:
        operation = model.name
        try:
            responses = await self.ahandlers.emit(
                f"before-send.dynamodb.{operation}", request=request
            )
            http_response = self._first_non_none(responses)
            if http_response is None:
                http_response = await self._endpoint._send(request)
        except Exception as e:  # aiobotocore returns every send failure for needs-retry to judge
            return None, e
        response_dict = await self._aconvert(http_response, model)
        await self._acheck_body(http_response, response_dict, context, model)
        status = http_response.status_code
        event = f"before-parse.dynamodb.{operation}"
        parsed = None
        if 200 <= status < 300 and all(
            handler is fastpath.before_parse for handler in self.ahandlers.of(event)[1]
        ):
            parsed = await self._aparse_ok(response_dict, model)
        if parsed is None:
            customized: dict[str, Any] = {}
            await self.ahandlers.emit(
                event,
                operation_model=model,
                response_dict=response_dict,
                customized_response_dict=customized,
            )
            parser = self._factory.create_parser(model.service_model.resolved_protocol)
            parsed = await parser.parse(response_dict, model.output_shape)
            parsed.update(customized)
            if status >= 300:
                await self._add_modeled_error_fields(response_dict, parsed, model, parser)
        return (http_response, parsed), None

    async def _aparse_ok(self, response_dict: dict[str, Any], model: Any) -> dict[str, Any] | None:
        """`EndpointLoop._parse_ok` with aiobotocore's parser (a coroutine) for the rest."""
        read = self._read_ok(response_dict, model)
        if read is None:
            return None
        document, taken = read
        if document:
            rest = dict(response_dict, body=json.dumps(document).encode("utf-8"))
            parser = self._factory.create_parser(model.service_model.resolved_protocol)
            parsed: dict[str, Any] = await parser.parse(rest, model.output_shape)
        else:
            parsed = self._metadata(response_dict)
        if taken is not None:
            parsed[taken[0]] = taken[1]
        return parsed
