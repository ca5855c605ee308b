"""The first stages every command shares: read, decode, compile, screen.

`check`, `fix` and `migrate` (and the editor server, through `check`) see a file the same way: a
file the user named is decoded and compiled, and Python's refusal is its error (as ruff does); a
file met while walking a folder is decoded only when its bytes can hold a setup
(files.may_hold_setup), since nothing in it could be reported otherwise, its encoding included.
Python's parser (setup.relevance) then rules out most of the rest, so that libcst is imported only
for files that can matter. Parsing (core.parse_screened) is the next stage; the commands add
theirs after it.

Nothing here imports libcst: screening many files costs ~40 µs each.
"""

from __future__ import annotations

from typing import Optional, Union

from . import files
from .records import Record, record
from .setup.relevance import may_matter, tree_may_matter
from .types import Screen


@record
class Screened(Record):
    """One file after the cheap stages: what screening says, the decoded source where it got that
    far, and the one-line cause (and position) where it could not go on."""

    name: str
    screen: Screen
    source: Optional[files.SourceText] = None
    error: str = ""
    error_position: Optional[tuple[int, int]] = None

    @property
    def text(self) -> str:
        return self.source.text

    @classmethod
    def failed(cls, name: str, error: files.SourceError) -> "Screened":
        return cls(name, Screen.ERROR, error=str(error), error_position=error.position)


def screen(source: Union[str, bytes], name: str, named: bool = False) -> Screened:
    """Decode and screen one file's bytes (or an editor's text). `named`: the user named this file,
    so it is decoded and compiled whatever it holds (a notebook is judged by its own reader, cell by
    cell, so it is decoded as any other)."""
    raw = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
    strict = named and not files.is_notebook(name)
    try:
        if strict:
            decoded = files.decode_source(source, name)
            tree = files.compile_source(decoded.text, name)
            if not files.may_hold_setup(raw):
                return Screened(name, Screen.CLEAN, decoded)
            return Screened(name, Screen.CHECK if tree_may_matter(tree) else Screen.CLEAN, decoded)
        if not files.may_hold_setup_named(raw, name):
            return Screened(name, Screen.UNREAD)
        decoded = files.decode_source(source, name)
    except files.SourceError as error:
        return Screened.failed(name, error)
    return Screened(name, Screen.CHECK if may_matter(decoded.text) else Screen.CLEAN, decoded)


def screen_file(name: str, named: bool = False) -> Screened:
    """screen() of the file at `name`, read as files.read_bytes reads it."""
    try:
        data = files.read_bytes(name)
    except files.SourceError as error:
        return Screened.failed(name, error)
    return screen(data, name, named)
