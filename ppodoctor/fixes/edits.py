"""Text edits: the one thing every fix turns into, applied byte-exactly to the decoded source.

A fix never re-prints code it did not change: it names a range of the original text and what goes
there, so comments, quotes, spacing and line endings everywhere else survive untouched.
"""

from __future__ import annotations

import bisect
import re
from typing import Iterable, Sequence

from ..types import Edit

_NEWLINE = re.compile(r"\r\n|\r|\n")


def conflicts(a: Edit, b: Edit) -> bool:
    """Whether two edits cannot both be applied without one changing what the other meant.

    Overlapping ranges conflict; so does an insertion at the edge of another edit's range (which
    side of the replacement it lands on would be a guess). Two insertions at one point do not:
    they are applied in the order they were chosen.
    """
    if a == b:
        return False
    if a.is_insertion and b.is_insertion:
        return False
    if a.is_insertion:
        return b.start <= a.start <= b.end
    if b.is_insertion:
        return a.start <= b.start <= a.end
    return a.start < b.end and b.start < a.end


def apply(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-conflicting edits; identical edits count once; insertions at one point keep order."""
    unique: list[Edit] = []
    for edit in edits:
        if edit not in unique:
            unique.append(edit)
    ordered = sorted(enumerate(unique), key=lambda item: (item[1].start, item[1].end, item[0]))
    pieces, cursor = [], 0
    for _index, edit in ordered:
        if edit.start < cursor:
            raise ValueError(f"overlapping edits at offset {edit.start}")
        pieces.append(text[cursor:edit.start])
        pieces.append(edit.text)
        cursor = edit.end
    pieces.append(text[cursor:])
    return "".join(pieces)


class LineIndex:
    """1-based (line, column) positions, as Span uses them, to offsets in the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]

    def offset(self, line: int, column: int) -> int:
        if not 1 <= line <= len(self.starts):
            raise ValueError(f"line {line} is outside the file")
        return min(self.starts[line - 1] + column - 1, len(self.text))

    def position(self, offset: int) -> tuple[int, int]:
        """The 1-based (line, column) of an offset, as Span counts them."""
        index = bisect.bisect_right(self.starts, offset) - 1
        return index + 1, offset - self.starts[index] + 1

    def line_start(self, offset: int) -> int:
        return self.starts[bisect.bisect_right(self.starts, offset) - 1]

    def line_end(self, offset: int) -> int:
        """The offset just past the newline ending the line that holds `offset` (len(text) at EOF)."""
        match = _NEWLINE.search(self.text, offset)
        return match.end() if match else len(self.text)


def with_newline(text: str, newline: str) -> str:
    """Inserted text written with "\\n" gets the file's own line ending."""
    return _NEWLINE.sub(lambda _m: newline, text)


def select(groups: Sequence[tuple[Edit, ...]], taken: Sequence[Edit] = ()) -> list[int]:
    """Indexes of the edit groups that can be applied together, first come first served."""
    chosen: list[int] = []
    accepted = list(taken)
    for index, group in enumerate(groups):
        if any(conflicts(edit, other) for edit in group for other in accepted):
            continue
        if any(conflicts(a, b) for i, a in enumerate(group) for b in group[i + 1:]):
            continue
        chosen.append(index)
        accepted.extend(group)
    return chosen
