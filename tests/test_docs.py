"""README.md stays a five-minute read and the reference lives in docs/: every relative link in README.md
and docs/*.md resolves (file and, for a Markdown target, the heading anchor), every docs page is linked
from README.md, and the hand-written rule table in docs/errors.md names every rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ppodoctor.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README] + sorted(DOCS.glob("*.md"))
README_LIMIT = 15_000  # bytes

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """The text outside fenced blocks and inline code, where a `](...)` is a link."""
    return _CODE.sub("", _FENCE.sub("", text))


def _anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1/-2 for repeats."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _links(path: Path) -> list[str]:
    return [target for target in _LINK.findall(_prose(path.read_text(encoding="utf-8")))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target)]  # https:, mailto: ... are not checked


def test_readme_is_short():
    size = README.stat().st_size
    assert size < README_LIMIT, f"README.md is {size} bytes; move reference material to docs/ (limit {README_LIMIT})"


def test_readme_starts_with_the_two_commands():
    first_block = README.read_text(encoding="utf-8").split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line.split("#", 1)[0].strip() for line in first_block.splitlines()]
    assert lines == ["bash scripts/setup && .venv/bin/ppodoctor check fixtures/guide/guide_ppo.py", "bash scripts/test"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in _links(page):
        file_part, _, anchor = target.partition("#")
        destination = (page.parent / file_part).resolve() if file_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in _anchors(destination):
            broken.append(f"{target}: no heading with anchor #{anchor}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(README.parent / t.partition("#")[0]).resolve() for t in _links(README) if t.partition("#")[0]}
    assert {p.resolve() for p in DOCS.glob("*.md")} <= linked


def test_the_error_table_names_every_rule():
    text = (DOCS / "errors.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| (PPD\d+) \| ([a-z0-9-]+) \| (error|warning) \|", text, re.M))
    assert rows == {(rule.code, rule.name, str(rule.severity)) for rule in all_rules()}


def test_the_link_checker_catches_a_broken_link(tmp_path):
    (tmp_path / "a.md").write_text("# Title\n\n## `x y`: z\n\n[ok](#x-y-z) [ok](a.md#title) [bad](#nope) [gone](b.md)\n"
                                   "`[code](not-a-link.md)`\n```\n[fenced](not-a-link.md)\n```\n")
    page = tmp_path / "a.md"
    assert _links(page) == ["#x-y-z", "a.md#title", "#nope", "b.md"]
    assert _anchors(page) == {"title", "x-y-z"}
