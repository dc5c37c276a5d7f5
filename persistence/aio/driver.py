"""The async driver of the sans-I/O core (adr/0020): the steps `run_sync` runs with blocking
calls, awaited here."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, TypeVar

from ..runtime.steps import Call, Sleep, Steps

T = TypeVar("T")


async def run_async(backend: Any, steps: Steps[T]) -> T:
    """Drive `steps` to the end on the running event loop: `await backend.<method>(...)` for a
    `Call`, `await asyncio.sleep` for a `Sleep` with the default `time.sleep` (a custom sleep is
    called, and awaited if it returns an awaitable), and an `Invoke`'s callable called and its
    result awaited when it is awaitable. An exception (a cancellation included) is thrown into
    the generator at its `yield`, exactly as `run_sync` does."""
    send: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(send)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        send, error = None, None
        try:
            if isinstance(step, Call):
                send = await getattr(backend, step.method)(*step.args, **step.kwargs)
            elif isinstance(step, Sleep):
                if step.sleep is time.sleep:
                    await asyncio.sleep(step.seconds)
                else:
                    waited = step.sleep(step.seconds)
                    if inspect.isawaitable(waited):
                        await waited
            else:
                send = step.fn(*step.args)
                if inspect.isawaitable(send):
                    send = await send
        except BaseException as exc:  # handed to the core, which decides
            error = exc
