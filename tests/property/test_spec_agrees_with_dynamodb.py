"""is_satisfied_by (and so the in-memory backend) agrees with what DynamoDB returns."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import persistence as p
from persistence.query.specification import Spec

from .strategies import PROBES, Probe, probes, specs


@given(items=st.lists(probes, min_size=1, max_size=8, unique_by=lambda x: x.probe_id), spec=specs)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_filter_on_dynamodb_equals_in_memory_evaluation(
    probes_client: Any, items: list[Probe], spec: Spec
) -> None:
    client = probes_client
    repo = p.DynamoDBRepository(client, PROBES, cursor_secret="x")
    memory = p.InMemoryRepository(PROBES, cursor_secret="x")
    uow = p.DynamoDBUnitOfWork(client, [PROBES])
    with uow:
        for item in items:
            uow.repository(Probe).add(item)
        uow.commit()
    for item in items:
        memory.add(item)
    try:
        expected = {i.probe_id for i in items if spec.is_satisfied_by(i, PROBES)}
        from_dynamodb = {i.probe_id for i in repo.iterate(spec)}
        from_memory = {i.probe_id for i in memory.iterate(spec)}
        assert from_dynamodb == expected, spec
        assert from_memory == expected, spec
    finally:
        for item in items:
            client.delete_item(TableName="probes", Key={"probe_id": {"S": item.probe_id}})
