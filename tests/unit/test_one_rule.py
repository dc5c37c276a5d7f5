"""Each DynamoDB rule and each retry rule lives in one place and every caller uses it."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import pytest

from persistence import limits
from persistence.runtime.retry import Backoff, RetryPolicy, full_jitter

PACKAGE = Path(__file__).resolve().parents[2] / "persistence"
LIMIT_VALUES = {
    limits.MAX_BATCH_WRITE,
    limits.MAX_BATCH_GET,
    limits.MAX_TRANSACT_ACTIONS,
    limits.TOKEN_WINDOW_SECONDS,
}


def _module_constants(path: Path) -> list[tuple[str, object]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        value = getattr(node, "value", None)
        if isinstance(value, ast.Constant) and type(value.value) in (int, float):
            out += [(t.id, value.value) for t in targets if isinstance(t, ast.Name)]
    return out


def test_batch_sizes_and_the_token_window_are_defined_only_in_limits() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}: {name} = {value}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "limits.py" and "testing" not in path.parts
        for name, value in _module_constants(path)
        if value in LIMIT_VALUES
    ]
    assert found == []


def test_the_token_window_is_ten_minutes_everywhere() -> None:
    from persistence import retry
    from persistence.runtime import retry as runtime_retry

    assert limits.TOKEN_WINDOW_SECONDS == 600
    assert retry.TOKEN_WINDOW_SECONDS is runtime_retry.TOKEN_WINDOW_SECONDS
    assert runtime_retry.TOKEN_WINDOW_SECONDS is limits.TOKEN_WINDOW_SECONDS


def test_backoff_and_retry_policy_wait_the_same_full_jitter() -> None:
    backoff = Backoff(base=0.1, cap=1.5)
    policy = RetryPolicy(base=0.1, cap=1.5)
    for attempt in range(8):
        random.seed(attempt)
        expected = full_jitter(attempt, 0.1, 1.5)
        random.seed(attempt)
        from_backoff = backoff.delay(attempt)
        random.seed(attempt)
        assert from_backoff == policy.delay(attempt) == expected
        assert 0 <= expected <= min(1.5, 0.1 * 2**attempt)


def test_the_table_copy_chunks_by_the_library_key_identity() -> None:
    from persistence.tables.batch_write import batch_chunks

    # One number written two ways is one key to DynamoDB, which refuses a BatchWriteItem that
    # names it twice: the second request starts a new chunk and still wins.
    items = [{"pk": {"N": "1"}, "v": {"S": "a"}}, {"pk": {"N": "1.0"}, "v": {"S": "b"}}]
    assert list(batch_chunks(items, ("pk",))) == [[items[0]], [items[1]]]
    other = [{"pk": {"S": "1"}}, {"pk": {"N": "1"}}, {"pk": {"B": b"1"}}]
    assert list(batch_chunks(other, ("pk",))) == [other]


def test_the_in_memory_store_uses_the_library_key_identity() -> None:
    from persistence.backends.memory import store
    from persistence.model.keyid import key_id

    assert store.key_id is key_id
    assert not hasattr(store, "_key_id")


class _NeverWrites:
    """A backend (and a raw client) that leaves every request unprocessed, counting calls."""

    def __init__(self) -> None:
        self.calls = 0

    def register(self, table: object) -> None:
        """Nothing to remember."""

    def batch_write(self, requests: dict[str, list[object]]) -> dict[str, list[object]]:
        self.calls += 1
        return {table: list(actions) for table, actions in requests.items()}

    def batch_write_item(self, RequestItems: dict[str, list[object]]) -> dict[str, object]:
        self.calls += 1
        return {"UnprocessedItems": RequestItems}


def test_put_many_and_the_table_copy_count_batch_attempts_the_same_way() -> None:
    from persistence.errors import BatchIncomplete
    from persistence.session.repository import Repository
    from persistence.tables.batch_write import write_batch
    from persistence.testing.models import GADGETS, Gadget

    sleeps: list[float] = []
    backoff = Backoff(attempts=3, sleep=sleeps.append)

    backend = _NeverWrites()
    repo = Repository(backend, GADGETS, backoff=backoff)  # type: ignore[arg-type]
    with pytest.raises(BatchIncomplete):
        repo.put_many([Gadget("g1")])

    client = _NeverWrites()
    with pytest.raises(BatchIncomplete, match="after 3 attempt"):
        write_batch(client, "t", [{"pk": {"S": "1"}}], backoff=backoff)

    # `attempts` counts every call, the first included, on both paths; a wait between two.
    assert backend.calls == client.calls == backoff.attempts
    assert len(sleeps) == 2 * (backoff.attempts - 1)
