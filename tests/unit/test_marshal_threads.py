"""Converters are built once and shared: many threads using them at once get identical results."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import persistence as p
from persistence.model.marshal import class_converter

THREADS = 16
ROUNDS = 300


@dataclass
class Part:
    sku: str
    quantity: int
    price: Decimal
    raw: bytes = b""


@dataclass
class Parcel:
    parcel_id: str
    weight: Decimal
    count: int
    fragile: bool
    sent_at: datetime
    arrived_at: datetime | None
    labels: set[str] = field(default_factory=set)
    extra: dict[str, str] = field(default_factory=dict)
    parts: list[Part] = field(default_factory=list)
    anything: Any = None
    children: list[Parcel] = field(default_factory=list)


PARCELS = p.Mapping(Parcel, p.Table("parcels", partition_key="parcel_id"))


def _parcel(i: int) -> Parcel:
    sent = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i)
    return Parcel(
        parcel_id=f"p{i}",
        weight=Decimal(i) / 8,
        count=i,
        fragile=i % 2 == 0,
        sent_at=sent,
        arrived_at=sent + timedelta(days=1) if i % 3 else None,
        labels={f"l{i % 5}", "all"} if i % 4 else set(),
        extra={"i": str(i)},
        parts=[Part(f"s{j}", j, Decimal(j) + Decimal("0.5"), bytes([j])) for j in range(i % 4)],
        anything={"n": i, "xs": [i, "x", None]},
        children=[Parcel(f"c{i}", Decimal(1), 1, False, sent, None)] if i % 5 == 0 else [],
    )


def test_shared_converters_give_identical_results_in_many_threads() -> None:
    parcels = [_parcel(i) for i in range(40)]
    expected_items = [PARCELS.to_item(x) for x in parcels]
    expected_back = [PARCELS.from_item(item) for item in expected_items]
    assert expected_back == parcels
    start = threading.Barrier(THREADS)

    def work(seed: int) -> bool:
        start.wait()  # every thread converts at the same time
        for r in range(ROUNDS):
            k = (seed + r) % len(parcels)
            item = PARCELS.to_item(parcels[k])
            if item != expected_items[k] or PARCELS.from_item(item) != parcels[k]:
                return False
        return True

    with ThreadPoolExecutor(THREADS) as pool:
        assert all(pool.map(work, range(THREADS)))


def test_a_converter_is_built_once_even_when_threads_race_for_it() -> None:
    @dataclass
    class Fresh:
        fresh_id: str
        nested: list[Part] = field(default_factory=list)

    start = threading.Barrier(THREADS)

    def build(_: int) -> int:
        start.wait()
        return id(class_converter(Fresh))

    with ThreadPoolExecutor(THREADS) as pool:
        ids = set(pool.map(build, range(THREADS)))
    assert len(ids) == 1
    item = class_converter(Fresh).to_item(Fresh("f", [Part("a", 1, Decimal("2"))]))
    assert class_converter(Fresh).from_item(item) == Fresh("f", [Part("a", 1, Decimal("2"))])
