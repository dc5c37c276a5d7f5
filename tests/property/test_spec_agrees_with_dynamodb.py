"""is_satisfied_by (and so the in-memory backend) agrees with what DynamoDB returns."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence.query.specification import Spec

from .strategies import Probe, assert_backends_select, probes, specs


@given(items=st.lists(probes, min_size=1, max_size=8, unique_by=lambda x: x.probe_id), spec=specs)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_filter_on_dynamodb_equals_in_memory_evaluation(
    probes_client: Any, items: list[Probe], spec: Spec
) -> None:
    assert_backends_select(probes_client, items, spec)
