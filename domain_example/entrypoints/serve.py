"""`python -m domain_example serve`: the API on a local port until Ctrl-C."""

from __future__ import annotations

from .http_server import make_server
from .lambda_handlers import make_handler
from .local import dynamodb_endpoint, local_container


def run_server(endpoint_url: str | None, table: str | None, host: str, port: int) -> int:
    with dynamodb_endpoint(endpoint_url) as (endpoint, embedded):
        container = local_container(endpoint, table)
        server = make_server(make_handler(lambda: container), host, port)
        bound_host, bound_port = server.server_address[:2]
        storage = "embedded moto server" if embedded else endpoint
        print(f"payments API on http://{bound_host}:{bound_port} ({storage}); Ctrl-C stops")
        print(
            f"  curl -s -XPOST http://{bound_host}:{bound_port}/accounts "
            '-d \'{"account_id":"a1","owner":"ann","currency":"EUR"}\'',
            flush=True,
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    return 0
