"""A fixed text as the few small edits that turn the old text into it.

The fixes package gives the whole text after a fix (pipeline.engine.preview_text, fix_source().text); an
editor wants edits: one whole-document replacement would move the cursor, drop markers and fold
the undo history into one step. Lines are compared first (fixes insert or replace a few lines),
then each changed block is trimmed to the characters that differ.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass(frozen=True)
class Change:
    """Replace old[start:end] (code-point offsets) with `text`."""

    start: int
    end: int
    text: str


def _lines(text: str) -> list[str]:
    return _LINE.findall(text)


def changes(old: str, new: str) -> list[Change]:
    """Non-overlapping changes, in order, such that applying them all to `old` gives `new`."""
    if old == new:
        return []
    old_lines, new_lines = _lines(old), _lines(new)
    old_starts = [0]
    for line in old_lines:
        old_starts.append(old_starts[-1] + len(line))
    found = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        found.append(_trimmed(old_starts[i1], "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])))
    return found


def _trimmed(start: int, before: str, after: str) -> Change:
    prefix = 0
    limit = min(len(before), len(after))
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    if prefix and before[prefix - 1] == "\r" and before[prefix:prefix + 1] == "\n":
        prefix -= 1  # an edit never starts inside a "\r\n" line break
    suffix = 0
    while suffix < limit - prefix and before[len(before) - 1 - suffix] == after[len(after) - 1 - suffix]:
        suffix += 1
    if suffix and before[len(before) - suffix] == "\n" and before[len(before) - suffix - 1] == "\r":
        suffix -= 1  # nor ends inside one
    return Change(start + prefix, start + len(before) - suffix, after[prefix:len(after) - suffix])


def apply(text: str, found: list[Change]) -> str:
    """The text with the changes applied (what an editor does with the edits; the tests use it)."""
    pieces, cursor = [], 0
    for change in sorted(found, key=lambda c: (c.start, c.end)):
        pieces.append(text[cursor:change.start])
        pieces.append(change.text)
        cursor = change.end
    pieces.append(text[cursor:])
    return "".join(pieces)
