"""DynamoDB's limits, refused on both backends before anything is sent.

Part of the behaviour contract (`persistence.testing.contract`): subclass `LimitsContract`
in a test module that provides a `harness` fixture.
"""

from __future__ import annotations

import functools
import operator

import pytest

from .. import errors
from ..query.specification import attr
from .harness import Harness
from .models import (
    GADGETS,
    Account,
    Gadget,
)


class LimitsContract:
    """DynamoDB's limits (expression size and others), refused before any request."""

    def test_an_expression_over_4_kb_is_refused_before_any_request(self, harness: Harness) -> None:
        uow = harness.uow()
        # Placeholders keep values out of the expression: it is the number of terms that grows.
        spec = functools.reduce(operator.or_, (attr("balance") == i for i in range(400)))
        with uow:
            harness.log.clear()
            with pytest.raises(errors.ValidationError, match="4096"):
                uow.repository(Account).find(spec & (attr("balance") > 0))
        assert harness.operations() == []

    def test_direct_writes_and_batches_refuse_oversized_items(self, harness: Harness) -> None:
        repo = harness.repository(GADGETS)
        big = Gadget("big", name="x" * (400 * 1024))
        harness.log.clear()
        for write in (repo.put, repo.save, lambda g: repo.put_many([Gadget("ok"), g])):
            with pytest.raises(errors.ValidationError, match="400 KB"):
                write(big)
        assert harness.operations() == []
        assert repo.count() == 0
