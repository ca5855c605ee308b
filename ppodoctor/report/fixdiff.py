"""What a fix would change, as text: for the terminal's small diff and SARIF's replacements.

The edits come from the finding's own rule (through the fix engine's one-finding preview, imported
lazily: it pulls in libcst's metadata machinery); when the rule declines here, the caller falls
back to the fix's title.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

from ..records import Record, record
from ..types import Diagnostic


def fix_edits(file_report, diagnostic: Diagnostic):
    """The Edits (offsets into the decoded text) of this one fix, or None when they cannot be had here."""
    source = getattr(file_report, "source", None)
    file_setup = getattr(file_report, "setup", None)
    if source is None or diagnostic.fix is None or file_setup is None:
        return None
    # the fix engine (libcst) loads only when fixes are shown
    from ..pipeline.engine import preview_edits

    try:
        return preview_edits(source.text, file_setup, diagnostic, getattr(file_report, "target", None),
                             _source_map(source.text, source.newline))
    except Exception:  # a preview is decoration: a fix the engine declines must not break the report
        return None


@lru_cache(maxsize=4)
def _source_map(text: str, newline: str):
    """One SourceMap for all of a file's previews: its parents and position index are built once."""
    # the fix engine (libcst) loads only when fixes are shown
    from ..fixes.source import SourceMap

    return SourceMap(text, newline)


def fixed_text(file_report, diagnostic: Diagnostic) -> Optional[str]:
    """The whole file after this one fix, or None when it cannot be worked out here."""
    edits = fix_edits(file_report, diagnostic)
    if edits is None:
        return None
    # the fix engine (libcst) loads only when fixes are shown
    from ..fixes.edits import apply

    return apply(file_report.source.text, edits)


@record
class Region(Record):
    """A replacement as SARIF wants it: 1-based line and column, end exclusive, and the new text."""

    line: int
    column: int
    end_line: int
    end_column: int
    text: str


def fix_regions(file_report, diagnostic: Diagnostic) -> Optional[tuple[Region, ...]]:
    edits = fix_edits(file_report, diagnostic)
    if not edits:
        return None
    # the fix engine (libcst) loads only when fixes are shown
    from ..fixes.edits import LineIndex

    lines = LineIndex(file_report.source.text)
    return tuple(Region(*lines.position(edit.start), *lines.position(edit.end), edit.text) for edit in sorted(edits))


def diff_lines(before: str, after: str, context: int = 1) -> list[str]:
    """Unified-diff hunks without the file header lines."""
    import difflib  # only a report with a fix to show pays for it

    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), n=context, lineterm="")
    return [line for line in lines if not line.startswith(("---", "+++"))]


@record
class LineReplacement(Record):
    """Whole lines [start, end) of the old text replaced by `text` (1-based; start == end inserts)."""

    start: int
    end: int
    text: str


def line_replacements(before: str, after: str) -> tuple[LineReplacement, ...]:
    """The change between two texts as whole-line replacements (a notebook's JSON lines, for SARIF)."""
    import difflib

    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return tuple(LineReplacement(i1 + 1, i2 + 1, "".join(new[j1:j2]))
                 for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
