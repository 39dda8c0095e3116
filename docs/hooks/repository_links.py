"""MkDocs hook (mkdocs.yml `hooks:`): links that leave docs/ for repository files, and GitHub's anchors.

The pages link to files outside docs/ (`../results/study/REPORT.md`, `../configs/`, figures), as
they must to work where most people read them, on GitHub. MkDocs knows only the files of docs/,
so it reports each such link as not found, which `strict: true` turns into a failed build. This
hook keeps that report, a warning that fails the build, only where the target is missing from the
repository too: a link that leaves docs/ and lands on a file or folder the repository has is
logged at DEBUG instead. Links between the pages of docs/, and their #anchors, are MkDocs' own
checks and stay warnings (`validation:` in mkdocs.yml). tests/test_docs.py checks the links out
of docs/ and their #anchors independently.

Headings get GitHub's anchors (lower case; everything but letters, digits, `_`, `-` and spaces
dropped; each space a `-`), so `page.md#anchor` names the same heading on GitHub and in the site.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

_LINK_WARNING = re.compile(r"^Doc file '(?P<page>[^']+)' contains (?:a link|an unrecognized relative link) '(?P<url>[^']+)'")


def github_slug(value: str, separator: str = "-") -> str:
    """The anchor GitHub gives a heading whose text is `value`."""
    return re.sub(r"[^\w\- ]", "", value.strip().lower()).replace(" ", separator)


class _RepositoryLinks(logging.Filter):
    """Demotes MkDocs' "not found" for a link out of docs/ whose target the repository has."""

    def __init__(self, docs_dir: Path) -> None:
        super().__init__()
        self.docs_dir = docs_dir

    def filter(self, record: logging.LogRecord) -> bool:
        found = record.levelno >= logging.WARNING and _LINK_WARNING.match(record.getMessage())
        if found:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(found["page"]), unquote(urlsplit(found["url"]).path)))
            if target.startswith("../") and (self.docs_dir / target).exists():
                record.msg, record.args = f"{record.getMessage()} It is a repository file outside docs/: left as is.", ()
                record.levelno, record.levelname = logging.DEBUG, "DEBUG"
                return logging.getLogger("mkdocs").isEnabledFor(logging.DEBUG)  # shown with --verbose only
        return True


def on_config(config):
    logger = logging.getLogger("mkdocs.structure.pages")
    for old in [f for f in logger.filters if type(f).__name__ == _RepositoryLinks.__name__]:  # `mkdocs serve` reloads the hook
        logger.removeFilter(old)
    logger.addFilter(_RepositoryLinks(Path(config.docs_dir)))
    config.mdx_configs.setdefault("toc", {})["slugify"] = github_slug
    return config
