"""What a fix would change, as text: for the terminal's small diff and SARIF's replacements.

"replace" fixes carry their text edits (1-based lines and columns, end exclusive, as Span), so they
are applied here directly. Structural fixes are computed by the fix engine's builders (imported
lazily: they pull in libcst's metadata machinery); when the engine cannot make the edit here, the
caller falls back to the fix's description.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Optional

from ..records import Record, record
from ..rules.base import Diagnostic

Edit = tuple[int, int, int, int, str]


def _offset(lines: list[str], line: int, column: int) -> int:
    # A position one past the last line is the end of the text (an insertion at the end of the file).
    if line > len(lines):
        return sum(len(item) for item in lines)
    return sum(len(item) for item in lines[:line - 1]) + column - 1


def apply_edits(text: str, edits: tuple[Edit, ...]) -> str:
    """Apply non-overlapping text edits; the later ones first so earlier offsets stay valid."""
    lines = text.splitlines(keepends=True)
    spans = sorted(((_offset(lines, a, b), _offset(lines, c, d), new) for a, b, c, d, new in edits),
                   reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def replace_edits(diagnostic: Diagnostic) -> tuple[Edit, ...]:
    fix = diagnostic.fix
    if fix is None or fix.kind != "replace":
        return ()
    return tuple(tuple(edit) for edit in fix.param("edits", ()) or ())


def fixed_text(file_report, diagnostic: Diagnostic) -> Optional[str]:
    """The whole file after this one fix, or None when it cannot be worked out here."""
    source = getattr(file_report, "source", None)
    if source is None or diagnostic.fix is None:
        return None
    edits = replace_edits(diagnostic)
    if edits:
        try:
            return apply_edits(source.text, edits)
        except (TypeError, ValueError):
            return None
    return _engine_fixed_text(source, getattr(file_report, "setup", None), diagnostic)


@lru_cache(maxsize=4)
def _source_map(text: str, newline: str):
    from ..fixes.source import SourceMap

    return SourceMap(text, newline)


def _engine_fixed_text(source, file_setup, diagnostic: Diagnostic) -> Optional[str]:
    try:
        from ..fixes.builders import BUILDERS
        from ..fixes.edits import apply
    except ImportError:
        return None
    builder = BUILDERS.get(diagnostic.fix.kind)
    index = diagnostic.setup_index
    if builder is None or file_setup is None or index is None or index >= len(file_setup.setups):
        return None
    try:
        edits = builder(diagnostic, file_setup.setups[index], _source_map(source.text, source.newline))
        return apply(source.text, edits)
    except Exception:  # a preview is decoration: a fix the engine declines must not break the report
        return None


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
    import difflib

    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return tuple(LineReplacement(i1 + 1, i2 + 1, "".join(new[j1:j2]))
                 for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")
