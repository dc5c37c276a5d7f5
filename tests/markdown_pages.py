"""Run the Python examples of README.md and docs/*.md as tests, page by page (adr/0013).

Each page is one test item. Its ```python fences run top to bottom in one fresh module
namespace, as a reader would paste them into one interpreter: nothing is injected, so a page
states its own imports and setup. A fence whose info string carries the class `.notest`
(```python {.notest}, the attribute syntax mkdocs-material's superfences renders) is shown,
not run; keep those to short fragments.

Fences are compiled with the page as their file name and their real line numbers, so a failure
shows the page, the line and that line's text like any Python traceback.
"""

from __future__ import annotations

import re
import sys
import traceback
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PYTHON = frozenset({"python", "py", "python3"})
_OPENING = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass(frozen=True)
class Fence:
    line: int  # 1-based line of the opening ``` in the page
    info: str
    code: str

    @property
    def language(self) -> str:
        words = self.info.split()
        return words[0].lower() if words else ""

    @property
    def runs(self) -> bool:
        attributes = re.findall(r"\{([^}]*)\}", self.info)
        skipped = any(".notest" in group.split() for group in attributes)
        return self.language in PYTHON and not skipped


def fences(text: str) -> list[Fence]:
    """Every fenced code block of a CommonMark page, in order (indented blocks are not fences)."""
    found: list[Fence] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = _OPENING.match(lines[i])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            i += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not closing.match(lines[j]):
            line = lines[j]
            strip = len(line) - len(line.lstrip(" "))
            body.append(line[min(indent, strip) :])
            j += 1
        found.append(Fence(i + 1, opening["info"].strip(), "\n".join(body) + "\n"))
        i = j + 1
    return found


def is_page(path: Path, root: Path) -> bool:
    """README.md at the root and every Markdown page under docs/."""
    if path.suffix != ".md":
        return False
    try:
        relative = path.relative_to(root)
    except ValueError:
        return False
    return relative == Path("README.md") or relative.parts[0] == "docs"


class MarkdownPage(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        runnable = [f for f in fences(self.path.read_text("utf-8")) if f.runs]
        if runnable:
            yield PageExamples.from_parent(self, name="examples", fences=runnable)


class PageExamples(pytest.Item):
    def __init__(self, *, fences: list[Fence], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fences = fences
        self.failed_fence: Fence | None = None

    def runtest(self) -> None:
        page = self.path.relative_to(self.config.rootpath)
        name = "docs_page_" + re.sub(r"\W", "_", str(page.with_suffix("")))
        module = types.ModuleType(name)
        module.__file__ = str(self.path)
        # Registered while the page runs, so that dataclasses and typing.get_type_hints find
        # the module of the classes a page defines, as they would in a script.
        sys.modules[name] = module
        try:
            for fence in self.fences:
                self.failed_fence = fence
                # Padding with blank lines keeps the page's own line numbers in tracebacks.
                source = "\n" * fence.line + fence.code
                exec(compile(source, str(self.path), "exec"), module.__dict__)
            self.failed_fence = None
        finally:
            del sys.modules[name]

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> Any:
        page = self.path.relative_to(self.config.rootpath)
        fence = self.failed_fence
        where = (
            f"{page}: the python fence at line {fence.line} failed; the page's fences run top "
            "to bottom in one namespace, and those above it ran."
            if fence is not None
            else f"{page}: the page's examples failed."
        )
        error = excinfo.value
        if isinstance(error, SyntaxError) and error.filename == str(self.path):
            # Raised by compile(): no frame of the page to show, only the line.
            lines = traceback.format_exception_only(type(error), error)[1:]  # not "File ..."
            return f"{page}:{error.lineno}: SyntaxError\n{''.join(lines)}\n{where}"
        # The collector's own frames say nothing to a reader: start at the page.
        excinfo.traceback = excinfo.traceback.cut(path=self.path)
        report = excinfo.getrepr(style="short", chain=True, funcargs=False)
        report.addsection("page", where)
        return report

    def reportinfo(self) -> tuple[Path, int, str]:
        page = self.path.relative_to(self.config.rootpath)
        return self.path, self.fences[0].line - 1, f"{page}: python examples"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_page(file_path, parent.config.rootpath):
        return MarkdownPage.from_parent(parent, path=file_path)
    return None
