"""The sans-I/O core's vocabulary: operations written as generators of steps, run by a driver.

Repositories, units of work, the update builder and the batches are written once as generators
that yield what they need done (`Call`: a backend operation; `Sleep`: a backoff wait;
`Invoke`: a user callable, such as a message handler) and receive its result (or its exception,
thrown in at the `yield`). Planning, marshalling, validation, expression building, dirty
checking, retries and the mapping of cancellations all happen inside the generator; only the
driver touches the outside world. `run_sync` here drives them over a `Backend` with
`time.sleep`; `persistence.aio` drives the same generators over an `AsyncBackend` with `await`
(adr/0020).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, TypeVar

from ..records import frozen

T = TypeVar("T")


@frozen
class Call:
    """Run `backend.<method>(*args, **kwargs)` and send back its result."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def __init__(self, method: str, *args: Any, **kwargs: Any) -> None:
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)


@frozen
class Sleep:
    """Wait `seconds` with `sleep` (a Backoff's or RetryPolicy's): the sync driver calls it; the
    async driver awaits `asyncio.sleep` when it is `time.sleep`, and awaits what it returns
    otherwise (a test's recorder, or an async sleep)."""

    seconds: float
    sleep: Callable[[float], Any]

    def __init__(self, seconds: float, sleep: Callable[[float], Any]) -> None:
        object.__setattr__(self, "seconds", seconds)
        object.__setattr__(self, "sleep", sleep)


@frozen
class Invoke:
    """Call `fn(*args)` (application code: a message handler); the async driver awaits the
    result when it is awaitable, so async and sync handlers both work there."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        object.__setattr__(self, "fn", fn)
        object.__setattr__(self, "args", args)


Step = Call | Sleep | Invoke
# An operation of the core: yields steps, receives their results, returns a T.
Steps = Generator[Step, Any, T]


def run_sync(backend: Any, steps: Steps[T]) -> T:
    """Drive `steps` to the end with blocking calls: `backend.<method>(...)`, the step's sleep,
    the invoked callable. An exception raised by a step is thrown into the generator at its
    `yield`, so the core's `try`/`except` around a call behaves as around a direct call."""
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
                send = getattr(backend, step.method)(*step.args, **step.kwargs)
            elif isinstance(step, Sleep):
                step.sleep(step.seconds)
            else:
                send = step.fn(*step.args)
        except BaseException as exc:  # handed to the core, which decides
            error = exc


def no_steps(value: T) -> Steps[T]:
    """A step generator that needs nothing done and returns `value`."""
    return value
    yield  # pragma: no cover  (makes this function a generator)
