"""`python -m domain_example serve`: the API on a local port until Ctrl-C."""

from __future__ import annotations

from .local import dynamodb_endpoint, local_container
from .web import create_app, listen, make_server


def run_server(endpoint_url: str | None, table: str | None, host: str, port: int) -> int:
    with dynamodb_endpoint(endpoint_url) as (endpoint, embedded):
        container = local_container(endpoint, table)
        server = make_server(create_app(container))
        sock = listen(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        storage = "embedded moto server" if embedded else endpoint
        print(f"payments API on http://{bound_host}:{bound_port} ({storage}); Ctrl-C stops")
        print(
            f"  curl -s -XPOST http://{bound_host}:{bound_port}/accounts "
            '-d \'{"account_id":"a1","owner":"ann","currency":"EUR"}\'',
            flush=True,
        )
        try:
            server.run(sockets=[sock])
        except KeyboardInterrupt:
            pass
        finally:
            sock.close()
    return 0
