"""Offsets in a document's text ↔ LSP positions.

ppodoctor's spans are 1-based lines and 1-based code-point columns; LSP positions are 0-based
lines and 0-based columns counted in the negotiated encoding's code units (UTF-16 unless the
client offers another). Lines end at "\\r\\n", "\\r" or "\\n" only, as in LSP and Python's
tokenizer: str.splitlines would also break at form feeds and U+2028, and move every later line.
"""

from __future__ import annotations

import bisect
import re

_NEWLINE = re.compile(r"\r\n|\r|\n")
UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def units(text: str, encoding: str) -> int:
    """How many code units `text` takes in the encoding."""
    if encoding == UTF32:
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


class Lines:
    """A text's line starts, to turn offsets into (line, character) and back."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]

    def _line_text(self, line: int) -> str:
        start = self.starts[line]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def position(self, offset: int) -> tuple[int, int]:
        """(0-based line, character in code units) of a code-point offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        return line, units(self.text[self.starts[line]:offset], self.encoding)

    def offset(self, line: int, character: int) -> int:
        """The code-point offset of an LSP position; past the end of a line means its end, and a
        line past the last one means the end of the text (as LSP asks servers to treat them)."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        text = self._line_text(line)
        if self.encoding == UTF32 or text.isascii():
            return self.starts[line] + min(max(character, 0), len(text))
        counted = 0
        for index, char in enumerate(text):
            if counted >= character:
                return self.starts[line] + index
            counted += units(char, self.encoding)
        return self.starts[line] + len(text)

    @property
    def end(self) -> tuple[int, int]:
        return self.position(len(self.text))


def span_offsets(text: str, line: int, column: int, end_line: int, end_column: int) -> tuple[int, int]:
    """A ppodoctor span (1-based lines and code-point columns, end exclusive) as offsets in `text`."""
    # loaded on first use: the server answers `initialize` first
    from ..fixes.edits import LineIndex

    index = LineIndex(text)
    last = len(index.starts)
    start = index.offset(min(max(line, 1), last), max(column, 1))
    end = index.offset(min(max(end_line, 1), last), max(end_column, 1))
    return start, max(start, end)
