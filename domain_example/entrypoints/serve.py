"""`python -m domain_example serve`: the API on a local port until Ctrl-C."""

from __future__ import annotations

from .local import dynamodb_endpoint, local_aio_container, local_container
from .web import create_app, listen, make_server


def run_server(
    endpoint_url: str | None, table: str | None, host: str, port: int, *, aio: bool = False
) -> int:
    """`aio`: the async app (aio_web.py), its aiobotocore client opened in the lifespan."""
    with dynamodb_endpoint(endpoint_url) as (endpoint, embedded):
        if aio:
            from . import aio_web

            app = aio_web.create_app(local_aio_container(endpoint, table))
            server = make_server(app, lifespan=True)
        else:
            server = make_server(create_app(local_container(endpoint, table)))
        sock = listen(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        storage = "embedded moto server" if embedded else endpoint
        kind = "async payments API" if aio else "payments API"
        print(f"{kind} on http://{bound_host}:{bound_port} ({storage}); Ctrl-C stops")
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
