"""Every link in the project's Markdown leads somewhere inside the repository, and nothing
cites a document a user who clones Barista does not have: the README is a map of links into
``docs/`` and the packages, and a moved page must not leave a dead end behind."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# [text](target) and ![alt](target), not inside code spans; the target up to a space or ")".
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s[^)]*)?\)")
# Documents that only ever lived beside the repository, never in it.
OUTSIDE = ("DESIGN.md", "AWS_DEFAULTS.md", "NOTES.md", "STYLE.md", "../shared")


def _tracked(*patterns: str) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--", *patterns],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed]


def _without_code(text: str) -> str:
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", _without_code(page.read_text()), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def _dead_links(page: Path) -> list[str]:
    dead = []
    for target in LINK.findall(_without_code(page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: outside by design
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not _leads_to(resolved, anchor):
            dead.append(target)
    return dead


def _leads_to(resolved: Path, anchor: str) -> bool:
    if not resolved.is_relative_to(ROOT) or not resolved.exists():
        return False
    return not anchor or resolved.suffix != ".md" or anchor in _anchors(resolved)


def test_every_markdown_link_leads_to_a_file_or_heading_in_the_repository() -> None:
    pages = _tracked("*.md")
    assert len(pages) > 10
    dead = {str(page.relative_to(ROOT)): links for page in pages if (links := _dead_links(page))}
    assert dead == {}


def test_nothing_cites_a_document_outside_the_repository() -> None:
    files = _tracked("*.md", "*.py", "Makefile", "*.toml", "*.sh", "*.yml")
    citing = {
        str(path.relative_to(ROOT)): name
        for path in files
        if path.resolve() != Path(__file__).resolve()
        for name in OUTSIDE
        if name in path.read_text(errors="replace")
    }
    assert citing == {}
