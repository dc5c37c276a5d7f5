"""A botocore client whose HTTP layer is a function: client CPU is measured without a server.

`before-send` returns a prepared `AWSResponse` (status 200, the x-amz-crc32 header, the raw body),
so everything botocore does on the client (validation, serialisation, signing, parsing, the CRC
check) runs exactly as in production, and nothing else is timed.
"""

from __future__ import annotations

import binascii
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

Answer = Callable[[bytes], bytes]  # the raw request body -> the raw response body


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def response(body: bytes, status: int = 200) -> AWSResponse:
    headers = {
        "x-amz-crc32": str(binascii.crc32(body) & 0xFFFFFFFF),
        "content-type": "application/x-amz-json-1.0",
        "x-amzn-requestid": "bench",
    }
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", status, headers, _Raw(body))


def new_client(**config: Any) -> Any:
    return boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"mode": "standard", "max_attempts": 1}, **config),
    )


class Stub:
    """Answers by operation name; counts every request that would have gone out."""

    def __init__(self, client: Any, answers: dict[str, Answer] | None = None) -> None:
        self.client = client
        self.answers = dict(answers or {})
        self.requests: Counter[str] = Counter()
        client.meta.events.register("before-send.dynamodb", self._send)

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        target = request.headers["X-Amz-Target"]
        operation = (target.decode() if isinstance(target, bytes) else target).split(".")[-1]
        self.requests[operation] += 1
        answer = self.answers.get(operation)
        if answer is None:
            return response(b"{}")
        body = request.body
        return response(answer(body if isinstance(body, bytes) else (body or b"").encode()))
