"""The package's own import graph: no circle, and no module takes another module's private name.

Read from the source with `ast`, so it holds whatever import-linter's contracts say: every import
counts, including those inside functions and under `if TYPE_CHECKING:`. A name shared between
modules is not private; it goes without the leading underscore.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "persistence"


def _modules(package: Path = PACKAGE) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, whether it is a package's __init__)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = (path, is_package)
    return out


def _imports(
    name: str, path: Path, is_package: bool
) -> Iterator[tuple[str, str | None, str | None, int]]:
    """(imported module, name taken from it or None, local name bound, line) for every import
    in the file."""
    package = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, alias.asname, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            for alias in node.names:
                yield target, alias.name, alias.asname or alias.name, node.lineno


def graph(package: Path = PACKAGE) -> tuple[dict[str, set[str]], list[str]]:
    """The module graph inside the package, and every use of another module's private name."""
    modules = _modules(package)
    aliases: dict[str, dict[str, str]] = {}  # module -> local name bound to a package module
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[str] = []
    for name, (path, is_package) in modules.items():
        bound = aliases.setdefault(name, {})
        for target, imported, local, line in _imports(name, path, is_package):
            where = f"{path.relative_to(package.parent)}:{line}"
            submodule = f"{target}.{imported}" if imported else None
            if submodule is not None and submodule in modules:
                edges[name].add(submodule)
                if local:
                    bound[local] = submodule
            elif target in modules:
                if imported is None and local:
                    bound[local] = target  # import package.module as local
                edges[name].add(target)
                if imported and imported.startswith("_") and target != name:
                    private.append(f"{where}: from {target} import {imported}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
            ):
                private.append(
                    f"{path.relative_to(package.parent)}:{node.lineno}: "
                    f"{bound[node.value.id]}.{node.attr}"
                )
    for name in modules:
        edges[name].discard(name)
    return edges, private


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle of the graph, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_the_package_imports_in_no_circle() -> None:
    edges, _ = graph()
    found = cycle(edges)
    assert found is None, "import circle: " + " -> ".join(found or [])


def test_no_module_takes_another_modules_private_name() -> None:
    _, private = graph()
    assert private == [], "private names used across modules:\n" + "\n".join(private)


def test_the_checks_see_a_circle_inside_a_function_and_a_private_name(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "b.py").write_text(
        "def f():\n    from ..a import _hidden\n    from .. import a\n    return a._other\n"
    )
    edges, private = graph(package)
    assert cycle(edges) in (["pkg.a", "pkg.sub.b", "pkg.a"], ["pkg.sub.b", "pkg.a", "pkg.sub.b"])
    assert private == [
        "pkg/sub/b.py:2: from pkg.a import _hidden",
        "pkg/sub/b.py:4: pkg.a._other",
    ]


@pytest.mark.parametrize("layer", ["model", "query", "write", "session", "messaging", "runtime"])
def test_no_core_layer_imports_a_backend(layer: str) -> None:
    edges, _ = graph()
    backends = ("persistence.backends.memory", "persistence.backends.dynamodb")
    reaching = sorted(
        f"{source} -> {target}"
        for source, targets in edges.items()
        if source.startswith(f"persistence.{layer}")
        for target in targets
        if target.startswith(backends)
    )
    assert reaching == []
