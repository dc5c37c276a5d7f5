"""`python -m bench` writes its report only where asked: the tracked docs stay untouched unless
`--update-docs` says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import run
from bench.suites import Row, Settings


def _suite(settings: Settings, skipped: list[str]) -> list[Row]:
    return [Row("reads", "one row", 0.001, floor=0.001, target=2.0)]


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "performance.md").write_text("tracked\n", encoding="utf-8")
    monkeypatch.setattr(run, "DOCS", folder)
    monkeypatch.setattr(run, "SUITES", [_suite])
    return folder


def test_a_plain_run_prints_the_table_and_writes_nothing(docs: Path, capsys: Any) -> None:
    assert run.main([]) == 0
    assert "one row" in capsys.readouterr().out
    assert (docs / "performance.md").read_text(encoding="utf-8") == "tracked\n"
    assert sorted(p.name for p in docs.iterdir()) == ["performance.md"]


def test_output_writes_the_report_where_asked(docs: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "bench.md"
    assert run.main(["--quick", "--output", str(target)]) == 0
    report = target.read_text(encoding="utf-8")
    assert "one row" in report and "(bench.svg)" in report
    assert target.with_suffix(".svg").read_text(encoding="utf-8").startswith("<svg")
    assert (docs / "performance.md").read_text(encoding="utf-8") == "tracked\n"


def test_update_docs_regenerates_the_docs_page(docs: Path) -> None:
    assert run.main(["--quick", "--update-docs"]) == 0
    page = (docs / "performance.md").read_text(encoding="utf-8")
    assert "one row" in page and "--update-docs" in page and "(performance.svg)" in page
    assert (docs / "performance.svg").exists()


def test_output_names_the_markdown_file(docs: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        run.main(["--output", str(tmp_path / "chart.svg")])
