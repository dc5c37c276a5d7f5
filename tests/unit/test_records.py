"""`records.frozen`: the library's value classes keep frozen-dataclass behaviour without the
cost of `@dataclass(frozen=True)` at import (a Lambda cold start pays every class it defines)."""

from __future__ import annotations

import dataclasses
import inspect
from types import ModuleType

import pytest

from persistence import errors
from persistence.backends import actions, base
from persistence.model import keys, mapping
from persistence.model.marshal import codegen, converters
from persistence.query import planner, specification
from persistence.records import frozen
from persistence.runtime import retry
from persistence.write import batch


@frozen
class Point:
    x: int
    y: int = 0
    label: str = dataclasses.field(default="", compare=False)

    def __init__(self, x: int, y: int = 0, label: str = "") -> None:
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "label", label)


@frozen(eq=False)
class Node:
    child: object

    def __init__(self, child: object) -> None:
        object.__setattr__(self, "child", child)


def test_a_frozen_class_behaves_as_a_frozen_dataclass() -> None:
    p = Point(1, 2, "a")
    assert dataclasses.is_dataclass(p)
    assert [f.name for f in dataclasses.fields(p)] == ["x", "y", "label"]
    assert p == Point(1, 2, "other label") and p != Point(1, 3) and p != (1, 2)
    assert hash(p) == hash(Point(1, 2)) == hash((1, 2))
    assert repr(p) == "Point(x=1, y=2, label='a')"
    assert dataclasses.replace(p, y=5) == Point(1, 5)
    assert dataclasses.asdict(p) == {"x": 1, "y": 2, "label": "a"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.x  # type: ignore[misc]
    assert (p.x, p.y) == (1, 2)


def test_eq_false_keeps_identity_equality() -> None:
    a, b = Node(1), Node(1)
    assert a == a and a != b and len({a, b}) == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.child = 2  # type: ignore[misc]


def test_a_frozen_class_must_write_its_init() -> None:
    with pytest.raises(TypeError, match="must define its own __init__"):

        @frozen
        class NoInit:
            x: int


# The modules a first repository read imports; their frozen value classes are @frozen records.
FIRST_READ = [
    errors,
    actions,
    base,
    keys,
    mapping,
    codegen,
    converters,
    planner,
    specification,
    batch,
    retry,
]


@pytest.mark.parametrize("module", FIRST_READ, ids=lambda m: m.__name__)
def test_frozen_value_classes_compile_no_code_at_import(module: ModuleType) -> None:
    # dataclass(frozen=True) compiles the methods it generates (their code comes from
    # "<string>"): about half a millisecond a class at import.
    frozen_classes = [
        c
        for c in vars(module).values()
        if inspect.isclass(c)
        and c.__module__ == module.__name__
        and dataclasses.is_dataclass(c)
        and (c.__dataclass_params__.frozen or c.__setattr__ is not object.__setattr__)  # type: ignore[attr-defined]
    ]
    assert frozen_classes
    for cls in frozen_classes:
        for name in ("__init__", "__eq__", "__repr__", "__setattr__", "__delattr__"):
            code = getattr(getattr(cls, name), "__code__", None)
            assert code is None or code.co_filename != "<string>", (cls, name)
