"""Run every suite and print the table; write the report only where asked.

python -m bench                  full run (about 1-2 minutes), the table on stdout
python -m bench --quick          CI mode: fewer repetitions
python -m bench --output DIR     also write the report into DIR: performance.md, its bar chart
                                 performance.svg and the scaling charts performance-*.svg
                                 (a FILE.md names the report itself, the charts go next to it)
python -m bench --update-docs    regenerate the tracked docs/performance.md and .svg
python -m bench --check          exit 1 when a goal is missed by more than MARGIN x its target
                                 (request counts must match exactly): a wide margin, so a noisy
                                 CI machine never fails, but a regression cannot land silently.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import sys
import time
from pathlib import Path

import structlog

from .report import markdown, scaling_svg, svg, table
from .suites import SCALING, SUITES, Row, Settings

MARGIN = 3.0
DOCS = Path(__file__).resolve().parent.parent / "docs"


def regressions(rows: list[Row]) -> list[str]:
    out = []
    for row in rows:
        if row.target is None:
            continue
        if row.unit == "requests":
            expected = row.floor if row.floor is not None else row.target
            if row.value != expected:
                out.append(
                    f"{row.goal}: {row.label}: {row.value:g} requests, expected {expected:g}"
                )
            continue
        figure = row.ratio if row.floor is not None else row.value
        if figure is not None and figure > row.target * MARGIN:
            out.append(f"{row.goal}: {row.label}: {figure:.2f} > {MARGIN:g} x {row.target:g}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="CI mode: short runs")
    parser.add_argument("--check", action="store_true", help="fail on a wide goal miss")
    parser.add_argument(
        "--output",
        metavar="DIR",
        type=Path,
        help="write the report (performance.md) and its charts into DIR; a path ending in .md "
        "names the report file itself, the charts go next to it",
    )
    parser.add_argument(
        "--machine",
        default="",
        help="a word on the machine for the report (e.g. 'shared CI runner')",
    )
    parser.add_argument(
        "--update-docs",
        action="store_true",
        help="regenerate the tracked docs/performance.md and docs/performance.svg",
    )
    args = parser.parse_args(argv)
    if args.output is not None and args.output.suffix == ".svg":
        parser.error("--output names the markdown report; the chart goes next to it as .svg")
    # The library logs through structlog and never configures it; keep debug lines out of timings.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    settings = Settings(quick=args.quick)
    rows: list[Row] = []
    skipped: list[str] = []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    started = time.perf_counter()
    for suite in SUITES:
        t = time.perf_counter()
        rows.extend(suite(settings, skipped))
        print(f"# {suite.__name__}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    elapsed = time.perf_counter() - started
    today = datetime.date.today().isoformat()
    env = (
        f"Python {platform.python_version()} on {platform.machine()} ({platform.system()}), "
        f"{os.cpu_count()} cores, load average {load:.1f} at start"
        f"{', ' + args.machine if args.machine else ''}; "
        f"{'quick' if args.quick else 'full'} run of {elapsed:.0f} s on {today}"
    )
    skipped = sorted(set(skipped))
    print(table(rows))
    if skipped:
        print(f"\nskipped peers (not installed): {', '.join(skipped)}")
    targets = []
    if args.output is not None:
        suffix = args.output.suffix == ".md"
        targets.append(args.output if suffix else args.output / "performance.md")
    if args.update_docs:
        targets.append(DOCS / "performance.md")
    for target in targets:
        chart = target.with_suffix(".svg")
        charts = {
            target.with_name(f"{target.stem}-scaling-{k}.svg"): scaling_svg(series)
            for k, series in zip(("read", "commit"), SCALING, strict=False)
        }
        target.parent.mkdir(parents=True, exist_ok=True)
        page = markdown(
            rows,
            env,
            skipped,
            chart=chart.name,
            scaling=[(c.name, x) for c, x in zip(charts, SCALING, strict=False)],
        )
        target.write_text(page, encoding="utf-8")
        chart.write_text(svg(rows), encoding="utf-8")
        for path, text in charts.items():
            path.write_text(text, encoding="utf-8")
        print(f"wrote {target}, {chart} and {len(charts)} scaling charts", file=sys.stderr)
    if args.check:
        failed = regressions(rows)
        for line in failed:
            print(f"REGRESSION {line}", file=sys.stderr)
        if failed:
            return 1
        print(f"\nevery goal within {MARGIN:g}x of its target", file=sys.stderr)
    return 0
