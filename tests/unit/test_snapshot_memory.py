"""What a unit of work keeps per loaded aggregate: its snapshot is packed (session/snapshot.py).

Issue #8 item 4: a unit of work holding a loaded 1000-item page kept ~5x the memory of the
aggregates alone (one wire dict per attribute, per item). The goal is at most 1.5x. Measured with
tracemalloc, as bench/suites.py does: allocations, not time, so the result does not depend on
the machine's load.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import persistence as p
from bench.model import ORDERS, Order, hand_to_item, json_ready, make_order
from bench.stub import Stub, new_client
from persistence.session.identity_map import Entry

SPEC = p.attr("customer") == "customer-1"
COUNT = 500


def _retained(build: Callable[[], Any]) -> int:
    """Bytes still allocated while what `build` returns is alive."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = build()
        gc.collect()
        retained: int = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del kept
    return retained


def test_a_unit_of_work_holding_a_loaded_page_keeps_at_most_1_5x_the_aggregates() -> None:
    page = [hand_to_item(make_order(i)) for i in range(COUNT)]
    body = json.dumps({"Items": page, "Count": COUNT}, default=json_ready).encode()
    client = new_client()
    Stub(client, {"Query": lambda _: body})
    repo = p.DynamoDBRepository(client, ORDERS)
    uow = p.DynamoDBUnitOfWork(client, [ORDERS])

    def in_unit_of_work() -> Any:
        uow.__enter__()
        return uow, uow.repository(Order).find(SPEC).items

    assert len(repo.find(SPEC).items) == COUNT  # warm: converters and caches built
    with uow:
        uow.repository(Order).find(SPEC)
    alone = _retained(lambda: repo.find(SPEC).items)
    try:
        held = _retained(in_unit_of_work)
    finally:
        uow.__exit__(None, None, None)

    assert held <= 1.5 * alone, f"{held / alone:.2f}x the aggregates alone"


def test_an_item_that_cannot_be_packed_is_kept_as_it_is() -> None:
    # No backend writes a Decimal into a wire item, but a snapshot must never be lost or changed.
    item: dict[str, Any] = {"account_id": {"S": "a1"}, "balance": {"N": Decimal("1.0")}}
    entry = Entry(ORDERS, None, item, "clean", {"account_id": {"S": "a1"}})

    assert entry.snapshot == item
    assert entry.key == {"account_id": {"S": "a1"}}


def test_the_key_and_snapshot_of_a_new_aggregate() -> None:
    key = {"pk": {"S": "ORDER#o1"}, "sk": {"N": "1.50"}}
    entry = Entry(ORDERS, None, None, "new", key)

    assert entry.snapshot is None
    assert entry.key == key
    assert entry.key["sk"]["N"] == "1.50"  # the text as given, not a normalised number
