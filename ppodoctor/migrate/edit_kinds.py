"""The port's own kinds of edit, and the passes over the whole edit list that rewrite.py runs last."""

from __future__ import annotations

from typing import NamedTuple

from ..fixes.edits import conflicts
from ..fixes.source import SourceMap
from ..types import Edit
from . import code


class Pending(NamedTuple):
    """A place the port must change but cannot: fails the file unless something removes it first.

    Shaped as an Edit (start, end, text), with the reason the port stops there."""

    start: int
    end: int
    text: str = ""
    reason: str = ""

    @property
    def is_insertion(self) -> bool:
        return self.start == self.end


class Block(Edit):
    """A replacement that swallows its range (a loop, a statement): edits inside it are dropped."""

    __slots__ = ()


def with_dead_code_removed(source: SourceMap, edits: list[Edit], candidates) -> list[Edit]:
    """Statements building objects nothing reads any more (to a fixed point: one removal frees another)."""
    removed: set[int] = set()
    changed = True
    while changed:
        changed = False
        for variable, statement in candidates:
            if id(statement) in removed:
                continue
            own = Block(*code.remove_statement(source, statement))
            inside = [e for e in edits if own.start <= e.start and e.end <= own.end and not
                      (e.is_insertion and e.start in (own.start, own.end))]
            others = [e for e in edits if e not in inside]
            if any(conflicts(own, e) and not e.is_insertion for e in others):
                continue
            if code.used_after(source, variable, others + [own]):
                continue
            edits = others + [own]
            removed.add(id(statement))
            changed = True
    return edits


def inside_block(edit: Edit, edits: list[Edit]) -> bool:
    return any(isinstance(other, Block) and other is not edit and other.start <= edit.start and edit.end <= other.end
               for other in edits)


def fold_edges(edits: list[Edit]) -> list[Edit]:
    """An insertion at the edge of a replacement joins it (the two would otherwise collide)."""
    hosts = [e for e in edits if not e.is_insertion]
    loose = []
    for edit in edits:
        if not edit.is_insertion:
            continue
        host = next((h for h in hosts if h.end == edit.start), None) or \
            next((h for h in hosts if h.start == edit.start), None)
        if host is None:
            loose.append(edit)
            continue
        text = host.text + edit.text if host.end == edit.start else edit.text + host.text
        hosts[hosts.index(host)] = type(host)(host.start, host.end, text)
    return hosts + loose
