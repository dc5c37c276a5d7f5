"""The collector that runs the docs' examples (tests/markdown_pages.py, adr/0013)."""

from __future__ import annotations

import textwrap

import pytest

from tests import markdown_pages
from tests.markdown_pages import fences

pytest_plugins = ["pytester"]


def page(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_fences_keep_their_lines_languages_and_markers() -> None:
    text = page(
        """
        # Title

        ```python
        a = 1
        ```

        ```sh
        echo no
        ```

        ```python {.notest}
        fragment(...)
        ```

        ````markdown
        ```python
        inside = "a longer fence"
        ```
        ````

        - a list item:

          ```py
          b = 2
          ```
        """
    )
    found = fences(text)
    assert [(f.line, f.language, f.runs) for f in found] == [
        (3, "python", True),
        (7, "sh", False),
        (11, "python", False),
        (15, "markdown", False),
        (23, "py", True),
    ]
    assert found[0].code == "a = 1\n"
    assert found[4].code == "b = 2\n"  # the list item's indentation is not part of the code


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # Only the collector under test: the installed plugins' start-up would dominate the run.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return pytester


def run_pages(pytester: pytest.Pytester, **pages: str) -> pytest.RunResult:
    for name, text in pages.items():
        path = pytester.path / name.replace("__", "/").replace("_md", ".md")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page(text), encoding="utf-8")
    return pytester.runpytest("-p", "no:cacheprovider", plugins=[markdown_pages])


def test_a_page_runs_top_to_bottom_in_one_namespace(pytester: pytest.Pytester) -> None:
    result = run_pages(
        pytester,
        README_md="""
            ```python
            import math
            radius = 2
            ```

            Some prose.

            ```python
            assert round(math.pi * radius**2, 2) == 12.57
            ```
            """,
        notes_md="""
            ```python
            raise AssertionError("only README.md and docs/ are pages")
            ```
            """,
    )
    result.assert_outcomes(passed=1)


def test_nothing_is_shared_between_pages_or_injected(pytester: pytest.Pytester) -> None:
    result = run_pages(
        pytester,
        docs__a_md="""
            ```python
            defined_on_a = 1
            ```
            """,
        docs__b_md="""
            ```python
            print(defined_on_a)
            ```
            """,
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*NameError: name 'defined_on_a' is not defined*"])


def test_a_failure_names_the_page_and_the_line(pytester: pytest.Pytester) -> None:
    result = run_pages(
        pytester,
        docs__guide_md="""
            # Guide

            ```python
            total = 1
            ```

            ```python {.notest}
            not_run()
            ```

            ```python
            total += 1
            assert total == 3, "the guide's sum is off"
            ```
            """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED docs/guide.md::examples - AssertionError: the guide's sum is off*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "docs/guide.md:13: in <module>",
            '    assert total == 3, "the guide\'s sum is off"',
            "E   AssertionError: the guide's sum is off",
            "*docs/guide.md: the python fence at line 11 failed*",
        ]
    )
    assert "markdown_pages.py" not in result.stdout.str()


def test_a_syntax_error_names_the_page_and_the_line(pytester: pytest.Pytester) -> None:
    result = run_pages(
        pytester,
        docs__broken_md="""
            ```python
            x = (
            ```
            """,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "docs/broken.md:2: SyntaxError",
            "    x = (",
            "*SyntaxError: '(' was never closed",
            "docs/broken.md: the python fence at line 1 failed*",
        ]
    )
    assert "markdown_pages.py" not in result.stdout.str()
