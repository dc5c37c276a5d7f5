"""A least-privilege IAM policy for the tables and indexes an application's mappings use.

Only the data-plane actions the library sends are granted, on the tables' and their indexes' ARNs:

- reads: GetItem, BatchGetItem, Query, Scan (Query and Scan also on `table/NAME/index/*` ARNs
  of the declared indexes, which is how DynamoDB authorises reads of an index);
- writes: PutItem, UpdateItem, DeleteItem, BatchWriteItem, and ConditionCheckItem for
  `uow.check(...)` inside a transaction.

TransactWriteItems is not an IAM action: DynamoDB authorises each action of a transaction as
the PutItem, UpdateItem, DeleteItem or ConditionCheckItem it contains (the
`dynamodb:EnclosingOperation` condition key can tell them apart), so granting those covers the
unit of work's commits. Table operations (CreateTable, UpdateTable, UpdateTimeToLive...) are
infrastructure, left to the deployment's own role.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .mapping import Mapping, Table

READ_ACTIONS = ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan")
INDEX_ACTIONS = ("dynamodb:Query", "dynamodb:Scan")
WRITE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
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


def iam_policy(
    *tables_or_mappings: Table | Mapping[Any],
    region: str = "*",
    account: str = "*",
    read_only: bool = False,
    partition: str = "aws",
) -> dict[str, Any]:
    """An IAM policy document (a dict ready for `json.dumps`, CloudFormation or Terraform)."""
    tables = _tables(tables_or_mappings)
    if not tables:
        raise ValueError("iam_policy needs at least one Table or Mapping")
    arns = [table_arn(t, region=region, account=account, partition=partition) for t in tables]
    index_arns = [
        f"{arn}/index/{index}"
        for table, arn in zip(tables, arns, strict=True)
        for index in sorted(table.indexes)
    ]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PersistenceReadTables",
            "Effect": "Allow",
            "Action": list(READ_ACTIONS),
            "Resource": arns,
        }
    ]
    if index_arns:
        statements.append(
            {
                "Sid": "PersistenceReadIndexes",
                "Effect": "Allow",
                "Action": list(INDEX_ACTIONS),
                "Resource": index_arns,
            }
        )
    if not read_only:
        statements.append(
            {
                "Sid": "PersistenceWriteTables",
                "Effect": "Allow",
                "Action": list(WRITE_ACTIONS),
                "Resource": arns,
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}
