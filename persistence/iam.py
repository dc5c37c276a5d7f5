"""Least-privilege IAM policies, generated from one table of the DynamoDB operations the library
sends and the IAM actions each one needs.

`OPERATIONS` is the single source of truth: `iam_policy` (the application's role) and
`deployment_policy` (the role that runs `python -m persistence tables ...`) grant exactly the
actions of the operations in their roles, and `tests/e2e/test_cli_iam.py` fails when the library
sends (or its source names) an operation that is not in the table.

What the table relies on (AWS documentation):

- TransactWriteItems is not an IAM action: DynamoDB authorises each action of a transaction as
  the PutItem, UpdateItem, DeleteItem or ConditionCheckItem it contains ("Using IAM with DynamoDB
  transactions", developerguide/transaction-apis-iam.html).
- Query and Scan of an index are authorised on the index ARN `table/NAME/index/INDEX`.
- DescribeEndpoints (sent by `lambda_runtime.prewarm`) is not authorised on the public endpoints,
  but through a VPC endpoint it needs `dynamodb:DescribeEndpoints` on resource "*"
  (developerguide/inter-network-traffic-privacy.html); it names no table and returns only the
  regional endpoint address.
- A Lambda function on a table's stream (`persistence.outbox_stream_handler`) needs, in its
  execution role, dynamodb:DescribeStream, GetRecords, GetShardIterator and ListStreams on
  the stream ARN `table/NAME/stream/*`: Lambda's event source mapping reads the stream with the
  function's role ("IAM policy to allow an AWS Lambda function to access DynamoDB stream
  records", developerguide/iam-policy-example-lamda-process-dynamodb-streams.html). These are
  DynamoDB Streams API operations the library itself never sends: `STREAM_OPERATIONS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from .model.mapping import Mapping, Table

Role = Literal["read", "write", "prewarm", "deployment", "stream_relay"]
Scope = Literal["table", "table_and_indexes", "any", "stream"]


@dataclass(frozen=True)
class Operation:
    """One DynamoDB API operation the library sends, and what IAM must allow for it."""

    name: str  # the API operation, as botocore names it ("GetItem")
    actions: tuple[str, ...]  # the IAM actions it needs (all of them, or per item: see `note`)
    scope: Scope  # the resources the actions are granted on
    roles: frozenset[Role]  # which generated policies grant it
    note: str = ""


def _op(
    name: str, scope: Scope, *roles: Role, actions: tuple[str, ...] = (), note: str = ""
) -> Operation:
    return Operation(name, actions or (f"dynamodb:{name}",), scope, frozenset(roles), note)


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        # The application: repositories, the unit of work, batches.
        _op("GetItem", "table", "read", note="repository.get, reads fixing the primary key"),
        _op("BatchGetItem", "table", "read", note="repository.get_many"),
        _op("Query", "table_and_indexes", "read", note="find/count/iterate"),
        _op(
            "Scan",
            "table_and_indexes",
            "read",
            "deployment",
            note="find without a key condition, scan_all; `tables copy` reads the source",
        ),
        _op("PutItem", "table", "write", note="repository.put"),
        _op("UpdateItem", "table", "write", note="repository.save"),
        _op("DeleteItem", "table", "write", note="repository.delete"),
        _op(
            "BatchWriteItem",
            "table",
            "write",
            "deployment",
            note="put_many/delete_many; `tables copy` writes the target",
        ),
        _op(
            "TransactWriteItems",
            "table",
            "write",
            actions=(
                "dynamodb:ConditionCheckItem",
                "dynamodb:DeleteItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
            ),
            note="unit of work commit: each item needs the action of its kind "
            "(Put/Update/Delete/ConditionCheck); there is no dynamodb:TransactWriteItems action",
        ),
        _op(
            "DescribeEndpoints",
            "any",
            "prewarm",
            note="lambda_runtime.prewarm; only authorised through VPC endpoints, on resource *",
        ),
        # The deployment: `python -m persistence tables ...` and persistence.tables.
        _op("CreateTable", "table", "deployment", note="tables create/ensure/copy"),
        _op("DescribeTable", "table", "deployment", note="every tables command; waiting"),
        _op("UpdateTable", "table", "deployment", note="tables update"),
        _op("DeleteTable", "table", "deployment", note="tables delete"),
        _op("DescribeTimeToLive", "table", "deployment", note="tables describe/diff/ensure"),
        _op("UpdateTimeToLive", "table", "deployment", note="tables create/ensure/update"),
    )
}

# Sent by Lambda's event source mapping (and persistence.testing.stream_poller), not by the
# library: the DynamoDB Streams API, authorised on the stream ARN.
STREAM_OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        _op("DescribeStream", "stream", "stream_relay", note="the mapping lists the shards"),
        _op("GetShardIterator", "stream", "stream_relay", note="the mapping reads each shard"),
        _op("GetRecords", "stream", "stream_relay", note="the batches the handler receives"),
        _op("ListStreams", "stream", "stream_relay", note="the mapping finds the stream"),
    )
}

_TRANSACT_KINDS = {
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Delete": "dynamodb:DeleteItem",
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
}


def required(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The (IAM action, resource) pairs one request needs; the resource is a table name,
    `NAME/index/INDEX`, or "*" for actions on no resource.

    KeyError when the operation is not in `OPERATIONS`: the table must be updated first.
    """
    entry = OPERATIONS[operation]
    if operation == "TransactWriteItems":
        for item in params["TransactItems"]:
            ((kind, request),) = item.items()
            yield _TRANSACT_KINDS[kind], request["TableName"]
    elif entry.scope == "any":
        for action in entry.actions:
            yield action, "*"
    elif "RequestItems" in params:
        for table in params["RequestItems"]:
            for action in entry.actions:
                yield action, table
    else:
        resource = params["TableName"]
        if params.get("IndexName"):
            resource += "/index/" + params["IndexName"]
        for action in entry.actions:
            yield action, resource


def actions(*roles: Role, scope: Scope | None = None) -> list[str]:
    """The IAM actions of the operations in any of `roles` (sorted, without duplicates)."""
    return sorted(
        {
            action
            for op in OPERATIONS.values()
            if op.roles & set(roles) and (scope is None or op.scope == scope)
            for action in op.actions
        }
    )


def _tables(objects: Iterable[Table | Mapping[Any]]) -> list[Table]:
    from .tables import tables_of

    return tables_of(objects)


def table_arn(
    table: Table | str, *, region: str = "*", account: str = "*", partition: str = "aws"
) -> str:
    """The ARN of a table (wildcards for region and account unless given), as IAM
    policies name it.
    """
    name = table.name if isinstance(table, Table) else table
    return f"arn:{partition}:dynamodb:{region}:{account}:table/{name}"


def _statements(
    sid: str,
    roles: tuple[Role, ...],
    tables: list[Table],
    arn: dict[str, str],
    prewarm: bool,
) -> list[dict[str, Any]]:
    """One statement on the tables, one on their indexes (only the actions DynamoDB authorises
    there), and one for DescribeEndpoints on "*" when asked."""
    arns = [arn[t.name] for t in tables]
    index_arns = [f"{arn[t.name]}/index/{index}" for t in tables for index in sorted(t.indexes)]
    on_tables = sorted(
        {
            a
            for op in OPERATIONS.values()
            if op.roles & set(roles) and op.scope != "any"
            for a in op.actions
        }
    )
    # The deployment only scans whole tables (`tables copy`): no index statement for it.
    on_indexes = actions(*roles, scope="table_and_indexes") if "read" in roles else []
    statements = [{"Sid": f"{sid}Tables", "Effect": "Allow", "Action": on_tables, "Resource": arns}]
    if index_arns and on_indexes:
        statements.append(
            {
                "Sid": f"{sid}Indexes",
                "Effect": "Allow",
                "Action": on_indexes,
                "Resource": index_arns,
            }
        )
    if prewarm:
        statements.append(
            {
                "Sid": "PersistencePrewarm",
                "Effect": "Allow",
                "Action": actions("prewarm"),
                "Resource": ["*"],
            }
        )
    return statements


def _arns(tables: list[Table], region: str, account: str, partition: str) -> dict[str, str]:
    return {
        t.name: table_arn(t, region=region, account=account, partition=partition) for t in tables
    }


def iam_policy(
    *tables_or_mappings: Table | Mapping[Any],
    region: str = "*",
    account: str = "*",
    read_only: bool = False,
    partition: str = "aws",
    prewarm: bool = True,
) -> dict[str, Any]:
    """The application's IAM policy document (a dict ready for `json.dumps`, CloudFormation or
    Terraform): the read (and, unless `read_only`, write) actions of `OPERATIONS` on the tables
    and, for Query and Scan, on their indexes; with `prewarm`, DescribeEndpoints on "*"."""
    tables = _tables(tables_or_mappings)
    if not tables:
        raise ValueError("iam_policy needs at least one Table or Mapping")
    roles: tuple[Role, ...] = ("read",) if read_only else ("read", "write")
    arn = _arns(tables, region, account, partition)
    statements = _statements("PersistenceApp", roles, tables, arn, prewarm)
    return {"Version": "2012-10-17", "Statement": statements}


def stream_arn(
    table: Table | str, *, region: str = "*", account: str = "*", partition: str = "aws"
) -> str:
    """The ARN pattern of a table's streams (`table/NAME/stream/*`: a new stream gets a new
    label), as IAM policies name it."""
    return table_arn(table, region=region, account=account, partition=partition) + "/stream/*"


def stream_relay_policy(
    *tables_or_mappings: Table | Mapping[Any],
    region: str = "*",
    account: str = "*",
    partition: str = "aws",
) -> dict[str, Any]:
    """The IAM policy of the Lambda function running `persistence.outbox_stream_handler`: the
    DynamoDB Streams actions of `STREAM_OPERATIONS` on the tables' streams, which Lambda's
    event source mapping uses to read them. The handler reads no table itself. Publishing (SNS,
    SQS, EventBridge...), the on-failure destination (sqs:SendMessage or sns:Publish on it) and
    CloudWatch Logs need their own statements."""
    tables = _tables(tables_or_mappings)
    if not tables:
        raise ValueError("stream_relay_policy needs at least one Table or Mapping")
    action_names = sorted({a for op in STREAM_OPERATIONS.values() for a in op.actions})
    arns = [stream_arn(t, region=region, account=account, partition=partition) for t in tables]
    statement = {
        "Sid": "PersistenceStreamRelay",
        "Effect": "Allow",
        "Action": action_names,
        "Resource": arns,
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def deployment_policy(
    *tables_or_mappings: Table | Mapping[Any],
    region: str = "*",
    account: str = "*",
    partition: str = "aws",
) -> dict[str, Any]:
    """The IAM policy for `python -m persistence tables ...` (and `persistence.tables`) on these
    tables: create, describe, update (indexes, billing, TTL), delete, and copy (Scan of the
    source, BatchWriteItem into the target: include the target table). Tags and KMS keys passed
    to `create_table` in Python need their own permissions, which this policy does not grant."""
    tables = _tables(tables_or_mappings)
    if not tables:
        raise ValueError("deployment_policy needs at least one Table or Mapping")
    arn = _arns(tables, region, account, partition)
    statements = _statements("PersistenceDeploy", ("deployment",), tables, arn, prewarm=False)
    return {"Version": "2012-10-17", "Statement": statements}
