"""Reads and writes beyond the unit of work, on both backends (issue #5).

Every test runs against the in-memory store and against the moto server (the real botocore HTTP
path). Requests sent to DynamoDB are captured with botocore `before-call` hooks; UnprocessedItems
are injected by a wrapper backend (memory) or by a `before-call` hook that answers the
BatchWriteItem itself after forwarding part of it (DynamoDB), so the real response mapping runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence import tables as table_ops
from persistence.backends.actions import Delete, Put
from persistence.backends.base import BatchRequests
from persistence.backends.dynamodb.backend import DynamoDBBackend
from persistence.backends.memory.store import InMemoryStore
from persistence.errors import (
    BatchIncomplete,
    ConcurrencyConflict,
    ConditionFailed,
    InvalidCursor,
    NotFound,
    ValidationError,
)
from persistence.model.keys import Key
from persistence.model.mapping import GlobalIndex, LocalIndex, Mapping, Table
from persistence.query.specification import attr
from persistence.repository import Repository
from persistence.retry import Backoff
from persistence.session.unit_of_work import UnitOfWork
from persistence.testing.harness import capture


@dataclass
class Account:
    branch: str
    account_id: str
    owner: str
    balance: Decimal = Decimal("0")
    deposits: int = 0
    tags: set[str] = field(default_factory=set)
    history: list[str] = field(default_factory=list)
    nickname: str | None = None
    note: str | None = None
    status: str = "open"
    opened: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    expires_at: int | None = None
    version: int = 0
    events: list[object] = field(default_factory=list, compare=False, repr=False)


bank = Table(
    "access_bank",
    partition_key="pk",
    sort_key="sk",
    indexes=[
        GlobalIndex("by_owner", partition_key="gsi1pk", sort_key="gsi1sk"),
        GlobalIndex("by_nick", partition_key="gsi2pk"),
        GlobalIndex("by_status", partition_key="status", sort_key="opened", projection="KEYS_ONLY"),
        LocalIndex("by_opened", sort_key="opened", projection=["balance"]),
    ],
    ttl_attribute="expires_at",
)
accounts = Mapping(
    Account,
    bank,
    key=Key(pk="BRANCH#{branch}", sk="ACCOUNT#{account_id}"),
    index_keys={
        "by_owner": Key(pk="OWNER#{owner}", sk="ACCOUNT#{account_id}"),
        "by_nick": Key(pk="NICK#{nickname}"),
    },
    version="version",
    counters=["deposits"],
    created_at="created_at",
    updated_at="updated_at",
    ttl="expires_at",
)
KEY = {"branch": "b1", "account_id": "a1"}
WIRE_KEY = {"pk": {"S": "BRANCH#b1"}, "sk": {"S": "ACCOUNT#a1"}}


def account(i: int, **changes: Any) -> Account:
    values: dict[str, Any] = {
        "branch": "b1",
        "account_id": f"a{i:04d}",
        "owner": f"o{i % 5}",
        "opened": i,
    }
    return Account(**(values | changes))


# ---------------------------------------------------------------------------------- fixtures


class Env:
    """One backend with a repository over it, and a view of what was stored and sent."""

    def __init__(self, kind: str, backend: Any, client: Any = None) -> None:
        self.kind = kind
        self.backend = backend
        self.client = client
        self.sleeps: list[float] = []
        self.sent: dict[str, list[dict[str, Any]]] = {}
        if client is not None:
            for operation in ("UpdateItem", "PutItem", "DeleteItem", "Query", "Scan"):
                self.sent[operation] = capture(client, operation)

    def repo(self, backend: Any = None) -> Repository[Account]:
        return Repository(
            backend if backend is not None else self.backend,
            accounts,
            cursor_secret="access-tests",
            backoff=Backoff(attempts=8, sleep=self.sleeps.append),
        )

    def stored(self, key: dict[str, Any] | None = None) -> dict[str, Any] | None:
        return self.backend.get_item(bank.name, key or WIRE_KEY, True)  # type: ignore[no-any-return]

    def all_items(self) -> list[dict[str, Any]]:
        if self.client is None:
            return self.backend.items(bank.name)  # type: ignore[no-any-return]
        out: list[dict[str, Any]] = []
        for page in self.client.get_paginator("scan").paginate(TableName=bank.name):
            out.extend(page["Items"])
        return out

    def last(self, operation: str) -> dict[str, Any] | None:
        calls = self.sent.get(operation)
        return calls[-1] if calls else None


@pytest.fixture(params=["memory", "dynamodb"])
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    if request.param == "memory":
        yield Env("memory", InMemoryStore())
        return
    client = request.getfixturevalue("dynamodb_client")
    table_ops.create_table(client, bank, poll_interval=0.01, timeout=10)
    yield Env("dynamodb", DynamoDBBackend(client), client)


@pytest.fixture
def repo(env: Env) -> Repository[Account]:
    return env.repo()


@pytest.fixture
def stored(repo: Repository[Account]) -> Account:
    a = Account("b1", "a1", "alice", Decimal("10"), tags={"x"}, history=["h1", "h2"])
    repo.put(a)
    return a


# ---------------------------------------------------------------------------------- builder


def test_set_follows_derived_index_keys_and_bumps_version(
    env: Env, repo: Repository[Account], stored: Account
) -> None:
    before = env.stored()
    assert before is not None and before["gsi1pk"] == {"S": "OWNER#alice"}
    updated = repo.update(**KEY).set("owner", "bob").set("balance", Decimal("12.5")).execute()
    assert updated.owner == "bob" and updated.balance == Decimal("12.5")
    assert updated.version == stored.version + 1
    assert updated.updated_at is not None and updated.updated_at >= (stored.updated_at or 0)
    item = env.stored()
    assert item is not None
    assert item["gsi1pk"] == {"S": "OWNER#bob"} and item["gsi1sk"] == {"S": "ACCOUNT#a1"}
    assert [a.account_id for a in repo.find(attr("owner") == "bob", index="by_owner")] == ["a1"]
    assert list(repo.find(attr("owner") == "alice", index="by_owner")) == []
    sent = env.last("UpdateItem")
    if sent is not None:
        expression = sent["UpdateExpression"]
        names = sent["ExpressionAttributeNames"]
        assert expression.startswith("SET ") and " ADD " in expression
        assert set(names.values()) >= {"owner", "balance", "gsi1pk", "gsi1sk", "updated_at"}
        assert "bob" not in expression and "owner" not in expression  # placeholders only
        assert "attribute_exists" in sent["ConditionExpression"]


def test_set_none_removes_the_attribute_and_leaves_the_sparse_index(
    env: Env, repo: Repository[Account], stored: Account
) -> None:
    repo.update(**KEY).set("nickname", "al").execute()
    item = env.stored()
    assert item is not None and item["gsi2pk"] == {"S": "NICK#al"}
    assert [a.account_id for a in repo.find(attr("nickname") == "al", index="by_nick")] == ["a1"]
    again = repo.update(**KEY).set("nickname", None).execute()
    assert again.nickname is None
    item = env.stored()
    assert item is not None and "nickname" not in item and "gsi2pk" not in item
    sent = env.last("UpdateItem")
    if sent is not None:
        assert sent["UpdateExpression"].count("REMOVE") == 1
        assert {"nickname", "gsi2pk"} <= set(sent["ExpressionAttributeNames"].values())


def test_counters_add_without_a_version_bump(
    env: Env, repo: Repository[Account], stored: Account
) -> None:
    first = repo.update(**KEY).increment("deposits").execute()
    second = repo.update(**KEY).add("deposits", 5).execute()
    third = repo.update(**KEY).decrement("deposits").execute()
    assert (first.deposits, second.deposits, third.deposits) == (1, 6, 5)
    assert third.version == stored.version  # ADD commutes: nobody has to conflict
    balance = repo.update(**KEY).add("balance", Decimal("-2.5")).execute()
    assert balance.balance == Decimal("7.5") and balance.version == stored.version + 1
    sent = env.last("UpdateItem")
    if sent is not None:
        assert sent["UpdateExpression"].startswith("SET ")
        assert "ADD" in sent["UpdateExpression"]


def test_set_if_not_exists_only_fills_a_missing_field(
    env: Env, repo: Repository[Account], stored: Account
) -> None:
    filled = repo.update(**KEY).set_if_not_exists("note", "first").execute()
    kept = repo.update(**KEY).set_if_not_exists("note", "second").execute()
    assert filled.note == "first" and kept.note == "first"
    sent = env.last("UpdateItem")
    if sent is not None:
        assert "if_not_exists(" in sent["UpdateExpression"]
    # Its result is unknown before the write, so a field that feeds an index key is refused.
    with pytest.raises(ValidationError, match="by_nick"):
        repo.update(**KEY).set_if_not_exists("nickname", "al").execute()


def test_list_operations(env: Env, repo: Repository[Account], stored: Account) -> None:
    assert repo.update(**KEY).append_to_list("history", ["h3"]).execute().history == [
        "h1",
        "h2",
        "h3",
    ]
    assert repo.update(**KEY).prepend_to_list("history", ["h0"]).execute().history == [
        "h0",
        "h1",
        "h2",
        "h3",
    ]
    assert repo.update(**KEY).set_list_element("history", 1, "H1").execute().history == [
        "h0",
        "H1",
        "h2",
        "h3",
    ]
    assert repo.update(**KEY).remove_from_list_at("history", 0).execute().history == [
        "H1",
        "h2",
        "h3",
    ]
    sent = env.last("UpdateItem")
    if sent is not None:
        assert "[0]" in sent["UpdateExpression"] and "REMOVE" in sent["UpdateExpression"]


def test_set_operations(env: Env, repo: Repository[Account], stored: Account) -> None:
    assert repo.update(**KEY).add_to_set("tags", {"y", "z"}).execute().tags == {"x", "y", "z"}
    assert repo.update(**KEY).delete_from_set("tags", ["x", "y"]).execute().tags == {"z"}
    emptied = repo.update(**KEY).delete_from_set("tags", ["z"]).execute()
    assert emptied.tags == set()
    item = env.stored()
    assert item is not None and "tags" not in item  # DynamoDB drops a set that became empty
    sent = env.last("UpdateItem")
    if sent is not None:
        assert "DELETE" in sent["UpdateExpression"]


def test_ttl_field_is_stored_as_epoch_seconds(
    env: Env, repo: Repository[Account], stored: Account
) -> None:
    updated = repo.update(**KEY).set("expires_at", 1_900_000_000).execute()
    assert updated.expires_at == 1_900_000_000
    item = env.stored()
    assert item is not None and item["expires_at"] == {"N": "1900000000"}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda b: b.set("colour", "red"), "Account has no field 'colour'"),
        (lambda b: b.set("account_id", "a2"), "primary key"),
        (lambda b: b.set("version", 9), "condition_version"),
        (lambda b: b.set("balance", 1).remove("balance"), "overlap"),
        (lambda b: b.set("history", ["a"]).set_list_element("history", 0, "b"), "overlap"),
        (lambda b: b.add_to_set("tags", set()), "at least one member"),
        (lambda b: b.remove("owner"), "required"),
        (lambda b: b.add("owner", 1), "number fields"),
        (lambda b: b.set("balance", "lots"), "Account.balance"),
        (lambda b: b.set("balance", Decimal("NaN")), "Account.balance"),
        (lambda b: b.append_to_list("tags", ["a"]), "not a list field"),
        (lambda b: b.condition(attr("colour") == "red").set("owner", "x"), "colour"),
        (lambda b: b, "nothing to change"),
        (lambda b: b.return_values("EVERYTHING"), "return_values"),  # type: ignore[arg-type]
    ],
)
def test_builder_refuses_bad_updates_before_any_request(
    env: Env,
    repo: Repository[Account],
    stored: Account,
    build: Callable[[Any], Any],
    message: str,
) -> None:
    before = env.stored()
    calls = len(env.sent.get("UpdateItem", []))
    with pytest.raises(ValidationError, match=message):
        build(repo.update(**KEY)).execute()
    assert env.stored() == before
    assert len(env.sent.get("UpdateItem", [])) == calls


def test_index_key_needs_all_its_fields(repo: Repository[Account], stored: Account) -> None:
    @dataclass
    class Doc:
        doc_id: str
        kind: str = "a"
        day: str = "d"
        events: list[object] = field(default_factory=list)

    table = Table("docs", partition_key="pk", indexes=[GlobalIndex("by_kind", "gk")])
    docs = Mapping(
        Doc, table, key=Key(pk="{doc_id}"), index_keys={"by_kind": Key(pk="{kind}#{day}")}
    )
    store = InMemoryStore()
    doc_repo = Repository(store, docs, cursor_secret="s")
    doc_repo.put(Doc("d1"))
    with pytest.raises(ValidationError, match=r"also needs \['day'\]"):
        doc_repo.update(doc_id="d1").set("kind", "b").execute()
    doc_repo.update(doc_id="d1").set("kind", "b").set("day", "e").execute()
    item = store.get_item("docs", {"pk": {"S": "d1"}}, True)
    assert item is not None and item["gk"] == {"S": "b#e"}


def test_conditions(env: Env, repo: Repository[Account], stored: Account) -> None:
    with pytest.raises(ConditionFailed) as failed:
        repo.update(**KEY).set("owner", "bob").condition(attr("balance") > 100).execute()
    assert not isinstance(failed.value, ConcurrencyConflict)
    with pytest.raises(ConditionFailed):
        repo.update(**KEY).set("owner", "bob").condition_exists("nickname").execute()
    stored_item = env.stored()
    assert stored_item is not None and stored_item["owner"] == {"S": "alice"}
    ok = repo.update(**KEY).set("owner", "bob").condition_not_exists("nickname").execute()
    assert ok.owner == "bob"
    with pytest.raises(NotFound):
        repo.update(branch="b1", account_id="missing").set("owner", "x").execute()
    assert env.stored({"pk": {"S": "BRANCH#b1"}, "sk": {"S": "ACCOUNT#missing"}}) is None


def test_condition_version_checks_and_bumps(
    env: Env, repo: Repository[Account], stored: Account
) -> None:
    version = stored.version
    updated = repo.update(**KEY).set("owner", "bob").condition_version(version).execute()
    assert updated.version == version + 1
    with pytest.raises(ConcurrencyConflict) as conflict:
        repo.update(**KEY).set("owner", "carol").condition_version(version).execute()
    assert conflict.value.expected_version == version
    assert conflict.value.stored_version == version + 1
    sent = env.last("UpdateItem")
    if sent is not None:
        assert "version" in sent["ExpressionAttributeNames"].values()


def test_return_values(repo: Repository[Account], stored: Account) -> None:
    assert repo.update(**KEY).set("owner", "bob").return_values("NONE").execute() is None
    old = repo.update(**KEY).set("owner", "carol").return_values("ALL_OLD").execute()
    assert isinstance(old, Account) and old.owner == "bob"
    new = repo.update(**KEY).set("owner", "dave").return_values("ALL_NEW").execute()
    assert new.owner == "dave"
    changed = (
        repo.update(**KEY)
        .set("balance", Decimal("99.5"))
        .add_to_set("tags", {"y"})
        .return_values("UPDATED_NEW")
        .execute()
    )
    assert changed["balance"] == Decimal("99.5") and changed["tags"] == {"x", "y"}
    assert "owner" not in changed and "branch" not in changed and "gsi1pk" not in changed
    assert isinstance(changed["updated_at"], datetime)
    previous = (
        repo.update(**KEY).set("balance", Decimal("1")).return_values("UPDATED_OLD").execute()
    )
    assert previous["balance"] == Decimal("99.5") and "owner" not in previous


def test_builder_commits_inside_a_unit_of_work(env: Env, stored: Account) -> None:
    uow = UnitOfWork(env.backend, [accounts], cursor_secret="access-tests")
    with uow:
        repo = uow.repository(Account)
        builder = repo.update(**KEY).add("balance", 5)
        with pytest.raises(ValidationError, match="add_update"):
            builder.execute()
        uow.add_update(builder)
        repo.add(account(7))
        uow.commit()
    fresh = env.repo().get(**KEY)
    assert fresh.balance == Decimal("15") and fresh.version == stored.version + 1
    with uow:
        repo = uow.repository(Account)
        uow.add_update(repo.update(**KEY).set("owner", "x").condition(attr("balance") > 100))
        repo.add(account(8))
        with pytest.raises(ConditionFailed):
            uow.commit()
    with pytest.raises(NotFound):
        env.repo().get(branch="b1", account_id="a0008")
    with uow:
        uow.add_update(uow.repository(Account).update(**KEY).set("owner", "y").condition_version(1))
        with pytest.raises(ConcurrencyConflict):
            uow.commit()


# ------------------------------------------------------------------------ put / save / delete


def test_put_creates_then_replaces_keeping_created_at(env: Env, repo: Repository[Account]) -> None:
    first = Account("b1", "a1", "alice", nickname="al", tags={"t"})
    repo.put(first)
    assert first.version == 1 and first.created_at is not None
    created = first.created_at
    replacement = Account("b1", "a1", "bob", Decimal("3"))
    repo.put(replacement)
    assert replacement.created_at == created  # the stored one, not a new stamp
    assert replacement.version == 2
    item = env.stored()
    assert item is not None
    assert item["owner"] == {"S": "bob"} and "nickname" not in item and "gsi2pk" not in item
    assert "tags" not in item
    fresh = repo.get(**KEY)
    assert fresh == replacement
    sent = env.last("UpdateItem")
    if sent is not None:
        assert "if_not_exists(" in sent["UpdateExpression"]


def test_put_with_a_condition(env: Env, repo: Repository[Account], stored: Account) -> None:
    with pytest.raises(ConditionFailed):
        repo.put(Account("b1", "a1", "mallory"), condition=attr("owner") == "bob")
    item = env.stored()
    assert item is not None and item["owner"] == {"S": "alice"}
    repo.put(Account("b1", "a1", "bob"), condition=attr("owner") == "alice")
    assert repo.get(**KEY).owner == "bob"


def test_save_writes_under_the_version_condition(
    env: Env, repo: Repository[Account], stored: Account
) -> None:
    mine = repo.get(**KEY)
    theirs = repo.get(**KEY)
    mine.owner = "bob"
    mine.nickname = "b"
    repo.save(mine)
    assert mine.version == stored.version + 1
    assert repo.get(**KEY).owner == "bob"
    theirs.owner = "carol"
    with pytest.raises(ConcurrencyConflict):
        repo.save(theirs)
    assert repo.get(**KEY).owner == "bob"
    with pytest.raises(ConcurrencyConflict):
        repo.save(Account("b1", "nobody", "x"))


def test_delete(env: Env, repo: Repository[Account], stored: Account) -> None:
    with pytest.raises(ConditionFailed):
        repo.delete(**KEY, condition=attr("balance") == 0)
    assert env.stored() is not None
    assert repo.delete(**KEY, condition=attr("balance") == 10) is True
    assert env.stored() is None
    assert repo.delete(**KEY) is False
    with pytest.raises(NotFound):
        repo.delete(**KEY, condition=attr("balance") == 10)
    with pytest.raises(ValidationError, match="not key fields"):
        repo.delete(branch="b1", account_id="a1", owner="x")


def test_writes_are_refused_inside_a_unit_of_work(env: Env) -> None:
    with UnitOfWork(env.backend, [accounts], cursor_secret="s") as uow:
        with pytest.raises(ValidationError, match="unit of work"):
            uow.repository(Account).put(account(1))
        with pytest.raises(ValidationError, match="unit of work"):
            uow.repository(Account).put_many([account(1)])


# ---------------------------------------------------------------------------------- batches


Drop = Callable[[list[str]], list[int]]


def drop_a_third(texts: list[str]) -> list[int]:
    """The last third of every request comes back unprocessed (a shrinking tail converges)."""
    n = len(texts)
    return list(range(n - n // 3, n)) if n > 1 else []


class FlakyMemory:
    """The in-memory store, with UnprocessedItems chosen by `drop`."""

    def __init__(self, store: InMemoryStore, drop: Drop) -> None:
        self.store = store
        self.drop = drop
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def batch_write(self, requests: BatchRequests) -> BatchRequests:
        self.calls += 1
        (table, actions), *_ = requests.items()
        dropped = set(self.drop([repr(_key_text(a)) for a in actions]))
        kept = [a for i, a in enumerate(actions) if i not in dropped]
        if kept:
            self.store.batch_write({table: kept})
        return {table: [a for i, a in enumerate(actions) if i in dropped]} if dropped else {}


def _key_text(action: Put | Delete) -> str:
    return json.dumps(action.key, sort_keys=True)


def flaky_dynamodb(env: Env, drop: Drop) -> list[int]:
    """Answer BatchWriteItem in a before-call hook: forward the kept requests to moto with a
    clean client, report the dropped ones as UnprocessedItems. Returns a call counter."""
    inner = env.client.__class__  # same client type, separate instance without the hook
    del inner
    import boto3

    endpoint = env.client.meta.endpoint_url
    clean = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    calls = [0]

    def answer(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        calls[0] += 1
        body = json.loads(params["body"])
        (table, entries), *_ = body["RequestItems"].items()
        texts = [json.dumps(_entry_key(e), sort_keys=True) for e in entries]
        dropped = set(drop(texts))
        kept = [e for i, e in enumerate(entries) if i not in dropped]
        unprocessed: dict[str, Any] = {}
        if kept:
            response = clean.batch_write_item(RequestItems={table: kept})
            unprocessed = response.get("UnprocessedItems", {})
        if dropped:
            unprocessed.setdefault(table, []).extend(entries[i] for i in sorted(dropped))
        parsed = {"UnprocessedItems": unprocessed, "ResponseMetadata": {"HTTPStatusCode": 200}}
        return AWSResponse(endpoint, 200, {}, None), parsed

    env.client.meta.events.register("before-call.dynamodb.BatchWriteItem", answer)
    return calls


def _entry_key(entry: dict[str, Any]) -> dict[str, Any]:
    if "PutRequest" in entry:
        item = entry["PutRequest"]["Item"]
        return {"pk": item["pk"], "sk": item["sk"]}
    return dict(entry["DeleteRequest"]["Key"])


def flaky_repo(env: Env, drop: Drop) -> tuple[Repository[Account], Callable[[], int]]:
    if env.client is None:
        backend = FlakyMemory(env.backend, drop)
        return env.repo(backend), lambda: backend.calls
    calls = flaky_dynamodb(env, drop)
    return env.repo(), lambda: calls[0]


@pytest.mark.parametrize("size", [0, 1, 25, 26, 1000])
def test_put_many_writes_everything_despite_unprocessed_items(env: Env, size: int) -> None:
    repo, calls = flaky_repo(env, drop_a_third)
    batch = [account(i) for i in range(size)]
    progress: list[tuple[int, int]] = []
    repo.put_many(batch, progress=lambda done, total: progress.append((done, total)))
    stored = {i["sk"]["S"] for i in env.all_items()}
    assert stored == {f"ACCOUNT#{a.account_id}" for a in batch}
    assert all(a.version == 1 and a.created_at is not None for a in batch)
    chunks = math.ceil(size / 25)
    assert calls() >= chunks  # retries come on top
    if size > 1:
        assert calls() > chunks and env.sleeps  # something was retried, with backoff
        assert all(0 <= s <= Backoff().cap for s in env.sleeps)
    if size:
        assert progress[-1] == (size, size)
        assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    else:
        assert progress == []
    if size:
        got = repo.get(branch="b1", account_id=batch[-1].account_id)
        assert got == batch[-1]


def test_put_many_reports_what_stays_unprocessed(env: Env) -> None:
    def never_a0030(texts: list[str]) -> list[int]:
        return [i for i, t in enumerate(texts) if "a0030" in t]

    repo, _ = flaky_repo(env, never_a0030)
    batch = [account(i) for i in range(60)]
    with pytest.raises(BatchIncomplete) as incomplete:
        repo.put_many(batch)
    reported = incomplete.value.unprocessed
    assert batch[30] in reported
    assert reported == [batch[30], *batch[50:]]  # its chunk's leftover, then what was not sent
    stored = {i["sk"]["S"] for i in env.all_items()}
    everything = {f"ACCOUNT#{a.account_id}" for a in batch}
    reported_keys = {f"ACCOUNT#{a.account_id}" for a in reported}
    assert stored | reported_keys == everything and not stored & reported_keys
    assert len(env.sleeps) == 7  # 8 attempts: 7 waits
    assert batch[0].version == 1 and batch[30].version == 0  # only what was written changed


def test_delete_many(env: Env) -> None:
    repo, _ = flaky_repo(env, drop_a_third)
    repo.put_many([account(i) for i in range(40)])
    progress: list[tuple[int, int]] = []
    repo.delete_many(
        [{"branch": "b1", "account_id": f"a{i:04d}"} for i in range(30)],
        progress=lambda d, t: progress.append((d, t)),
    )
    assert sorted(i["sk"]["S"] for i in env.all_items()) == [
        f"ACCOUNT#a{i:04d}" for i in range(30, 40)
    ]
    assert progress[-1] == (30, 30)


def test_batches_refuse_bad_input_before_writing(env: Env, repo: Repository[Account]) -> None:
    with pytest.raises(ValidationError, match="twice"):
        repo.put_many([account(1), account(2), account(1)])
    huge = account(40, nickname="x" * 410_000)
    with pytest.raises(ValidationError, match="bytes"):
        repo.put_many([*(account(i) for i in range(39)), huge])
    with pytest.raises(ValidationError, match="twice"):
        repo.delete_many([{"branch": "b1", "account_id": "a"}] * 2)
    with pytest.raises(ValidationError, match="not key fields"):
        repo.delete_many([{"branch": "b1", "account_id": "a", "owner": "x"}])
    assert env.all_items() == []


def test_store_refuses_what_batch_write_item_refuses() -> None:
    store = InMemoryStore()
    store.register(bank)
    put = Put(
        bank.name, accounts.to_item(account(1)), None, _meaning(), accounts.key_of(account(1))
    )
    with pytest.raises(ValidationError, match="duplicates"):
        store.batch_write({bank.name: [put, put]})
    many = [Put(bank.name, accounts.to_item(account(i)), None, _meaning(), {}) for i in range(26)]
    with pytest.raises(ValidationError, match="at most 25"):
        store.batch_write({bank.name: many})
    assert store.items(bank.name) == []


def _meaning() -> Any:
    from persistence.backends.actions import Meaning

    return Meaning("Account", {}, "put")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(min_value=0, max_value=120),
    pattern=st.lists(st.booleans(), min_size=1, max_size=30),
    attempts=st.integers(min_value=1, max_value=4),
)
def test_every_item_is_written_or_reported(size: int, pattern: list[bool], attempts: int) -> None:
    """Whatever comes back unprocessed, and however often: nothing is silently dropped."""
    store = InMemoryStore()
    turn = [0]

    def drop(texts: list[str]) -> list[int]:
        out = []
        for i in range(len(texts)):
            turn[0] += 1
            if pattern[turn[0] % len(pattern)]:
                out.append(i)
        return out

    backend = FlakyMemory(store, drop)
    repo = Repository(
        backend,  # type: ignore[arg-type]
        accounts,
        cursor_secret="s",
        backoff=Backoff(attempts=attempts, sleep=lambda _: None),
    )
    batch = [account(i) for i in range(size)]
    reported: list[Any] = []
    try:
        repo.put_many(batch)
    except BatchIncomplete as incomplete:
        reported = incomplete.unprocessed
    stored = {i["sk"]["S"] for i in store.items(bank.name)}
    reported_keys = {f"ACCOUNT#{a.account_id}" for a in reported}
    assert stored | reported_keys == {f"ACCOUNT#{a.account_id}" for a in batch}
    assert not stored & reported_keys
    assert len(reported) == len(reported_keys)


# ---------------------------------------------------------------------------------- scans


@pytest.fixture
def many(env: Env, repo: Repository[Account]) -> list[Account]:
    batch = [account(i, balance=Decimal(i)) for i in range(120)]
    repo.put_many(batch)
    return batch


@pytest.mark.parametrize(("segments", "workers"), [(1, 1), (4, 2), (7, 7)])
def test_parallel_scan_union_is_a_full_scan(
    repo: Repository[Account], many: list[Account], segments: int, workers: int
) -> None:
    found = [a.account_id for a in repo.scan_all(segments=segments, workers=workers, page_size=9)]
    assert len(found) == len(set(found))
    assert set(found) == {a.account_id for a in repo.iterate()} == {a.account_id for a in many}
    rich = {a.account_id for a in repo.scan_all(attr("balance") >= 100, segments=segments)}
    assert rich == {a.account_id for a in many if a.balance >= 100}


def test_parallel_scan_refuses_bad_arguments(repo: Repository[Account]) -> None:
    with pytest.raises(ValidationError, match="total_segments"):
        repo.scan_all(segments=0)
    with pytest.raises(ValidationError, match="workers"):
        list(repo.scan_all(segments=2, workers=0))
    with pytest.raises(ValidationError, match="no field"):
        repo.scan_all(attr("colour") == "red")
    with pytest.raises(ValidationError, match="global secondary index"):
        repo.scan_all(index="by_owner", consistent=True)


def test_scan_segments_with_cursors_bound_to_their_segment(
    repo: Repository[Account], many: list[Account]
) -> None:
    seen: list[str] = []
    cursors: dict[int, str] = {}
    for segment in range(3):
        cursor: str | None = None
        while True:
            page = repo.scan_segment(segment=segment, total_segments=3, cursor=cursor, limit=10)
            seen.extend(a.account_id for a in page)
            if page.cursor is None:
                break
            cursors.setdefault(segment, page.cursor)
            cursor = page.cursor
    assert sorted(seen) == sorted(a.account_id for a in many)
    assert len(seen) == len(set(seen))
    some_segment, cursor = next(iter(cursors.items()))
    other = (some_segment + 1) % 3
    with pytest.raises(InvalidCursor):
        repo.scan_segment(segment=other, total_segments=3, cursor=cursor)
    with pytest.raises(InvalidCursor):
        repo.scan_segment(segment=some_segment, total_segments=4, cursor=cursor)
    with pytest.raises(InvalidCursor):
        repo.find(cursor=cursor)


def test_scan_all_stops_its_workers_when_closed_early(
    repo: Repository[Account], many: list[Account]
) -> None:
    scan = repo.scan_all(segments=4, page_size=5)
    first = [next(scan) for _ in range(3)]
    scan.close()  # type: ignore[attr-defined]  # a generator
    assert len(first) == 3


# ---------------------------------------------------------------------------------- pagination


def test_cursors_are_refused_across_indexes_and_directions(
    repo: Repository[Account], many: list[Account]
) -> None:
    owner = attr("owner") == "o1"
    page = repo.find(owner, index="by_owner", limit=5)
    assert page.cursor is not None
    rest = repo.find(owner, index="by_owner", limit=50, cursor=page.cursor)
    ids = [a.account_id for a in [*page, *rest]]
    assert ids == sorted(a.account_id for a in many if a.owner == "o1")
    with pytest.raises(InvalidCursor):
        repo.find(owner, index="by_owner", descending=True, cursor=page.cursor)
    # Without index= the planner picks the same Query, so the cursor is valid there...
    assert [a.account_id for a in repo.find(owner, limit=50, cursor=page.cursor)] == ids[5:]
    # ...but not for another filter, another index or the table.
    with pytest.raises(InvalidCursor):
        repo.find(owner & (attr("balance") > 0), index="by_owner", cursor=page.cursor)
    with pytest.raises(InvalidCursor):
        repo.find(attr("nickname") == "o1", index="by_nick", cursor=page.cursor)
    with pytest.raises(InvalidCursor):
        repo.find(attr("branch") == "b1", cursor=page.cursor)
    branch = attr("branch") == "b1"
    table_page = repo.find(branch, limit=5)
    lsi_page = repo.find(
        branch & (attr("opened") > 3), index="by_opened", fields=["opened"], limit=5
    )
    down = repo.find(branch, limit=5, descending=True)
    assert table_page.cursor and lsi_page.cursor and down.cursor
    with pytest.raises(InvalidCursor):
        repo.find(branch, descending=True, cursor=table_page.cursor)
    with pytest.raises(InvalidCursor):
        repo.find(branch, cursor=down.cursor)
    with pytest.raises(InvalidCursor):
        repo.find(
            branch & (attr("opened") > 3),
            index="by_opened",
            fields=["opened"],
            cursor=table_page.cursor,
        )
    with pytest.raises(InvalidCursor):
        repo.find(branch, cursor=lsi_page.cursor)
    next_down = repo.find(branch, limit=5, descending=True, cursor=down.cursor)
    assert [a.account_id for a in next_down] == [f"a{i:04d}" for i in range(114, 109, -1)]


def test_consistent_reads(env: Env, repo: Repository[Account], many: list[Account]) -> None:
    assert repo.get(branch="b1", account_id="a0001", consistent=True).account_id == "a0001"
    branch = attr("branch") == "b1"
    assert len(repo.find(branch, consistent=True, limit=3)) == 3
    assert repo.count(branch, consistent=True) == 120
    assert (
        len(repo.find(branch, index="by_opened", fields=["opened"], consistent=True, limit=3)) == 3
    )
    owner = attr("owner") == "o1"
    with pytest.raises(ValidationError, match="global secondary index 'by_owner'"):
        repo.find(owner, index="by_owner", consistent=True)
    with pytest.raises(ValidationError, match="global secondary index"):
        repo.count(owner, index="by_owner", consistent=True)
    with pytest.raises(ValidationError, match="global secondary index"):
        repo.find(attr("status") == "open", index="by_status", fields=["opened"], consistent=True)
    if env.client is not None:
        sent = env.last("Query")
        assert sent is not None and sent.get("ConsistentRead") is True


def test_consumed_capacity(env: Env, repo: Repository[Account], many: list[Account]) -> None:
    page = repo.find(attr("branch") == "b1", limit=10, return_consumed_capacity=True)
    capacity = page.consumed_capacity
    assert capacity is not None and capacity["TableName"] == bank.name
    assert capacity["CapacityUnits"] > 0
    assert repo.find(attr("branch") == "b1", limit=10).consumed_capacity is None


def test_memory_capacity_counts_read_units() -> None:
    store = InMemoryStore()
    repo = Repository(store, accounts, cursor_secret="s")
    repo.put_many([account(i, note="n" * 3000) for i in range(4)])  # ~3.1 KB each
    branch = attr("branch") == "b1"
    eventual = repo.find(branch, return_consumed_capacity=True).consumed_capacity
    strong = repo.find(branch, consistent=True, return_consumed_capacity=True).consumed_capacity
    assert eventual == {"TableName": bank.name, "CapacityUnits": 2.0}  # 4 units, halved
    assert strong == {"TableName": bank.name, "CapacityUnits": 4}


# ---------------------------------------------------------------------------------- projections


def test_projection_returns_typed_dicts(repo: Repository[Account], many: list[Account]) -> None:
    page = repo.find(
        attr("owner") == "o2", index="by_owner", fields=["account_id", "balance", "tags"]
    )
    rows = list(page)
    assert rows and all(set(r) == {"account_id", "balance", "tags"} for r in rows)
    assert rows[0] == {"account_id": "a0002", "balance": Decimal("2"), "tags": set()}
    by_key = repo.find((attr("branch") == "b1") & (attr("account_id") == "a0003"), fields=["owner"])
    assert by_key.items == [{"owner": "o3"}]
    scanned = repo.find(attr("balance") < 3, fields=["balance", "nickname"])
    assert sorted(r["balance"] for r in scanned) == [0, 1, 2]
    assert all(r["nickname"] is None for r in scanned)
    with pytest.raises(ValidationError, match="no field 'colour'"):
        repo.find(fields=["colour"])


def test_projection_on_partial_indexes(repo: Repository[Account], many: list[Account]) -> None:
    keys_only = repo.find(attr("status") == "open", index="by_status", fields=["opened", "status"])
    assert sorted(r["opened"] for r in keys_only) == list(range(120))
    included = repo.find(
        (attr("branch") == "b1") & (attr("opened") >= 110), index="by_opened", fields=["balance"]
    )
    assert [r["balance"] for r in included] == [Decimal(i) for i in range(110, 120)]
    with pytest.raises(ValidationError, match=r"does not project \['owner'\]"):
        repo.find(attr("status") == "open", index="by_status", fields=["owner"])
    with pytest.raises(ValidationError, match="needs \\['balance'\\]"):
        repo.find(
            (attr("status") == "open") & (attr("balance") > 3), index="by_status", fields=["opened"]
        )
    with pytest.raises(ValidationError, match=r"fields=\[\.\.\.\]"):
        repo.find(attr("status") == "open", index="by_status")
