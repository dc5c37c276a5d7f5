"""An embedded moto DynamoDB server on 127.0.0.1 with a free port, for tests and the demo.

The real botocore HTTP path runs against it (serialisation, parsing, retries), which `mock_aws`
alone would skip. moto is lax about DynamoDB's limits; the library enforces them itself.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

REGION = "us-east-1"

# moto's TransactWriteItems deep-copies whole tables and puts the copies back when a transaction
# is cancelled; its server is threaded, so a cancelled transaction could restore a table over
# writes other requests committed meanwhile (and a read could see half a transaction). Real
# DynamoDB never does either. One lock around moto's operations restores that guarantee; it only
# affects a moto running in this process, and optimistic-locking conflicts still happen because
# each request is still a separate step.
_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "execute_statement",
    "execute_transaction",
    "get_item",
    "query",
    "scan",
    "batch_get_item",
    "transact_get_items",
)
_moto_lock = threading.RLock()  # re-entrant: a transaction calls put_item/update_item itself
_serialised = False


def serialise_moto_operations() -> None:
    """Idempotent; called by MotoServer before it serves requests."""
    global _serialised
    with _moto_lock:
        if _serialised:
            return
        from moto.dynamodb.models import DynamoDBBackend

        for name in _OPERATIONS:
            original = getattr(DynamoDBBackend, name, None)
            if original is not None:
                setattr(DynamoDBBackend, name, _locked(original))
        _serialised = True


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _moto_lock:
            return method(*args, **kwargs)

    return locked


# One boto3 session for every client `MotoServer.client()` makes: a new session parses
# DynamoDB's service model again (about a tenth of a second of CPU per client, most of a
# contract test's set-up). Each client still gets its own copy of the session's event hooks,
# so hooks registered on one client (request recording, fault injection) stay on it. Creating
# clients from one session is not thread-safe, hence the lock.
_session_lock = threading.Lock()


@functools.cache
def _shared_session() -> Any:
    import boto3

    return boto3.session.Session()


class MotoServer:
    """A moto DynamoDB server in this process, on 127.0.0.1 and a free port: `start()`,
    `client()`, `stop()`.
    """

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO; tests and the demo have better things to show.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.endpoint_url = ""

    def start(self) -> MotoServer:
        """Start serving; `endpoint_url` is set once it listens."""
        serialise_moto_operations()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        """Stop the server."""
        self._server.stop()

    def client(self, **config: Any) -> Any:
        """A boto3 DynamoDB client for this server (test credentials, 2 attempts); `config` is
        passed to botocore's Config.
        """
        from botocore.config import Config

        with _session_lock:
            session = _shared_session()
            return session.client("dynamodb", **self._client_settings(Config, config))

    def _client_settings(self, config_class: Any, config: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of a client for this server, botocore's or aiobotocore's
        (`config_class`): its endpoint, fake credentials, two standard-mode attempts unless
        `config` says otherwise."""
        retries = {"retries": {"max_attempts": 2, "mode": "standard"}}
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": REGION,
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
            "config": config_class(**(retries | config)),
        }

    def aio_client(self, **config: Any) -> Any:
        """An aiobotocore DynamoDB client for this server, with the settings of `client()`, to
        enter on the event loop that will use it: `async with server.aio_client() as client`.
        Needs the `async` extra (aiobotocore)."""
        # by name: aiobotocore is the optional `async` extra, and ships no type hints
        aio_config = importlib.import_module("aiobotocore.config").AioConfig
        session = importlib.import_module("aiobotocore.session").get_session()
        return session.create_client("dynamodb", **self._client_settings(aio_config, config))

    def reset(self) -> None:
        """Forget every table (moto's reset endpoint)."""
        import urllib.request

        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()


@contextmanager
def moto_server() -> Iterator[MotoServer]:
    """A started `MotoServer` for the `with` block (test credentials set if none are)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    server = MotoServer().start()
    try:
        yield server
    finally:
        server.stop()
