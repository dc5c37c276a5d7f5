"""Fixtures shared by the transport tests."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.endpoint import Endpoint

from persistence.backends.dynamodb.endpoint_loop import EndpointLoop


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many calls went through the loop and how many through Endpoint.make_request."""
    counts = {"loop": 0, "make_request": 0}
    loop, endpoint = EndpointLoop.make_request, Endpoint.make_request

    def through_loop(self: Any, *args: Any) -> Any:
        counts["loop"] += 1
        return loop(self, *args)

    def through_endpoint(self: Any, *args: Any) -> Any:
        counts["make_request"] += 1
        return endpoint(self, *args)

    monkeypatch.setattr(EndpointLoop, "make_request", through_loop)
    monkeypatch.setattr(Endpoint, "make_request", through_endpoint)
    return counts
