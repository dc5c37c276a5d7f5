"""The message bus: a command, then every event raised while handling it.

Handlers are called with the message alone (`handler(message)`); their dependencies are bound
beforehand by injection. Each handler opens its own unit of work (`with uow:`); after each handler
the bus collects the events of committed work and queues them. A handler whose commit failed has
left its block by the time it returns or raises, so the next handler's `with uow:` starts a fresh
block (adr/0011); the events of the failed commit were dropped and are never queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from ..errors import ValidationError
from ..runtime.steps import Invoke, Steps, run_sync

# The logger keeps the name it had before the modules moved into layers (docs/api.md).
log = logging.getLogger("persistence.events")

Handler = Callable[[Any], Any]


class EventSource(Protocol):
    def collect_new_events(self) -> Iterable[Any]: ...


class BusCore:
    """The message bus without its transport (adr/0020): the handler registry, the event queue
    and the error handling, with the dispatch written as steps (`runtime.steps`).
    `MessageBus` calls the handlers; `persistence.aio.MessageBus` awaits the async ones.

    Args:
        uow: where events are collected from: the unit of work the handlers commit with.
        event_handlers: for each event type, the handlers to call, in order.
        command_handlers: for each command type, its one handler.
    """

    def __init__(
        self,
        uow: EventSource,
        event_handlers: Mapping[type, Sequence[Handler]] | None = None,
        command_handlers: Mapping[type, Handler] | None = None,
    ) -> None:
        self.uow = uow
        self.event_handlers = {k: list(v) for k, v in (event_handlers or {}).items()}
        self.command_handlers = dict(command_handlers or {})
        self.handled_events = 0
        self.failed_events = 0

    # The dispatch as steps: each handler call is an `Invoke`.

    def _handle_steps(self, command: Any) -> Steps[Any]:
        handler = self.command_handlers.get(type(command))
        if handler is None:
            raise ValidationError(f"no handler registered for command {type(command).__name__}")
        log.debug("handling_command", extra={"command": type(command).__name__})
        result = yield Invoke(handler, command)
        queue = list(self.uow.collect_new_events())
        while queue:
            event = queue.pop(0)
            queue.extend((yield from self._handle_event(event)))
        return result

    def _publish_steps(self, event: Any) -> Steps[None]:
        queue = [event]
        while queue:
            queue.extend((yield from self._handle_event(queue.pop(0))))

    def _handle_event(self, event: Any) -> Steps[list[Any]]:
        raised: list[Any] = []
        for handler in self.event_handlers.get(type(event), []):
            try:
                yield Invoke(handler, event)
                self.handled_events += 1
            except Exception:
                # The command is committed; an event handler's failure must not undo it.
                self.failed_events += 1
                log.exception(
                    "event_handler_failed",
                    extra={
                        "event_type": type(event).__name__,
                        "handler": getattr(handler, "__name__", repr(handler)),
                    },
                )
            raised.extend(self.uow.collect_new_events())
        return raised


class MessageBus(BusCore):
    """Dispatches a command to its handler, then every event raised while handling it.

    Handlers take the message alone (`handler(message)`); bind their dependencies (the unit of
    work, a notifier) beforehand with `functools.partial`, a closure or a container. Events come
    from `uow.collect_new_events()` after each handler, so only committed work raises them. An
    event handler's error is logged and counted in `failed_events`; the other handlers still run.

    Args:
        uow: where events are collected from: the unit of work the handlers commit with.
        event_handlers: for each event type, the handlers to call, in order.
        command_handlers: for each command type, its one handler.
    """

    def handle(self, command: Any) -> Any:
        """Run the command's handler (its error propagates), then every resulting event."""
        return run_sync(None, self._handle_steps(command))

    def publish(self, event: Any) -> None:
        """Dispatch one event (e.g. relayed from the outbox) and everything it leads to."""
        run_sync(None, self._publish_steps(event))
