"""Notifications to account owners. The demo and Lambda log them; a real service would send."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class Notifier(Protocol):
    def send(self, owner: str, message: str) -> None: ...


@dataclass(frozen=True)
class Notification:
    owner: str
    message: str


class LoggingNotifier:
    """Writes each notification as a structured log line, and keeps them for the summary."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.sent: list[Notification] = []

    def send(self, owner: str, message: str) -> None:
        log.info("notification", owner=owner, message=message)
        with self._lock:
            self.sent.append(Notification(owner, message))
