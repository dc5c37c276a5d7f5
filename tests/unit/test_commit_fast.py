"""The cheap paths of a commit (adr/0019) change nothing a user can see: the transaction's size
limit is still decided on exact sizes, orjson's request body says what the standard library's
says, and a committed aggregate's snapshot (packed lazily) diffs exactly as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config

import persistence as p
from persistence import fastjson
from persistence.backends.actions import Update
from persistence.errors import TransactionTooLarge
from persistence.session.commit_planner import plan_commit
from persistence.testing.models import ACCOUNTS, Account


@pytest.fixture(params=[True, False], ids=["orjson", "stdlib"])
def encoder(request: pytest.FixtureRequest) -> Iterator[bool]:
    saved = fastjson._ORJSON
    fastjson._ORJSON = None if request.param else False
    if request.param and fastjson.orjson_module() is None:
        pytest.skip("orjson is not installed")
    yield request.param
    fastjson._ORJSON = saved


@dataclass
class Numbers:
    numbers_id: str
    values: list[int] = field(default_factory=list)


NUMBERS = p.Mapping(Numbers, p.Table("numbers", partition_key="numbers_id"))
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
BIG = 10**37 + 1  # 38 digits: 21 bytes for DynamoDB, 45 of JSON ({"N":"..."})


def test_the_transaction_limit_is_decided_on_exact_sizes(encoder: bool) -> None:
    # 12 items of 8,000 38-digit numbers: ~168 KB each for DynamoDB (2 MB in all, accepted), but
    # ~368 KB of JSON each (4.4 MB in all, over the 4 MB limit if the bound were taken as the size)
    uow = p.InMemoryUnitOfWork([NUMBERS])
    with uow:
        for i in range(12):
            uow.repository(Numbers).add(Numbers(f"n{i}", [BIG] * 8_000))
        uow.commit()
    with uow:
        assert len(uow.repository(Numbers).get(numbers_id="n11").values) == 8_000
    # and a transaction really over the limit is still refused, with the exact total
    uow = p.InMemoryUnitOfWork([NUMBERS])
    with uow:
        for i in range(25):
            uow.repository(Numbers).add(Numbers(f"m{i}", [BIG] * 8_000))
        with pytest.raises(TransactionTooLarge, match=r"writes 42\d{5} bytes"):
            uow.commit()


DOC = {
    "TransactItems": [
        {"Put": {"TableName": "t", "Item": {"pk": {"S": 'é€𝄞"\\\n\x00'}, "b": {"B": b"\x00\xff"}}}},
        {"Put": {"TableName": "t", "Item": {"pk": {"S": "x"}, "bs": {"BS": [b"a", b"\x80"]}}}},
    ],
    "ClientRequestToken": "t" * 32,
}


def test_the_request_body_says_what_the_standard_library_says(encoder: bool) -> None:
    body = fastjson.request_body(DOC)
    assert isinstance(body, bytes)
    parsed = json.loads(body.decode("utf-8"))  # valid UTF-8 JSON
    assert parsed["TransactItems"][0]["Put"]["Item"] == {
        "pk": {"S": 'é€𝄞"\\\n\x00'},
        "b": {"B": "AP8="},  # base64, as botocore sends binary
    }
    assert parsed["TransactItems"][1]["Put"]["Item"]["bs"] == {"BS": ["YQ==", "gA=="]}
    assert parsed == json.loads(
        json.dumps(DOC, default=lambda b: __import__("base64").b64encode(b).decode())
    )


def test_what_the_standard_library_refuses_is_refused(encoder: bool) -> None:
    for document in ({"a": datetime(2024, 1, 1, tzinfo=UTC)}, {"a": {1, 2}}, {"a": Decimal(1)}):
        with pytest.raises((TypeError, ValueError)):
            fastjson.request_body(document)


def test_a_lone_surrogate_is_encoded_as_the_standard_library_does(encoder: bool) -> None:
    # The validation refuses it before any request; the encoder itself never fails on it.
    assert json.loads(fastjson.request_body({"S": "a\ud800"})) == {"S": "a\ud800"}


def _client() -> Any:
    client = boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    sent: list[bytes] = []

    def send(request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        sent.append(request.body)

        class Raw:
            def stream(self, **_: Any) -> Iterator[bytes]:
                yield b"{}"

        headers = {"x-amz-crc32": "2745614147", "content-type": "application/x-amz-json-1.0"}
        return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 200, headers, Raw())

    client.meta.events.register("before-send.dynamodb", send)
    client.sent = sent
    return client


def test_a_commit_sends_the_same_document_with_either_encoder(encoder: bool) -> None:
    bodies = []
    for fast in (True, False):
        client = _client()
        uow = p.DynamoDBUnitOfWork(client, [ACCOUNTS], clock=lambda: NOW)
        uow.backend.fast_path = fast  # type: ignore[attr-defined]
        with uow:
            for name in ("Zoë", "Ω€𝄞", 'quote " and \\'):
                uow.repository(Account).add(Account(f"a-{name}", owner=name))
            uow.commit()
        document = json.loads(client.sent[0])
        document.pop("ClientRequestToken")
        bodies.append(document)
    assert bodies[0] == bodies[1]
    assert len(bodies[0]["TransactItems"]) == 3


def test_a_committed_aggregate_diffs_against_what_was_written() -> None:
    uow = p.InMemoryUnitOfWork([ACCOUNTS], clock=lambda: NOW)
    with uow:
        account = Account("a1", owner="Ann")
        uow.repository(Account).add(account)
        uow.commit()
        identity = uow._identity
        (entry,) = list(identity)
        assert entry.snapshot == ACCOUNTS.to_item(account)
        assert entry.snapshot is not entry.snapshot  # a fresh copy on every read
        assert plan_commit(identity, {}, [], [], None, NOW) == []  # unchanged: nothing to write
        account.owner = "Bob"
        (planned,) = plan_commit(identity, {}, [], [], None, NOW)
        assert isinstance(planned.action, Update)
        assert sorted(c.path[0] for c in planned.action.clauses) == [
            "gsi1pk",  # an index key derived from the owner
            "owner",
            "version",
        ]
        uow.commit()
        account.nickname = "B"
        (planned,) = plan_commit(identity, {}, [], [], None, NOW)
        assert sorted(c.path[0] for c in planned.action.clauses) == [
            "nickname",
            "version",
        ]


# ---------------------------------------------------------------------------- sound attributes


@dataclass
class Leaf:
    name: str
    amount: Decimal | None = None


@dataclass
class Node:
    """Recursive: its depth is data, so its attributes are always walked."""

    name: str
    children: list[Node] = field(default_factory=list)


def _deep_list(levels: int) -> Any:
    tp: Any = str
    for _ in range(levels):
        tp = list[tp]
    return tp


@dataclass
class Shapes:
    shapes_id: str
    leaf: Leaf | None = None
    leaves: list[Leaf] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)
    labels: dict[str, str] = field(default_factory=dict)
    anything: Any = None
    node: Node | None = None
    deep31: _deep_list(31) = None  # type: ignore[valid-type]
    deep32: _deep_list(32) = None  # type: ignore[valid-type]


SHAPES = p.Mapping(Shapes, p.Table("shapes", partition_key="pk"), key=p.Key(pk="S#{shapes_id}"))


def test_only_attributes_sound_by_construction_skip_the_structural_walk() -> None:
    assert SHAPES.converter.sound_fields == {"shapes_id", "leaf", "leaves", "tags", "deep31"}
    assert SHAPES.sound_attributes == {
        "shapes_id",
        "leaf",
        "leaves",
        "tags",
        "deep31",
        "pk",
        "_type",
    }


def _nest(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("shapes", "message"),
    [
        (Shapes("s", labels={"": "empty"}), r"Shapes\.labels: a map key is empty"),
        (Shapes("s", anything={"a": {"": 1}}), r"Shapes\.anything: a map key is empty"),
        (Shapes("s", deep32=_nest(32)), r"Shapes\.deep32: nested 33 levels deep"),
        (Shapes("s", anything=_nest(33)), r"Shapes\.anything: nested 33 levels deep"),
        (Shapes("s", node=Node("a", [Node("b", [Node("c")])])), None),
        (Shapes("s", deep31=_nest(31), leaves=[Leaf("a", Decimal(1))], labels={"a": "b"}), None),
    ],
)
def test_what_can_be_unsound_is_still_refused_before_any_request(
    encoder: bool, shapes: Shapes, message: str | None
) -> None:
    uow = p.InMemoryUnitOfWork([SHAPES])
    with uow:
        uow.repository(Shapes).add(shapes)
        if message is None:
            uow.commit()
            return
        with pytest.raises(p.ValidationError, match=message):
            uow.commit()
    assert uow.store.items("shapes") == []  # nothing written


def test_a_recursive_class_nested_too_deep_is_refused(encoder: bool) -> None:
    node = Node("leaf")
    for i in range(20):
        node = Node(f"n{i}", [node])  # two levels (M, L) per node: 41 levels
    uow = p.InMemoryUnitOfWork([SHAPES])
    with uow:
        uow.repository(Shapes).add(Shapes("s", node=node))
        with pytest.raises(p.ValidationError, match=r"Shapes\.node: nested 33 levels deep"):
            uow.commit()
    assert uow.store.items("shapes") == []
