"""`python -m domain_example`: the demo (default), `serve` (HTTP API) and `coldstart`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..log_config import configure_logging

DESCRIPTION = """\
A payments service built on persistence.

Without a command, runs the demo: accounts, deposits, concurrent transfers with retried
conflicts, a rejected overdraft, an idempotent retry, a query on each index and event-driven
statistics, then prints a summary. DynamoDB is an embedded moto server on 127.0.0.1 unless
--endpoint-url (or AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL) names another endpoint. Events
go through the outbox to an SNS topic and SQS queue on the same endpoint (in memory if it serves
neither, like DynamoDB Local).
"""


def _storage_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    parser.add_argument(
        "--endpoint-url",
        default=default,
        help="DynamoDB endpoint (e.g. http://localhost:8000); default: an embedded moto server",
    )
    parser.add_argument(
        "--table", default=default, help="table name (default: $PAYMENTS_TABLE or 'payments')"
    )
    parser.add_argument(
        "--log-level",
        default=default,
        choices=["debug", "info", "warning", "error"],
        help="log level; logs go to stderr (demo default: warning, serve default: info)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m domain_example",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _storage_options(parser)
    parser.add_argument("--threads", type=int, default=4, help="demo: transfer threads (4)")
    parser.add_argument("--transfers", type=int, default=8, help="demo: transfers per thread (8)")
    parser.add_argument("--json", action="store_true", help="demo: print the summary as JSON")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve the HTTP JSON API (Starlette on uvicorn)",
        description="Serve the API locally, e.g. "
        'curl -XPOST localhost:8080/accounts -d \'{"owner":"ann","currency":"EUR"}\'',
    )
    _storage_options(serve, argparse.SUPPRESS)  # SUPPRESS: keep values given before `serve`
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port; 0 picks a free one (8080)")
    serve.add_argument(
        "--aio",
        action="store_true",
        help="the async app: endpoints awaited over persistence.aio (aiobotocore)",
    )

    cold = commands.add_parser(
        "coldstart",
        help="measure the Lambda handler's cold-start phases in fresh processes",
    )
    _storage_options(cold, argparse.SUPPRESS)
    cold.add_argument("--runs", type=int, default=5, help="fresh processes to measure (5)")
    cold.add_argument("--memory", type=int, default=512, help="simulated function memory, MB")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        configure_logging(json=False, level=args.log_level or "info")
        from .serve import run_server

        return run_server(args.endpoint_url, args.table, args.host, args.port, aio=args.aio)
    if args.command == "coldstart":
        configure_logging(json=False, level=args.log_level or "warning")
        from .coldstart import run_coldstart

        return run_coldstart(args.endpoint_url, args.table, args.runs, args.memory)
    configure_logging(json=False, level=args.log_level or "warning")
    from .run_demo import run_demo

    return run_demo(args.endpoint_url, args.table, args.threads, args.transfers, args.json)


if __name__ == "__main__":
    sys.exit(main())
