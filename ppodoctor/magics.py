"""IPython syntax in a notebook's code cells, masked so that Python's parsers read the cell.

IPython turns some lines into calls before Python sees them: line magics (`%pip install trl`),
shell escapes (`!nvidia-smi`, `files = !ls`), help (`?obj`, `obj?`, `obj??`), autocall (`/f x`,
`,f a b`, `;f a b`), automagic (`pip install trl` when no variable shadows `pip`) and, on a cell's
first line, cell magics (`%%capture`). It does so only at the start of a logical line: not inside
a string, brackets or a backslash continuation. Each such line is replaced by a line that keeps
the line count, parses wherever the magic stood (a `pass` statement, so that a magic as the only
line of an `if` block still leaves a block) and carries the original text in a comment, so that
`unmask` restores it byte for byte. Lines continued with a backslash become comments indented one
space deeper than the magic, which keeps the fix engine from inserting code between the magic and
its continuation (it only walks up over comments at a statement's own indentation).

A cell whose cell magic runs another language or writes a file (`%%bash`, `%%writefile x.py`) is not
part of the notebook's Python program; `%%capture`, `%%time`, `%%timeit`, `%%prun` and `%%debug`
run their body as Python.
"""

from __future__ import annotations

import re
from typing import Optional

PYTHON_CELL_MAGICS = frozenset({"capture", "time", "timeit", "prun", "debug"})
# Magics (and IPython's shell aliases) that users commonly call without `%`; a line is taken for one
# only if the word is followed by something Python cannot place after a name (another word, a
# string, a path), so `time = 5` or `env["X"]` stay Python.
AUTOMAGIC_WORDS = frozenset({
    "alias", "autoawait", "autocall", "automagic", "autoreload", "cat", "cd", "clear", "conda", "config",
    "cp", "env", "history", "less", "load", "load_ext", "ls", "mamba", "matplotlib", "micromamba", "mkdir",
    "more", "mv", "pip", "precision", "pwd", "reload_ext", "reset", "rm", "rmdir", "run", "set_env",
    "sx", "system", "time", "timeit", "unload_ext", "who", "whos", "xmode",
})
_NEWLINE = re.compile(r"\r\n|\r|\n")
_CELL_MAGIC = re.compile(r"[ \t]*%%([A-Za-z_][\w]*)")
_ASSIGNED_MAGIC = re.compile(r"[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*[ \t]*=[ \t]*[!%]")
_AUTOMAGIC = re.compile(r"([A-Za-z_]\w*)[ \t]+(?:[\w\"'/~-]|\.\.)")
_START = (None, 0, False)  # (open quote, bracket depth, backslash-continued): a fresh logical line


def lines_of(text: str) -> list[str]:
    """Lines with their endings, split where Python splits them (\\n, \\r\\n, \\r only)."""
    lines, start = [], 0
    for match in _NEWLINE.finditer(text):
        lines.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def _ending(line: str) -> int:
    """Where the line's ending starts."""
    return len(line.rstrip("\r\n"))


def mask_cell(source: str, tag: str) -> Optional[str]:
    """The cell as Python with each IPython line masked (same line count); None for a cell whose
    cell magic makes it something other than Python."""
    lines = lines_of(source)
    out: list[str] = []
    first = _CELL_MAGIC.match(lines[0]) if lines else None
    if first is not None:
        if first.group(1) not in PYTHON_CELL_MAGICS:
            return None
        out.append(_mask(lines[0], tag))
        lines = lines[1:]
    state = _START
    magic_indent: Optional[str] = None  # set while a masked magic continues with a backslash
    for line in lines:
        body = line[:_ending(line)]
        if magic_indent is not None:
            out.append(f"{magic_indent} # {tag}:more {line}")
            magic_indent = magic_indent if body.endswith("\\") else None
            continue
        scanned, code = _scan(state, body)
        if state == _START and _is_magic(body, code):
            out.append(_mask(line, tag))
            if body.endswith("\\"):
                magic_indent = _indent(body)
            continue
        state = scanned
        out.append(line)
    return "".join(out)


def _indent(text: str) -> str:
    return text[:len(text) - len(text.lstrip(" \t\f"))]


def _mask(line: str, tag: str) -> str:
    indent = _indent(line)
    return f"{indent}pass  # {tag}:magic {line[len(indent):]}"


def unmask(text: str, tag: str) -> tuple[str, tuple[int, ...]]:
    """The text with every masked line restored, and the sizes of the masked runs in order (a magic
    line and its continuations are one run), by which a caller can tell that none was split."""
    magic, more = f"pass  # {tag}:magic ", f"# {tag}:more "
    out: list[str] = []
    runs: list[int] = []
    in_run = False
    for line in lines_of(text):
        indent = _indent(line)
        rest = line[len(indent):]
        if rest.startswith(magic):
            out.append(indent + rest[len(magic):])
            runs.append(1)
            in_run = True
        elif in_run and indent.endswith(" ") and rest.startswith(more):
            out.append(rest[len(more):])
            runs[-1] += 1
        else:
            out.append(line)
            in_run = False
    return "".join(out), tuple(runs)


def _is_magic(body: str, code: str) -> bool:
    """Whether a line at the start of a logical line is IPython syntax. `code` is the line with its
    strings emptied and its comment removed."""
    stripped = body[len(_indent(body)):]
    if not stripped.strip():
        return False
    if stripped[0] in "%!?/;,":
        return True  # no Python statement starts with these
    if _ASSIGNED_MAGIC.match(stripped):
        return True
    automagic = _AUTOMAGIC.match(stripped)
    if automagic is not None and automagic.group(1) in AUTOMAGIC_WORDS:
        return True
    return code.rstrip().endswith("?")  # `obj?`, `obj??`: help


def _scan(state: tuple, body: str) -> tuple[tuple, str]:
    """Python's view of one line: the state after it (open string, bracket depth, continuation)
    and the line's code with string contents and the comment left out."""
    quote, depth, _continued = state
    code: list[str] = []
    index, size = 0, len(body)
    while index < size:
        if quote is not None:
            cursor = index
            while cursor < size and not body.startswith(quote, cursor):
                cursor += 2 if body[cursor] == "\\" else 1
            if cursor >= size:
                # Triple-quoted strings go on; a single-quoted one only after a backslash.
                if len(quote) == 1 and not body.endswith("\\"):
                    quote = None
                return (quote, depth, False), "".join(code)
            index = cursor + len(quote)
            quote = None
            code.append("''")
            continue
        char = body[index]
        if char == "#":
            return (None, depth, False), "".join(code)
        if char in "\"'":
            quote = body[index:index + 3] if body[index:index + 3] in ('"""', "'''") else char
            index += len(quote)
            continue
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        code.append(char)
        index += 1
    if quote is not None:  # a string opened at the very end of the line
        return (quote if len(quote) == 3 or body.endswith("\\") else None, depth, False), "".join(code)
    return (None, depth, body.endswith("\\")), "".join(code)
