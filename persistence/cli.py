"""The command line: `python -m persistence GROUP ACTION ...`.

Commands come in groups (today only `tables`); each group registers its own sub-parser, so a
new group such as `iam-policy MODULE` is one more `register` function in `COMMAND_GROUPS`.
Every handler returns an exit code; failures become one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from . import tables as ops
from .errors import PersistenceError, TableError
from .model.mapping import Mapping, Table

Handler = Callable[[argparse.Namespace], int]
SubParsers = Any  # argparse's _SubParsersAction is private; its type is not worth importing

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line asks for something that needs confirmation or is ambiguous (exit 2)."""


# ---------------------------------------------------------------------------------- loading


def _import(module_name: str) -> Any:
    """The module `module_name`, or a UsageError that says how to make it importable."""
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise UsageError(
            f"cannot import {module_name!r} ({error}); give an importable module, run from the "
            "directory that holds it or set PYTHONPATH"
        ) from error


def load_tables(target: str) -> list[Table]:
    """The tables named by `MODULE[:ATTR]`: every Table (and the table of every Mapping) among
    the module's attributes, or only the object ATTR names (a dotted path is allowed)."""
    module_name, _, attr = target.partition(":")
    module = _import(module_name)
    if attr:
        obj: Any = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise UsageError(f"{module_name!r} has no attribute {attr!r}")
            obj = getattr(obj, part)
        candidates = [obj]
        if not isinstance(obj, Table | Mapping):
            raise UsageError(f"{target} is a {type(obj).__name__}, not a Table or a Mapping")
    else:
        candidates = [v for v in vars(module).values() if isinstance(v, Table | Mapping)]
    found = ops.tables_of(candidates)
    if not found:
        raise UsageError(f"module {module_name!r} holds no Table or Mapping objects")
    return found


def _client(args: argparse.Namespace) -> Any:
    import boto3

    return boto3.session.Session().client(
        "dynamodb", endpoint_url=args.endpoint_url, region_name=args.region
    )


def _timing(args: argparse.Namespace) -> dict[str, Any]:
    return {"timeout": args.timeout}


def _billing(args: argparse.Namespace) -> ops.Billing | None:
    text: str | None = args.provisioned
    if text is None:
        return ops.OnDemand() if getattr(args, "on_demand", False) else None
    try:
        read, write = (int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--provisioned takes READ,WRITE capacity units, got {text!r}") from None
    return ops.Provisioned(read, write)


# ---------------------------------------------------------------------------------- output


def _emit_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _print_rows(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [list(headers), *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _print_descriptions(described: Sequence[ops.TableDescription]) -> None:
    _print_rows(
        ["TABLE", "STATUS", "ITEMS", "SIZE", "KEYS", "BILLING", "TTL", "STREAM"],
        [
            [
                d.name,
                d.status,
                d.item_count,
                _size(d.size_bytes),
                ", ".join(k for k in (d.partition_key, d.sort_key) if k),
                d.billing
                if d.read_capacity is None
                else f"{d.billing} ({d.read_capacity}/{d.write_capacity})",
                d.ttl_attribute,
                d.stream,
            ]
            for d in described
        ],
    )
    indexes = [(d.name, i) for d in described for i in d.indexes]
    if indexes:
        print()
        _print_rows(
            ["TABLE", "INDEX", "KIND", "STATUS", "KEYS", "PROJECTION"],
            [
                [
                    table,
                    i.name,
                    i.kind,
                    i.status,
                    ", ".join(k for k in (i.partition_key, i.sort_key) if k),
                    i.projection
                    + (f" {list(i.projected_attributes)}" if i.projected_attributes else ""),
                ]
                for table, i in indexes
            ],
        )


def _print_diffs(diffs: Sequence[ops.TableDiff]) -> None:
    rows: list[list[object]] = []
    for diff in diffs:
        if diff.in_sync:
            rows.append([diff.table, "in sync", "", "", ""])
        for c in diff.changes:
            rows.append([diff.table, c.kind, c.index, "yes" if c.in_place else "NO", c.description])
    _print_rows(["TABLE", "CHANGE", "INDEX", "IN PLACE", "DESCRIPTION"], rows)


def _diff_json(diff: ops.TableDiff) -> dict[str, Any]:
    return {
        "table": diff.table,
        "in_sync": diff.in_sync,
        "needs_recreate": diff.needs_recreate,
        "changes": [dataclasses.asdict(c) for c in diff.changes],
    }


# ---------------------------------------------------------------------------------- tables


def _cmd_create(args: argparse.Namespace) -> int:
    client, billing = _client(args), _billing(args)
    done = []
    for table in load_tables(args.target):
        ops.create_table(client, table, billing, args.stream, **_timing(args))
        done.append(ops.describe_table(client, table))
    _report_descriptions(args, done)
    return EXIT_OK


def _cmd_ensure(args: argparse.Namespace) -> int:
    client, billing = _client(args), _billing(args)
    done = [
        ops.ensure_table(client, table, billing, args.stream, **_timing(args))
        for table in load_tables(args.target)
    ]
    _report_descriptions(args, done)
    return EXIT_OK


def _cmd_describe(args: argparse.Namespace) -> int:
    client = _client(args)
    _report_descriptions(args, [ops.describe_table(client, t) for t in load_tables(args.target)])
    return EXIT_OK


def _report_descriptions(args: argparse.Namespace, described: list[ops.TableDescription]) -> None:
    if args.json:
        _emit_json([dataclasses.asdict(d) for d in described])
    else:
        _print_descriptions(described)


def _cmd_diff(args: argparse.Namespace) -> int:
    client, billing = _client(args), _billing(args)
    diffs = [ops.diff_table(client, t, billing=billing) for t in load_tables(args.target)]
    if args.json:
        _emit_json([_diff_json(d) for d in diffs])
    else:
        _print_diffs(diffs)
    differs = any(not d.in_sync for d in diffs)
    return EXIT_FAILURE if args.exit_code and differs else EXIT_OK


def _cmd_update(args: argparse.Namespace) -> int:
    client, billing = _client(args), _billing(args)
    found = load_tables(args.target)
    if not args.yes:
        # Dropping or rebuilding an index breaks the code that reads it: ask first.
        risky = [
            f"{d.table}: {c.description}"
            for d in (ops.diff_table(client, t, billing=billing) for t in found)
            for c in d.changes
            if c.destructive
        ]
        if risky:
            raise UsageError(
                "update would remove or rebuild something running code may use ("
                + "; ".join(risky)
                + "); rerun with --yes to apply"
            )
    applied = [ops.update_table(client, t, billing=billing, **_timing(args)) for t in found]
    if args.json:
        _emit_json([_diff_json(d) for d in applied])
    else:
        for diff in applied:
            if diff.in_sync:
                print(f"{diff.table}: already in sync")
            for change in diff.changes:
                print(f"{diff.table}: applied: {change.description}")
    return EXIT_OK


def _cmd_delete(args: argparse.Namespace) -> int:
    found = load_tables(args.target)
    names = ", ".join(t.name for t in found)
    if not args.yes:
        raise UsageError(f"delete removes tables {names} and every item in them; rerun with --yes")
    client = _client(args)
    results = {t.name: ops.delete_table(client, t, **_timing(args)) for t in found}
    if args.json:
        _emit_json([{"table": n, "deleted": deleted} for n, deleted in results.items()])
    else:
        for name, deleted in results.items():
            print(f"{name}: {'deleted' if deleted else 'did not exist'}")
    return EXIT_OK


def _cmd_copy(args: argparse.Namespace) -> int:
    found = load_tables(args.target)
    if len(found) != 1:
        raise UsageError(
            f"copy needs exactly one source table, {args.target} holds "
            f"{[t.name for t in found]}; name one with MODULE:ATTR"
        )
    source = found[0]
    client = _client(args)
    target = ops.renamed(source, args.target_name)
    resuming = args.checkpoint is not None and Path(args.checkpoint).exists()
    if ops.describe_table(client, source).status != "ACTIVE":
        raise TableError(f"source table {source.name!r} is not ACTIVE; wait and retry")
    target_exists = _exists(client, target.name)
    if target_exists and not resuming and not args.yes and not ops.is_empty(client, target):
        raise UsageError(
            f"target table {target.name!r} already holds items; rerun with --yes to copy into it "
            "(items with the same key are overwritten)"
        )
    ops.ensure_table(client, target, _billing(args), **_timing(args))
    progress = None if args.json else ops.terminal_progress()
    result = ops.copy_table(
        client,
        source,
        target.name,
        segments=args.segments,
        checkpoint=args.checkpoint,
        progress=progress,
        page_size=args.page_size,
    )
    if args.json:
        _emit_json(dataclasses.asdict(result))
    else:
        print(
            f"copied {result.written} items from {result.source} to {result.target} "
            f"(scanned {result.scanned}, skipped {result.skipped}"
            f"{', resumed from checkpoint' if result.resumed else ''}); "
            f"{result.target} holds {result.target_count} items"
        )
    return EXIT_OK


def _exists(client: Any, name: str) -> bool:
    try:
        ops.describe_table(client, name)
    except TableError:
        return False
    return True


def _cmd_cloudformation(args: argparse.Namespace) -> int:
    found = load_tables(args.target)
    billing = _billing(args)
    relay = None
    if args.stream_relay:
        relay = ops.StreamRelay(args.stream_relay, view=args.stream or "NEW_IMAGE")
    options: dict[str, Any] = {"billing": billing, "stream": args.stream, "stream_relay": relay}
    if args.format == "yaml" and not args.json:
        sys.stdout.write(ops.to_cloudformation(*found, format="yaml", **options))
    else:
        _emit_json(ops.to_cloudformation(*found, format="json", **options))
    return EXIT_OK


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "target", metavar="MODULE[:ATTR]", help="importable module holding Table/Mapping objects"
    )
    common.add_argument("--endpoint-url", help="DynamoDB endpoint (DynamoDB Local, moto)")
    common.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        help="AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1)",
    )
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--timeout",
        type=float,
        default=ops.DEFAULT_TIMEOUT,
        help="seconds to wait for each table or index change (default: %(default)s)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log each operation")
    return common


def _schema_options(parser: argparse.ArgumentParser, stream: bool = True) -> None:
    parser.add_argument(
        "--provisioned",
        metavar="READ,WRITE",
        help="provisioned capacity (default: on demand for new tables)",
    )
    if stream:
        parser.add_argument("--stream", choices=ops.STREAM_VIEWS, help="enable a stream view")


def register_tables(groups: SubParsers) -> None:
    tables = groups.add_parser("tables", help="create, inspect, change, copy or export tables")
    actions = tables.add_subparsers(dest="action", metavar="ACTION", required=True)
    common = _common_options()

    def action(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(
            name, parents=[common], help=help_text, description=help_text
        )
        parser.set_defaults(handler=handler)
        return parser

    _schema_options(action("create", _cmd_create, "create the tables (fails if one exists)"))
    _schema_options(action("ensure", _cmd_ensure, "create missing tables, enable TTL, wait"))
    action("describe", _cmd_describe, "show status, size, indexes, billing and TTL")
    diff = action("diff", _cmd_diff, "compare the declared schema with the live tables")
    _schema_options(diff, stream=False)
    diff.add_argument("--exit-code", action="store_true", help="exit with 1 when a table differs")
    update = action("update", _cmd_update, "apply the diff, one index change at a time")
    _schema_options(update, stream=False)
    update.add_argument("--yes", action="store_true", help="allow removing or rebuilding indexes")
    delete = action("delete", _cmd_delete, "delete the tables and their items")
    delete.add_argument("--yes", action="store_true", help="confirm the deletion")
    copy = action("copy", _cmd_copy, "copy every item into another table with the same schema")
    copy.add_argument("--target", dest="target_name", required=True, metavar="NAME")
    copy.add_argument(
        "--checkpoint", metavar="FILE", help="JSON file to resume an interrupted copy"
    )
    copy.add_argument("--segments", type=int, default=4, help="parallel scan segments")
    copy.add_argument("--page-size", type=int, default=None, help="items per scan page")
    copy.add_argument("--yes", action="store_true", help="allow copying into a non-empty table")
    _schema_options(copy, stream=False)
    cfn = action("cloudformation", _cmd_cloudformation, "print a CloudFormation template")
    cfn.add_argument("--format", choices=("json", "yaml"), default="json")
    cfn.add_argument(
        "--stream-relay",
        metavar="TABLE",
        help="add TABLE's stream and the Lambda event source mapping of "
        "persistence.outbox_stream_handler on it (view: --stream, default NEW_IMAGE)",
    )
    _schema_options(cfn)


# A command group is a function that adds one sub-parser to the top-level group parser and
# sets `handler` on each of its commands. `python -m persistence iam-policy MODULE` belongs
# here as `register_iam_policy` (reusing `load_tables` and `_common_options`).
def _cmd_iam_policy(args: argparse.Namespace) -> int:
    from .iam import deployment_policy, iam_policy, stream_relay_policy

    arns = {"region": args.region, "account": args.account, "partition": args.partition}
    if args.stream_relay:
        if args.deployment or args.read_only or args.no_prewarm:
            raise UsageError("--stream-relay takes no --deployment, --read-only or --no-prewarm")
    elif args.marks:
        raise UsageError("--marks goes with --stream-relay")
    if args.stream_relay:
        policy = stream_relay_policy(*load_tables(args.target), marks=args.marks, **arns)
    elif args.deployment:
        if args.read_only or args.no_prewarm:
            raise UsageError("--deployment takes neither --read-only nor --no-prewarm")
        policy = deployment_policy(*load_tables(args.target), **arns)
    else:
        policy = iam_policy(
            *load_tables(args.target),
            read_only=args.read_only,
            prewarm=not args.no_prewarm,
            **arns,
        )
    print(json.dumps(policy, indent=2))
    return EXIT_OK


def register_iam_policy(groups: SubParsers) -> None:
    help_text = "print a least-privilege IAM policy (JSON) for the tables and indexes"
    parser = groups.add_parser("iam-policy", help=help_text, description=help_text)
    parser.add_argument(
        "target", metavar="MODULE[:ATTR]", help="importable module holding Table/Mapping objects"
    )
    parser.add_argument("--region", default="*", help="region in the ARNs (default: *)")
    parser.add_argument("--account", default="*", help="account id in the ARNs (default: *)")
    parser.add_argument("--partition", default="aws", help="ARN partition (default: aws)")
    parser.add_argument("--read-only", action="store_true", help="only the read actions")
    parser.add_argument(
        "--no-prewarm",
        action="store_true",
        help="leave out dynamodb:DescribeEndpoints (used by lambda_runtime.prewarm)",
    )
    parser.add_argument(
        "--deployment",
        action="store_true",
        help="the policy for `tables` commands (create, describe, update, delete, copy) instead",
    )
    parser.add_argument(
        "--stream-relay",
        action="store_true",
        help="the policy of a Lambda function running persistence.outbox_stream_handler on the "
        "tables' streams instead",
    )
    parser.add_argument(
        "--marks",
        action="store_true",
        help="with --stream-relay: the handler also marks what it published "
        "(outbox_stream_handler(..., client_or_store=...)): DeleteItem and PutItem on the tables",
    )
    parser.set_defaults(handler=_cmd_iam_policy)


def load_relay(target: str, client: Any) -> Any:
    """The relay `MODULE[:ATTR]` names: ATTR (default `relay`) is a callable taking the boto3
    DynamoDB client and returning an `OutboxRelay` (the module's outbox and publish function)."""
    from .messaging.outbox import OutboxRelay

    module_name, _, attr = target.partition(":")
    module = _import(module_name)
    factory: Any = module
    for part in (attr or "relay").split("."):
        if not hasattr(factory, part):
            raise UsageError(
                f"{module_name!r} has no attribute {attr or 'relay'!r}: name a function taking "
                "the DynamoDB client and returning an OutboxRelay (MODULE:ATTR)"
            )
        factory = getattr(factory, part)
    if not callable(factory):
        raise UsageError(f"{target} is a {type(factory).__name__}, not a callable")
    relay = factory(client)
    if not isinstance(relay, OutboxRelay):
        raise UsageError(f"{target}(client) returned a {type(relay).__name__}, not an OutboxRelay")
    return relay


def _cmd_relay(args: argparse.Namespace) -> int:
    import signal
    import threading

    relay = load_relay(args.target, _client(args))
    shards = None
    if args.workers is not None or args.worker is not None:
        if args.workers is None or args.worker is None:
            raise UsageError("--worker and --workers go together (e.g. --worker 0 --workers 4)")
        shards = relay.outbox.shards_for(args.worker, args.workers)
    if args.limit < 1 or args.idle_wait <= 0 or args.max_wait < args.idle_wait:
        raise UsageError("--limit must be >= 1 and 0 < --idle-wait <= --max-wait")
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()  # the relay finishes the event in hand, then returns

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    logging.getLogger("persistence.outbox").info(
        "relay_started", extra={"shards": shards if shards is not None else "all"}
    )
    total = relay.run(
        stop, limit=args.limit, shards=shards, idle_wait=args.idle_wait, max_wait=args.max_wait
    )
    print(f"relay stopped: {total} events published", file=sys.stderr)
    return EXIT_OK


def register_relay(groups: SubParsers) -> None:
    help_text = "run an outbox relay until SIGTERM or SIGINT (polls, backs off when idle)"
    parser = groups.add_parser("relay", help=help_text, description=help_text)
    parser.add_argument(
        "target",
        metavar="MODULE[:ATTR]",
        help="a callable taking the DynamoDB client and returning an OutboxRelay (ATTR "
        "defaults to `relay`)",
    )
    parser.add_argument("--endpoint-url", help="DynamoDB endpoint (DynamoDB Local, moto)")
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        help="AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1)",
    )
    parser.add_argument("--worker", type=int, help="this relay's index, with --workers")
    parser.add_argument("--workers", type=int, help="relays sharing the outbox's shards")
    parser.add_argument("--limit", type=int, default=100, help="events per run (default: 100)")
    parser.add_argument(
        "--idle-wait", type=float, default=0.05, help="first wait when idle, seconds"
    )
    parser.add_argument(
        "--max-wait", type=float, default=5.0, help="longest wait when idle, seconds"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each run")
    parser.set_defaults(handler=_cmd_relay)


COMMAND_GROUPS: tuple[Callable[[SubParsers], None], ...] = (
    register_tables,
    register_iam_policy,
    register_relay,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m persistence", description="Operations for persistence-mapped tables."
    )
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    for register in COMMAND_GROUPS:
        register(groups)
    return parser


class _EventFormatter(logging.Formatter):
    """One line per record: `[info     ] table_create   billing=PAY_PER_REQUEST table=orders`,
    the event name (the record's message) then the fields the library passed as `extra=`."""

    _STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        fields = sorted((k, v) for k, v in record.__dict__.items() if k not in self._STANDARD)
        shown = " ".join(f"{k}={v if isinstance(v, str) else repr(v)}" for k, v in fields)
        line = f"[{record.levelname.lower():<9}] {record.getMessage():<30} {shown}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _configure_logging(verbose: bool) -> None:
    # The CLI is an application: it may configure logging, but never over a caller's setup,
    # and logs go to stderr so that stdout stays parseable. Other libraries (botocore) keep the
    # default WARNING: -v is about this library's operations.
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_EventFormatter())
    root.addHandler(handler)
    logging.getLogger("persistence").setLevel(logging.INFO if verbose else logging.WARNING)


# botocore only says "Unable to locate credentials": say where they come from. A local endpoint
# (DynamoDB Local, moto) still needs a signed request, so any non-empty values do there.
NO_CREDENTIALS = (
    "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
    "naming a profile in ~/.aws/credentials (or run where a role provides them); against a local "
    "endpoint (--endpoint-url) any dummy values work, e.g. AWS_ACCESS_KEY_ID=local "
    "AWS_SECRET_ACCESS_KEY=local"
)
NO_REGION = (
    "no AWS region configured: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION); against "
    "a local endpoint any region works, e.g. --region us-east-1"
)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    handler: Handler = args.handler
    try:
        return handler(args)
    except UsageError as error:
        _fail(str(error))
        return EXIT_USAGE
    except NoCredentialsError:
        _fail(NO_CREDENTIALS)
        return EXIT_FAILURE
    except NoRegionError:
        _fail(NO_REGION)
        return EXIT_FAILURE
    except (PersistenceError, ClientError, BotoCoreError) as error:
        _fail(str(error))
        return EXIT_FAILURE
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130


def _fail(message: str) -> None:
    print("error: " + " ".join(message.split()), file=sys.stderr)
