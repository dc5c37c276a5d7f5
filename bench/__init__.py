"""Benchmarks of issue #8: `python -m bench` (full) or `python -m bench --quick --check` (CI)."""
