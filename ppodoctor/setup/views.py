"""What a mapping holds where it is read, as the resolver sees it (mappings.py builds these): each key's
expression and whether every path sets it, and whether any key may be there that it does not show."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .context import Context


class Entry:
    """One key of a visible mapping: the expression it holds, and whether every path sets it.
    key_node: the key as an expression (a string literal), which a loop over the mapping binds;
    key_at: where the key is written, for fixes (also the keyword of `dict(name=...)`)."""

    __slots__ = ("node", "ctx", "certain", "key_node", "key_at")

    def __init__(self, node: cst.BaseExpression, ctx: Context, certain: bool = True,
                 key_node: Optional[cst.BaseExpression] = None, key_at: Optional[cst.CSTNode] = None) -> None:
        self.node, self.ctx, self.certain, self.key_node = node, ctx, certain, key_node
        self.key_at = key_at if key_at is not None else key_node


class View:
    """What a mapping holds where it is read. complete: no key can be there that `items` lacks."""

    __slots__ = ("items", "complete")

    def __init__(self) -> None:
        self.items: dict[str, Entry] = {}
        self.complete = True

    def hide(self) -> None:
        """Something unseen may add or override any key."""
        self.complete = False
        for entry in self.items.values():
            entry.certain = False

    def set(self, key: str, node: cst.BaseExpression, ctx: Context, certain: bool = True,
            key_node: Optional[cst.BaseExpression] = None, key_at: Optional[cst.CSTNode] = None) -> None:
        self.items[key] = Entry(node, ctx, certain, key_node, key_at)

    def merge(self, other: Optional["View"]) -> None:
        if other is None:
            self.hide()
            return
        if not other.complete:
            self.hide()
        self.items.update(other.items)

    @property
    def exact(self) -> bool:
        """Every key is known and set on every path: the keyword names a `**` of it supplies are known."""
        return self.complete and all(entry.certain for entry in self.items.values())
