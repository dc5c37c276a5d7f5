"""Calling the handlers botocore's emitter would call, without the emitter (adr/0018).

A client's `meta.events` is an `EventAliaser` over a `HierarchicalEmitter`: each `emit` renames
the event through the alias table, looks its handler list up (a prefix search, cached until the
next register / unregister) and calls every handler with the same keyword arguments plus
`event_name`, writing a debug line per handler. On a small request the transports emit about ten
events, and that bookkeeping is a measurable part of the call. `Handlers` keeps each event's
aliased name and handler list (read from the emitter itself, read again whenever its lookup cache
is replaced, which is what every register and unregister does) and calls them the way `_emit`
does: in order, same arguments, `emit_until_response` stopping at the first answer. The debug
lines are the one thing it does not write, so the transports use it only while botocore's
`botocore.hooks` logger is not at DEBUG.
"""

from __future__ import annotations

import inspect
from typing import Any

Handler = Any
# (aliased event name, the handlers `emit` would call, in order)
Found = tuple[str, list[Handler]]


class Registry:
    """The handlers of one client's events, kept per registry state."""

    def __init__(self, events: Any) -> None:
        self.events = events
        self._emitter = events._emitter
        self._alias = events._alias_event_name
        self._emitter._lookup_cache  # noqa: B018 - the registry's change marker must exist
        self._emitter._handlers.prefix_search  # noqa: B018
        # (the emitter's lookup-cache dict seen, event -> Found): one attribute, so a list read
        # from one registry is never filed under another's marker.
        self._registry: tuple[Any, dict[str, Found]] = (None, {})

    def of(self, event: str) -> Found:
        """The event's aliased name and the handlers `emit(event)` would call now. Re-read after
        any register / unregister: the emitter then replaces its lookup-cache dict, and the one
        seen last is kept alive here so its identity cannot be reused."""
        marker = self._emitter._lookup_cache
        seen, known = self._registry
        if marker is not seen:
            known = {}
            self._registry = (marker, known)
        found = known.get(event)
        if found is None:
            name = self._alias(event)
            found = known[event] = (name, list(self._emitter._handlers.prefix_search(name)))
        return found


class Handlers(Registry):
    """botocore's `emit` and `emit_until_response` over the handlers `Registry` keeps."""

    def emit(self, event: str, **kwargs: Any) -> list[tuple[Handler, Any]]:
        """`events.emit(event, **kwargs)`: every handler's (handler, answer)."""
        name, handlers = self.of(event)
        if not handlers:
            return []
        kwargs["event_name"] = name
        return [(handler, handler(**kwargs)) for handler in handlers]

    def emit_until_response(self, event: str, **kwargs: Any) -> tuple[Handler, Any]:
        """`events.emit_until_response(event, **kwargs)`: the first handler answering (not None)
        and its answer, the later handlers not called; (None, None) when none answers."""
        name, handlers = self.of(event)
        if not handlers:
            return None, None
        kwargs["event_name"] = name
        answer: tuple[Handler, Any] = (None, None)
        for handler in handlers:
            answer = (handler, handler(**kwargs))
            if answer[1] is not None:
                return answer
        return answer


async def resolved(value: Any) -> Any:
    """aiobotocore's `resolve_awaitable`: its emitter awaits what a handler returns if it can."""
    if inspect.isawaitable(value):
        return await value
    return value


class AsyncHandlers(Registry):
    """aiobotocore's `emit` and `emit_until_response`: its `_emit` awaits each handler's answer
    when it is awaitable (a coroutine handler) before calling the next."""

    async def emit(self, event: str, **kwargs: Any) -> list[tuple[Handler, Any]]:
        """`await events.emit(event, **kwargs)`."""
        name, handlers = self.of(event)
        if not handlers:
            return []
        kwargs["event_name"] = name
        return [(handler, await resolved(handler(**kwargs))) for handler in handlers]

    async def emit_until_response(self, event: str, **kwargs: Any) -> tuple[Handler, Any]:
        """`await events.emit_until_response(event, **kwargs)`."""
        name, handlers = self.of(event)
        if not handlers:
            return None, None
        kwargs["event_name"] = name
        answer: tuple[Handler, Any] = (None, None)
        for handler in handlers:
            answer = (handler, await resolved(handler(**kwargs)))
            if answer[1] is not None:
                return answer
        return answer
