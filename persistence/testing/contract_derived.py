"""Derived values: stamped fields feed index keys, TTL is epoch seconds.

Part of the behaviour contract (`persistence.testing.contract`): subclass `DerivedValuesContract`
in a test module that provides a `harness` fixture.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ..query.specification import attr
from .harness import Harness


class DerivedValuesContract:
    """Stamped fields (created_at, updated_at), derived index keys and TTL epoch seconds."""

    def test_stamped_fields_feed_index_keys_and_ttl_is_epoch_seconds(
        self, harness: Harness
    ) -> None:
        from .models import Session

        expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        uow = harness.uow()
        with uow:
            uow.repository(Session).add(Session("s1", "ann", expires_at=expires))
            uow.commit()
        with uow:
            repo = uow.repository(Session)
            (found,) = repo.find(attr("user") == "ann").items
            assert repo.explain(attr("user") == "ann") == "Query contract_bank.by_owner"
            assert found.created_at is not None
            assert found.expires_at == expires
            raw = harness.raw_item("contract_bank", {"pk": "SESSION#s1", "sk": "SESSION"})
            assert raw["expires_at"] == {"N": str(int(expires.timestamp()))}
            assert raw["gsi1sk"] == {"S": found.created_at.isoformat()}
