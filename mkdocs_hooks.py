"""mkdocs hooks: publish the decision records (adr/) with the guide and the reference.

The ADRs live in adr/ at the repository root, next to docs/, and the guide links to them as
repository files (`../adr/0009-injective-key-templates.md`), which is what a reader of the clone
or of the forge follows. mkdocs only reads docs_dir, so these hooks
- add every adr/*.md to the site as `adr/<name>.md` and to the nav under "Decisions";
- rewrite a relative link that, read as a path in the repository, lands on docs/ or adr/ into the
  same target's path on the site. Any other link keeps its text, so one pointing outside docs/ and
  adr/ (source files, ../shared) is still reported by `mkdocs build --strict`.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).parent
ADR_DIR = "adr"
DOCS_DIR = "docs"

# An inline link or image target: ](target) or ](target "title"); external and anchor-only
# targets are skipped below.
_LINK = re.compile(r"(\]\()(?P<target>[^)\s#]+)(?P<rest>[^)]*\))")


def _adrs() -> list[str]:
    return sorted(p.name for p in (ROOT / ADR_DIR).glob("*.md"))


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    nav = config.nav
    if nav is not None:
        nav.append({"Decisions": [f"{ADR_DIR}/{name}" for name in _adrs()]})
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for name in _adrs():
        files.append(
            File(
                f"{ADR_DIR}/{name}",
                src_dir=str(ROOT),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files


def _repository_path(page: Page) -> str:
    """Where the page's source sits in the repository."""
    src = page.file.src_uri
    return src if src.startswith(f"{ADR_DIR}/") else f"{DOCS_DIR}/{src}"


def _site_path(repository_path: str) -> str | None:
    if repository_path.startswith(f"{DOCS_DIR}/"):
        return repository_path[len(DOCS_DIR) + 1 :]
    if repository_path.startswith(f"{ADR_DIR}/"):
        return repository_path
    return None


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    here = posixpath.dirname(_repository_path(page))
    site_here = posixpath.dirname(page.file.src_uri)

    def relink(match: re.Match[str]) -> str:
        target = match["target"]
        if "://" in target or target.startswith(("/", "mailto:")):
            return match[0]
        site_target = _site_path(posixpath.normpath(posixpath.join(here, target)))
        if site_target is None:
            return match[0]
        new = posixpath.relpath(site_target, site_here or ".")
        return f"{match[1]}{new}{match['rest']}"

    return _LINK.sub(relink, markdown)
