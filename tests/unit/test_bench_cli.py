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


def test_output_dir_writes_the_table_and_the_scaling_charts(
    docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import suites

    def scaled(settings: Settings, skipped: list[str]) -> list[Row]:
        suites.SCALING[:] = [
            suites.Series("reads", "items per page", (10, 100), {"floor": [1e-4, 1e-3]}),
            suites.Series("commits", "actions", (1, 10), {"persistence": [2e-4, 2e-3]}),
        ]
        return _suite(settings, skipped)

    monkeypatch.setattr(run, "SUITES", [scaled])
    out = tmp_path / "report"
    assert run.main(["--quick", "--output", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "performance-scaling-commit.svg",
        "performance-scaling-read.svg",
        "performance.md",
        "performance.svg",
    ]
    page = (out / "performance.md").read_text(encoding="utf-8")
    assert "(performance-scaling-read.svg)" in page and "cores" in page
    assert "<polyline" in (out / "performance-scaling-read.svg").read_text(encoding="utf-8")


def test_met_is_decided_on_the_median_of_the_per_round_ratios() -> None:
    # Median time 3.0 over a floor of 1.0 would say 3x; the rounds' own ratios say 1.9x.
    row = Row("g", "ours", 3.0, floor=1.0, target=2.0, ratios=[1.5, 1.9, 3.5, 1.8, 2.4])
    assert row.ratio == 1.9 and row.met
    assert row.spread == (1.5, 3.5)
    assert "1.50-3.50" in run.table([row])


def test_interleaved_rounds_rotate_the_order() -> None:
    from bench.timing import interleaved

    calls: list[str] = []
    contenders = [lambda n=n: calls.append(n) for n in "abc"]
    times = interleaved(contenders, rounds=3, budget=0.0)
    assert [len(t) for t in times] == [3, 3, 3]
    # two warm-up calls each, then one call per contender per round, starting one later each time
    assert "".join(calls[6:]) == "abc" + "bca" + "cab"
