"""`frozen`: immutable dataclasses that cost almost nothing to define at import.

`@dataclass(frozen=True)` writes out and compiles up to six methods for each class when its
module is imported, about half a millisecond a class: for the library's value classes (write
actions, specification nodes) that was most of the import time a Lambda cold start pays. A
`@frozen` class is still a dataclass (`dataclasses.replace`, `fields`, `asdict` and
`is_dataclass` work on it, and type checkers read it as `dataclass(frozen=True)`), with the same
behaviour: assigning or deleting a field raises `dataclasses.FrozenInstanceError`, equality and
hash go by the compared fields' values (or stay the class's own with `eq=False`), and the repr
lists the fields. The difference is where `__init__` comes from: the class writes its own, setting
each field with `object.__setattr__` (and calling `__post_init__` itself if it has one), which also
keeps construction as fast as the generated one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, fields
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

T = TypeVar("T", bound=type)


def _setattr(self: object, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _make(cls: T, eq: bool) -> T:
    if "__init__" not in cls.__dict__:
        raise TypeError(f"@frozen class {cls.__qualname__} must define its own __init__")
    if cls.__doc__ is None:
        # dataclass() would otherwise compute the signature for a docstring, a cost paid at import.
        cls.__doc__ = cls.__qualname__
    dataclass(init=False, repr=False, eq=False)(cls)
    specs = fields(cls)
    shown = tuple(f.name for f in specs if f.repr)
    compared = tuple(f.name for f in specs if f.compare)
    hashed = tuple(f.name for f in specs if (f.compare if f.hash is None else f.hash))

    def values(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
        if len(names) == 1:
            one = attrgetter(names[0])
            return lambda obj: (one(obj),)
        return attrgetter(*names) if names else (lambda obj: ())

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({inner})"

    cls.__setattr__ = _setattr  # type: ignore[assignment]
    cls.__delattr__ = _delattr  # type: ignore[assignment]
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = __repr__  # type: ignore[assignment]
    if eq:
        compare_values = values(compared)
        hash_values = values(hashed)

        def __eq__(self: Any, other: object) -> bool:
            if other.__class__ is self.__class__:
                return bool(compare_values(self) == compare_values(other))
            return NotImplemented

        def __hash__(self: Any) -> int:
            return hash(hash_values(self))

        cls.__eq__ = __eq__  # type: ignore[assignment]
        cls.__hash__ = __hash__  # type: ignore[assignment]
    return cls


@overload
def frozen(cls: T, /) -> T: ...
@overload
def frozen(*, eq: bool = True) -> Callable[[T], T]: ...


@dataclass_transform(frozen_default=True)
def frozen(cls: T | None = None, /, *, eq: bool = True) -> T | Callable[[T], T]:
    """`@frozen` or `@frozen(eq=False)`: as `@dataclass(frozen=True)` / `(frozen=True, eq=False)`,
    the class writing its own `__init__`."""
    if cls is None:
        return lambda c: _make(c, eq)
    return _make(cls, eq)
