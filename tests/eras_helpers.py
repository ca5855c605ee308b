"""Shared by the era tests: run the real checker at a version and apply "replace" fixes."""

from __future__ import annotations

from ppodoctor import api
from ppodoctor.config import Settings
from ppodoctor.trl_api.eras import Target


def check(source: str, version: str, select=()):
    report = api.check_source(source, "script.py", settings=Settings(select=tuple(select)), target=Target.of(version))
    assert report.error is None, report.error
    return report.diagnostics


def codes(source: str, version: str, select=()):
    return sorted(d.code for d in check(source, version, select))


def apply_edits(source: str, edits) -> str:
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return offsets[line - 1] + column - 1

    # Last edit first, so the offsets of the earlier ones stay valid.
    for line, column, end_line, end_column, text in sorted(edits, reverse=True):
        start, end = offset(line, column), offset(end_line, end_column)
        source = source[:start] + text + source[end:]
    return source


def fix_all(source: str, version: str, code: str, rounds: int = 5) -> str:
    """Apply the rule's replace-fixes until it has nothing more to fix (the engine's fixed point)."""
    for _ in range(rounds):
        fixes = [d.fix for d in check(source, version, (code,)) if d.fix is not None and d.fix.kind == "replace"]
        if not fixes:
            return source
        edits = [edit for fix in fixes for edit in fix.param("edits")]
        source = apply_edits(source, edits)
    return source
