"""Jupyter notebooks (.ipynb) read as one Python program, and written back cell by cell.

A notebook's code cells run in order in one namespace, so they are checked as one program, the
*program text*: each Python code cell, IPython lines masked (magics.py), after a marker line
` # ppodoctor:cell N` naming the cell (N counts every cell, markdown ones too, from 1, as ruff and
the editors number them). The markers make the text self-describing: any version of it, such as
one the fix engine has changed, tells which lines belong to which cell (CellMap), so diagnostics
name their cell, and a fixed text is split back into cells without tracking edit offsets. The
markers start with a space so that the fix engine, which walks up over comments at a statement's
indentation before inserting above it, never moves code across a cell boundary.

NotebookSource has the attributes of files.SourceText (text, encoding, bom, newline, raw), so the
check and fix pipelines take it as they are. `encode_text` writes a fixed text back by splicing
the original bytes: only the `source` value of a cell that changed is re-serialised, in the
notebook's own JSON style (list of lines or one string, indentation, line endings, escaping);
unchanged lines keep their original JSON strings. Everything else (metadata, outputs, execution
counts, key order, the trailing newline) stays byte for byte.

Imported only for .ipynb files (files.decode_named, and where a report meets a notebook); besides
its two helpers (magics.py: IPython lines; notebook_json.py: positions in the JSON) it imports only
the setup model's Span from ppodoctor.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar, Iterable, Optional

from .magics import lines_of, mask_cell, unmask
from .notebook_json import char_offsets, line_starts, source_values
from .types import Span

_MARKER = re.compile(r" # (ppodoctor_*):cell (\d+)(?:\r\n|\r|\n)?\Z")
_NON_ASCII_ESCAPE = re.compile(r"\\u(?!00[0-7][0-9a-fA-F])[0-9a-fA-F]{4}")
_BOM = b"\xef\xbb\xbf"
_PYTHON_LANGUAGES = ("python", "python3", "ipython", "ipython3")


class NotebookError(ValueError):
    """A notebook that cannot be read or written back; str() is the one-line cause."""


@dataclass(frozen=True)
class CodeCell:
    number: int  # 1-based, counting every cell of the notebook
    source: str  # as stored (a list's strings joined)
    value: tuple[int, int]  # the `source` value's span in the JSON text
    tokens: tuple[tuple[int, int], ...]  # the spans of its JSON strings (one when it is a string)
    is_list: bool
    program: Optional[str]  # its part of the program text after the marker; None: not Python


@dataclass(frozen=True)
class NotebookSource:
    """A notebook, with the attributes of files.SourceText: `text` is its program text."""

    text: str
    encoding: str
    bom: bool
    newline: str
    raw: bytes
    json_text: str
    cells: tuple[CodeCell, ...]  # every code cell, in order
    tag: str  # the marker word, chosen so that no cell's source contains it
    is_notebook: ClassVar[bool] = True

    def encode_text(self, text: str) -> bytes:
        """The notebook's bytes with its code cells holding `text` (a version of the program text)."""
        if text == self.text:
            return self.raw
        layout = cell_map(text)
        program = [cell for cell in self.cells if cell.program is not None]
        if layout.tag != self.tag or layout.prefix or layout.numbers != tuple(cell.number for cell in program):
            raise NotebookError("the fixed code does not keep to the notebook's cells; not written")
        replacements = []
        for cell, piece in zip(program, layout.pieces):
            if piece == cell.program:
                continue
            source, runs = unmask(piece, self.tag)
            if runs != unmask(cell.program, self.tag)[1]:
                raise NotebookError(f"a fix changed an IPython line in cell {cell.number}; not written")
            if cell.source and not cell.source.endswith(("\n", "\r")):
                source = _without_final_newline(source)  # the newline the program text added
            if source != cell.source:
                replacements.append((cell.value, self._serialised(cell, source)))
        json_text = self.json_text
        for (start, end), value in sorted(replacements, reverse=True):
            json_text = json_text[:start] + value + json_text[end:]
        return (_BOM if self.bom else b"") + json_text.encode("utf-8")

    def file_span(self, span: Span) -> Span:
        """Where a program-text span is in the .ipynb file itself: the line and column of the JSON
        string that holds the code, which is what an editor opens and GitHub annotates."""
        start = self._file_position(span.line, span.column)
        end = self._file_position(span.end_line, span.end_column)
        return Span(start[0], start[1], *max(start, end))

    def _file_position(self, line: int, column: int) -> tuple[int, int]:
        found = cell_map(self.text).locate(line, column)
        cell = next((c for c in self.cells if found and c.number == found[0]), None)
        if cell is None:
            return (1, 1)
        cell_starts = [0]
        for piece in lines_of(cell.source):
            cell_starts.append(cell_starts[-1] + len(piece))
        row = min(found[1], len(cell_starts)) - 1
        offset = min(cell_starts[row] + found[2] - 1, len(cell.source))
        index = cell.tokens[-1][1] - 1 if cell.tokens else cell.value[0]  # past the end: the closing quote
        for start, end in cell.tokens:
            offsets = char_offsets(self.json_text, start, end)
            if offset < len(offsets):
                index = offsets[offset]
                break
            offset -= len(offsets)
        starts = line_starts(self.json_text)
        row = bisect.bisect_right(starts, index)
        return (row, index - starts[row - 1] + 1)

    def _serialised(self, cell: CodeCell, source: str) -> str:
        import json

        ascii_only = self.json_text.isascii() and _NON_ASCII_ESCAPE.search(self.json_text) is not None
        if not cell.is_list:
            return json.dumps(source, ensure_ascii=ascii_only)
        known: dict[str, str] = {}
        for start, end in cell.tokens:
            known.setdefault(json.loads(self.json_text[start:end]), self.json_text[start:end])
        tokens = [known.get(line) or json.dumps(line, ensure_ascii=ascii_only) for line in lines_of(source)]
        if not tokens:
            return "[]"
        head, separator, tail = self._list_layout(cell)
        return "[" + head + separator.join(tokens) + tail + "]"

    def _list_layout(self, cell: CodeCell) -> tuple[str, str, str]:
        """What goes after `[`, between the strings and before `]`, as this notebook writes it."""
        text, (start, end), tokens = self.json_text, cell.value, cell.tokens
        if tokens:
            head, tail = text[start + 1:tokens[0][0]], text[tokens[-1][1]:end - 1]
            if len(tokens) > 1:
                return head, text[tokens[0][1]:tokens[1][0]], tail
            return head, ("," + head if "\n" in head else ", "), tail
        if "\n" not in text:
            return "", ", ", ""
        # An empty list: one string a line, indented one level below the `source` key.
        newline = "\r\n" if "\r\n" in text else "\n"
        key_line = text[text.rfind("\n", 0, start) + 1:]
        key_indent = key_line[:len(key_line) - len(key_line.lstrip(" \t"))]
        first_key = re.match(r"\s*\{[ \t]*\r?\n([ \t]*)", text)
        unit = first_key.group(1) if first_key and first_key.group(1) else " "
        return newline + key_indent + unit, "," + newline + key_indent + unit, newline + key_indent


def decode_notebook(data: bytes) -> NotebookSource:
    """Read a notebook's bytes; NotebookError says why they are not a notebook that can be checked."""
    import json

    bom = data.startswith(_BOM)
    try:
        json_text = (data[len(_BOM):] if bom else data).decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotebookError(f"not valid UTF-8 at byte {error.start + (len(_BOM) if bom else 0)}: {error.reason}")
    try:
        document = json.loads(json_text)
    except json.JSONDecodeError as error:
        raise NotebookError(f"invalid notebook JSON: {error.msg} at line {error.lineno} column {error.colno}")
    except RecursionError:
        raise NotebookError("invalid notebook JSON: nested too deeply")
    cells = _checked_cells(document)
    values = source_values(json_text)
    code = []
    for number, (cell, (value, tokens)) in enumerate(zip(cells, values), start=1):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if "\x00" in source:
            raise NotebookError(f"cell {number} contains a NUL character")
        code.append((number, source, value, tokens, isinstance(cell["source"], list)))
    if not code:
        raise NotebookError("notebook has no code cells")
    sources = "".join(item[1] for item in code)
    tag = "ppodoctor"
    while tag + ":" in sources:
        tag += "_"
    crlf = sources.count("\r\n")
    newline = "\r\n" if crlf and crlf >= sources.count("\n") - crlf else "\n"
    python = _is_python(document.get("metadata"))
    code_cells, parts = [], []
    for number, source, value, tokens, is_list in code:
        masked = mask_cell(source, tag) if python else None
        if masked and not masked.endswith(("\n", "\r")):
            masked += newline
        code_cells.append(CodeCell(number, source, value, tokens, is_list, masked))
        if masked is not None:
            parts.append(f" # {tag}:cell {number}{newline}{masked}")
    return NotebookSource("".join(parts), "utf-8", bom, newline, data, json_text, tuple(code_cells), tag)


def _checked_cells(document) -> list[dict]:
    if not isinstance(document, dict):
        raise NotebookError("not a Jupyter notebook: the JSON is not an object")
    if document.get("nbformat") != 4:
        found = document.get("nbformat")
        raise NotebookError(f"unsupported notebook format {found!r}: only nbformat 4 is read" if found is not None
                            else "not a Jupyter notebook: no `nbformat`")
    cells = document.get("cells")
    if not isinstance(cells, list):
        raise NotebookError("not a Jupyter notebook: no `cells` list")
    for number, cell in enumerate(cells, start=1):
        source = cell.get("source") if isinstance(cell, dict) else None
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str) or not (
                isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
            raise NotebookError(f"not a Jupyter notebook: cell {number} has no `cell_type` or no text `source`")
    return cells


def _is_python(metadata) -> bool:
    """Notebooks of other kernels (R, Julia) are not Python; one that does not say is."""
    if not isinstance(metadata, dict):
        return True
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        section = metadata.get(key)
        if isinstance(section, dict) and isinstance(section.get(field), str):
            return section[field].lower() in _PYTHON_LANGUAGES
    return True


def _without_final_newline(text: str) -> str:
    if text.endswith("\r\n"):
        return text[:-2]
    return text[:-1] if text.endswith(("\n", "\r")) else text


# --- the program text's layout --------------------------------------------------------------------
@dataclass(frozen=True)
class CellMap:
    """The cells of a program text: marker lines (1-based), cell numbers and each cell's text."""

    tag: Optional[str]
    prefix: str  # text before the first marker (none in a text this module made)
    markers: tuple[int, ...]
    numbers: tuple[int, ...]
    pieces: tuple[str, ...]

    def locate(self, line: int, column: int) -> Optional[tuple[int, int, int]]:
        """(cell, line, column) of a program-text position; None before the first cell."""
        index = bisect.bisect_right(self.markers, line) - 1
        if index < 0:
            return None
        return (self.numbers[index], max(1, line - self.markers[index]), column)


@lru_cache(maxsize=8)
def cell_map(text: str) -> CellMap:
    lines = lines_of(text)
    first = _MARKER.match(lines[0]) if lines else None
    if first is None:
        return CellMap(None, text, (), (), ())
    tag = first.group(1)
    markers, numbers, pieces = [], [], []
    for row, line in enumerate(lines, start=1):
        marker = _MARKER.match(line) if line.startswith(" # ") else None
        if marker is not None and marker.group(1) == tag:
            markers.append(row)
            numbers.append(int(marker.group(2)))
            pieces.append([])
        else:
            pieces[-1].append(line)
    return CellMap(tag, "", tuple(markers), tuple(numbers), tuple("".join(piece) for piece in pieces))


def place_in_cells(text: str, diagnostics: Iterable) -> tuple:
    """The diagnostics with `cell` and `cell_span` set from the program text they were found in."""
    layout = cell_map(text)
    placed = []
    for diagnostic in diagnostics:
        span = diagnostic.span
        start = layout.locate(span.line, span.column)
        if start is None:
            placed.append(diagnostic)
            continue
        end = layout.locate(span.end_line, span.end_column)
        if end is None or end[0] != start[0]:
            end = start
        cell_span = Span(start[1], start[2], end[1], end[2])
        placed.append(dataclasses.replace(diagnostic, cell=start[0], cell_span=cell_span))
    return tuple(placed)


def describe_line(text: str, line: int) -> str:
    """`cell 3, line 5` for a program-text line (`line 5` outside any cell)."""
    found = cell_map(text).locate(line, 1)
    return f"cell {found[0]}, line {found[1]}" if found else f"line {line}"


def describe_position(text: str, line: int, column: int) -> str:
    """`cell 3:5:9` for a program-text position, as locations are printed (`5:9` outside any cell)."""
    found = cell_map(text).locate(line, column)
    return f"cell {found[0]}:{found[1]}:{found[2]}" if found else f"{line}:{column}"


def _changed_cells(before: str, after: str) -> Optional[list[tuple[int, list[str], list[str]]]]:
    """Per changed cell, its lines before and after, unmasked; None when the layouts differ."""
    old, new = cell_map(before), cell_map(after)
    if old.tag is None or (old.tag, old.numbers, old.prefix) != (new.tag, new.numbers, new.prefix):
        return None
    return [(number, lines_of(unmask(a, old.tag)[0]), lines_of(unmask(b, old.tag)[0]))
            for number, a, b in zip(old.numbers, old.pieces, new.pieces) if a != b]


def cell_diff(path: str, before: str, after: str) -> str:
    """A unified diff per changed cell, headed `path:cell N` (as ruff shows notebook fixes)."""
    import difflib

    changed = _changed_cells(before, after)
    if changed is None:
        changed = [(0, lines_of(before), lines_of(after))]
    out = []
    for number, old, new in changed:
        name = f"{path}:cell {number}" if number else path
        out.extend(difflib.unified_diff([line.rstrip("\r\n") + "\n" for line in old],
                                        [line.rstrip("\r\n") + "\n" for line in new], name, name))
    return "".join(out)


def preview_lines(before: str, after: str, context: int = 1) -> list[str]:
    """The text report's fix preview: hunks within each changed cell, named in the hunk header."""
    import difflib

    out = []
    for number, old, new in _changed_cells(before, after) or []:
        for line in difflib.unified_diff([x.rstrip("\r\n") for x in old], [x.rstrip("\r\n") for x in new],
                                         n=context, lineterm=""):
            if line.startswith(("---", "+++")):
                continue
            out.append(f"{line} cell {number}" if line.startswith("@@") else line)
    return out
