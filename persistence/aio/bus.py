"""The message bus for asyncio: `persistence.MessageBus`'s dispatch, awaited."""

from __future__ import annotations

from typing import Any

from ..messaging.bus import BusCore
from .driver import run_async

__all__ = ["MessageBus"]


class MessageBus(BusCore):
    """Dispatches a command to its handler, then every event raised while handling it, as
    `persistence.MessageBus` does (same queueing, logging and `failed_events` counting), with
    `await bus.handle(command)`: a handler that returns an awaitable (a coroutine function) is
    awaited, a plain one is just called.

    Args:
        uow: where events are collected from (an `aio` unit of work).
        event_handlers: for each event type, the handlers to call, in order.
        command_handlers: for each command type, its one handler.
    """

    async def handle(self, command: Any) -> Any:
        """Run the command's handler (its error propagates), then every resulting event;
        returns what the command's handler returned (awaited)."""
        return await run_async(None, self._handle_steps(command))

    async def publish(self, event: Any) -> None:
        """Dispatch one event (e.g. relayed from the outbox) and everything it leads to."""
        await run_async(None, self._publish_steps(event))
