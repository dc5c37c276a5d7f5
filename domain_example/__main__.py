"""A short tour of the library on an embedded moto server (or --endpoint-url)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from decimal import Decimal

import boto3

import persistence as p


@dataclass
class Account:
    account_id: str
    owner: str
    balance: Decimal = Decimal("0")
    deposits: int = 0
    version: int = 0
    events: list[object] = field(default_factory=list, compare=False, repr=False)


TABLE = p.Table(
    "tour",
    partition_key="pk",
    sort_key="sk",
    indexes=[p.GlobalIndex("by_owner", partition_key="gsi1pk", sort_key="gsi1sk")],
)
ACCOUNTS = p.Mapping(
    Account,
    TABLE,
    key=p.Key(pk="ACCOUNT#{account_id}", sk="ACCOUNT"),
    index_keys={"by_owner": p.Key(pk="OWNER#{owner}", sk="ACCOUNT#{account_id}")},
    version="version",
    counters=["deposits"],
)


def tour(client: object) -> None:
    client.create_table(  # type: ignore[attr-defined]
        TableName="tour",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_owner",
                "KeySchema": [
                    {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                    {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    uow = p.DynamoDBUnitOfWork(client, [ACCOUNTS], cursor_secret="tour")
    with uow:
        for i, owner in enumerate(["alice", "bob", "alice"]):
            uow.repository(Account).add(Account(f"a{i}", owner, Decimal(100 * (i + 1))))
        uow.commit()
    print("opened 3 accounts in one TransactWriteItems")
    with uow:
        repo = uow.repository(Account)
        a0, a1 = repo.get(account_id="a0"), repo.get(account_id="a1")
        a0.balance -= Decimal("25")
        a1.balance += Decimal("25")
        a1.deposits += 1
        uow.commit()
    print("moved 25 from a0 to a1 atomically, with version checks on both")
    with uow:
        repo = uow.repository(Account)
        spec = p.attr("owner") == "alice"
        print(f"{repo.explain(spec)}: alice owns {[a.account_id for a in repo.iterate(spec)]}")
        total = sum(a.balance for a in repo.iterate())
        print(f"money conserved: total balance {total}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--endpoint-url", help="a DynamoDB endpoint; default: an embedded moto server"
    )
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    if args.endpoint_url:
        tour(boto3.client("dynamodb", endpoint_url=args.endpoint_url, region_name=args.region))
        return
    from persistence.testing.moto_server import moto_server

    with moto_server() as server:
        print(f"embedded moto server at {server.endpoint_url}")
        tour(server.client())


if __name__ == "__main__":
    main()
