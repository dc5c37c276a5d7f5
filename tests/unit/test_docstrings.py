"""The reference site (docs/reference/) is generated from docstrings: every public name and every
public method must have one, and every public name must be on a reference page.

Public means: every name in `persistence.__all__`, and the public names (`__all__`, or else what
the module defines without a leading underscore) of the modules users import by name, listed in
PUBLIC_MODULES, plus every contract suite in persistence/testing/. Test methods of the contract
suites (`test_*`) are exempt: their names say what they check. persistence.testing.models holds
the suites' test aggregates (the reference shows the module's docstring only).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import persistence
import persistence.testing

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"

PUBLIC_MODULES = [
    "persistence",
    "persistence.aio",
    "persistence.backends.base",
    "persistence.containers",
    "persistence.iam",
    "persistence.lambda_runtime",
    "persistence.numbers",
    "persistence.repository",
    "persistence.retry",
    "persistence.tables",
    "persistence.testing",
    "persistence.testing.faults",
    "persistence.testing.harness",
    "persistence.testing.harness_aio",
    "persistence.testing.moto_server",
]
CONTRACT_MODULES = sorted(
    m.name
    for m in pkgutil.iter_modules(persistence.testing.__path__, "persistence.testing.")
    if m.name.rsplit(".", 1)[1].startswith("contract")
)


def public_names(module: ModuleType) -> list[str]:
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return list(declared)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    ]


def _own_doc(cls: type) -> str | None:
    """The class's own docstring: inspect.getdoc would inherit one from a base class, and a
    dataclass without one gets a generated `Name(field: type, ...)`."""
    doc = cls.__dict__.get("__doc__")
    if not doc or not doc.strip() or doc.startswith(f"{cls.__name__}("):
        return None
    return doc


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties defined in the library's classes of `cls`'s MRO."""
    out: dict[str, Any] = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("persistence"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in out:
                continue
            raw = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            if inspect.isfunction(raw) or isinstance(raw, property):
                out[name] = value
    return sorted(out.items())


def undocumented(module: ModuleType, *, exempt_tests: bool = False) -> list[str]:
    missing = [] if inspect.getdoc(module) else [module.__name__]
    for name in public_names(module):
        obj = getattr(module, name)
        where = f"{module.__name__}.{name}"
        if inspect.isclass(obj):
            if _own_doc(obj) is None:
                missing.append(where)
            for member, _ in _members(obj):
                if exempt_tests and member.startswith("test_"):
                    continue
                # A method overriding a documented one may rely on the base's docstring.
                if not inspect.getdoc(getattr(obj, member)):
                    missing.append(f"{where}.{member}")
        elif callable(obj) and not inspect.getdoc(obj):
            missing.append(where)
    return missing


def test_every_public_name_and_method_has_a_docstring() -> None:
    found = [m for name in PUBLIC_MODULES for m in undocumented(importlib.import_module(name))]
    found += [
        m
        for name in CONTRACT_MODULES
        for m in undocumented(importlib.import_module(name), exempt_tests=True)
    ]
    missing = "\n".join(sorted(set(found)))
    assert not missing, f"public names without a docstring:\n{missing}"


def test_the_check_sees_a_missing_docstring() -> None:
    module = ModuleType("persistence.example", "A module.")

    class Documented:
        """Has one."""

        def method(self) -> None:
            """Has one."""

        def bare(self) -> None:
            pass

    class Bare:
        pass

    for cls in (Documented, Bare):
        cls.__module__ = module.__name__
        setattr(module, cls.__name__, cls)
    assert sorted(undocumented(module)) == [
        "persistence.example.Bare",
        "persistence.example.Documented.bare",
    ]


def _directives() -> set[str]:
    return {
        match
        for page in REFERENCE.glob("*.md")
        for match in re.findall(r"^::: *([\w.]+)", page.read_text(encoding="utf-8"), re.M)
    }


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        return None


def test_every_public_name_is_on_a_reference_page() -> None:
    shown = _directives()
    # A module directive shows the module's public names, so a name of persistence.__all__ may
    # be shown as `persistence.Name` or through a module that exports it.
    objects = [getattr(persistence, d.split(".", 1)[1]) for d in shown if d.count(".") == 1]
    for module in filter(None, map(_import, shown)):
        if module is not persistence:
            objects += [getattr(module, name) for name in public_names(module)]
    missing = [
        f"persistence.{name}"
        for name in persistence.__all__
        if not any(getattr(persistence, name) is o for o in objects)
    ]
    missing += [m for m in [*PUBLIC_MODULES[1:], *CONTRACT_MODULES] if m not in shown]
    assert not missing, "not on any page of docs/reference/:\n" + "\n".join(missing)
