"""Collects README.md and docs/*.md: their Python examples run as tests (adr/0013)."""

from tests.markdown_pages import pytest_collect_file

__all__ = ["pytest_collect_file"]
