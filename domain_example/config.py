"""Settings from the environment (Lambda, the shell) with command-line overrides on top."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .adapters.mappings import DEFAULT_TABLE_NAME


@dataclass(frozen=True)
class Settings:
    table_name: str = DEFAULT_TABLE_NAME
    # None means "the real AWS endpoint for the region" (botocore's own resolution).
    endpoint_url: str | None = None
    region: str = "us-east-1"
    cursor_secret: str | None = None
    retry_attempts: int = 8
    # Where the relay publishes events and where the statistics consumer reads them. In AWS they
    # come from infrastructure as code; local runs create them on the moto server (local.py).
    events_topic_arn: str | None = None
    statistics_queue_url: str | None = None
    # Relay and consume after each command in the caller's thread (local runs, tests). In AWS,
    # False: the relay and the consumer are Lambda functions of their own (docs/events.md).
    deliver_events_inline: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            table_name=env.get("PAYMENTS_TABLE", DEFAULT_TABLE_NAME),
            endpoint_url=env.get("AWS_ENDPOINT_URL_DYNAMODB") or env.get("AWS_ENDPOINT_URL"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            cursor_secret=env.get("PERSISTENCE_CURSOR_SECRET"),
            retry_attempts=int(env.get("PAYMENTS_RETRY_ATTEMPTS", "8")),
            events_topic_arn=env.get("PAYMENTS_EVENTS_TOPIC_ARN"),
            statistics_queue_url=env.get("PAYMENTS_STATISTICS_QUEUE_URL"),
            deliver_events_inline=env.get("PAYMENTS_DELIVER_EVENTS_INLINE", "") == "1",
        )

    def as_config(self) -> dict[str, Any]:
        return asdict(self)
