"""An embedded moto DynamoDB server on 127.0.0.1 with a free port, for tests and the demo.

The real botocore HTTP path runs against it (serialisation, parsing, retries), which `mock_aws`
alone would skip. moto is lax about DynamoDB's limits; the library enforces them itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

REGION = "us-east-1"


class MotoServer:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO; tests and the demo have better things to show.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def start(self) -> MotoServer:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    def client(self, **config: Any) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(**({"retries": {"max_attempts": 2, "mode": "standard"}} | config)),
        )

    def reset(self) -> None:
        """Forget every table (moto's reset endpoint)."""
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()
