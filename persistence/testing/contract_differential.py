"""Contract tests for disagreements the differential state machine found
(tests/property/test_differential.py)."""

from __future__ import annotations

import pytest

from .. import errors
from .harness import Harness
from .models import GADGETS, Gadget


class DifferentialContract:
    """Disagreements between the backends that the differential state machine found, fixed."""

    def test_transaction_with_an_invalid_update_path_writes_nothing(self, harness: Harness) -> None:
        """DynamoDB cancels the whole transaction when one update names a document path under a
        missing map (reason code ValidationError, TransactWriteItems API reference): the other
        actions of the commit are not written either."""
        harness.repository(GADGETS).add(Gadget("g1", name="stored"))  # no address
        uow = harness.uow()
        with uow:
            uow.repository(Gadget).add(Gadget("g2", name="new"))
            uow.add_update(uow.repository(Gadget).update(gadget_id="g1").set("address.city", "x"))
            # DynamoDB cancels with reason ValidationError (moto answers a top-level
            # ValidationException instead); both backends raise p.ValidationError.
            with pytest.raises(errors.ValidationError, match="document path"):
                uow.commit()
        assert harness.repository(GADGETS).get_many([{"gadget_id": "g2"}]) == []
        assert harness.repository(GADGETS).get(gadget_id="g1").address is None
