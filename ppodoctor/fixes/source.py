"""Where things are in one version of the source: libcst nodes by span, statements, scopes, names.

The fixes compute their edits from the setup model; this map turns the model's spans back into
libcst nodes and answers what a fix must know before inserting code: which statement and block a
node sits in, the indentation there, and which names are visible at a point.
"""

from __future__ import annotations

import builtins
from typing import Optional, Sequence

import libcst as cst

from ..setup.recent import recall
from ..setup.resolve import Context, Resolver
from ..setup.scopes import Scope, collect
from ..types import Declined, Edit, Span
from .edits import LineIndex, with_newline

_BUILTINS = frozenset(dir(builtins))
_BLOCKS = (cst.Module, cst.IndentedBlock)
_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda, cst.Module)
_NODE = cst.CSTNode


class Elsewhere(Declined):
    """An edit at a span of another file than the map's (a module the script imports, or the script
    from a module's map): this map's offsets would put it in the wrong file. The fix engine computes
    the fix again over that file's map (pipeline/engine.py); anyone else declines it, with where."""

    def __init__(self, file: str, line: int) -> None:
        super().__init__(f"the cause is in {file or 'the checked script'}:{line}; edit it there")
        self.file, self.line = file, line


class SourceMap:
    """One file's text. `file`: "" for the checked file, else the other file's path as the setup
    model's spans name it (Span.file); a span of any other file raises Elsewhere."""

    def __init__(self, text: str, newline: str, file: str = "") -> None:
        self.text, self.newline, self.file = text, newline, file
        # The check has usually just parsed this very text; its tree and facts are read-only here.
        self.facts = recall(text) or collect(cst.parse_module(text))
        self.module = self.facts.module
        self.positions = self.facts.positions
        self.resolver = Resolver(self.facts)
        self.lines = LineIndex(text)
        self._parents: Optional[dict] = None
        self._by_span: Optional[dict] = None
        self._names: Optional[frozenset] = None
        self._name_counts: Optional[dict] = None

    def here(self, span: Optional[Span]) -> None:
        """Raise Elsewhere when `span` is in another file than this map's."""
        if span is not None and span.file != self.file:
            raise Elsewhere(span.file, span.line)

    @property
    def parents(self) -> dict:
        """Node → its parent, for every node (libcst's ParentNodeProvider costs ten times more)."""
        if self._parents is None:
            parents: dict = {}
            pending: list = [self.module]
            while pending:
                node = pending.pop()
                for child in _children(node):
                    parents[child] = node
                    pending.append(child)
            self._parents = parents
        return self._parents

    # --- positions ----------------------------------------------------------------------------
    def span(self, node: cst.CSTNode) -> Span:
        return self.resolver.span(node)

    def start(self, node: cst.CSTNode) -> int:
        position = self.positions[node].start
        return self.lines.offset(position.line, position.column + 1)

    def end(self, node: cst.CSTNode) -> int:
        position = self.positions[node].end
        return self.lines.offset(position.line, position.column + 1)

    def replace(self, node: cst.CSTNode, text: str) -> Edit:
        return Edit(self.start(node), self.end(node), text)

    def replace_span(self, span: Span, text: str, end_column: Optional[int] = None) -> Edit:
        """Replace the text a setup-model Span covers (or its first line up to `end_column`); "\\n" in
        `text` becomes the file's line ending."""
        self.here(span)
        start = self.lines.offset(span.line, span.column)
        end = self.lines.offset(span.line, end_column) if end_column is not None else \
            self.lines.offset(span.end_line, span.end_column)
        if end < start:
            raise Declined("an edit ends before it starts")
        return Edit(start, end, with_newline(text, self.newline))

    def insert_at(self, line: int, column: int, text: str) -> Edit:
        offset = self.lines.offset(line, column)
        return Edit(offset, offset, with_newline(text, self.newline))

    def node_at(self, span: Optional[Span], kind: type) -> cst.CSTNode:
        if span is None:
            raise Declined("its location is unknown")
        self.here(span)
        if self._by_span is None:
            self._by_span = {}
            for node, code_range in self.positions.items():
                key = (code_range.start.line, code_range.start.column + 1, code_range.end.line,
                       code_range.end.column + 1)
                self._by_span.setdefault(key, []).append(node)
        for node in self._by_span.get((span.line, span.column, span.end_line, span.end_column), ()):
            if isinstance(node, kind):
                return node
        raise Declined(f"no {kind.__name__} at {span.line}:{span.column}")

    # --- statements and blocks ----------------------------------------------------------------
    def parent(self, node: cst.CSTNode) -> Optional[cst.CSTNode]:
        return self.parents.get(node)

    def statement(self, node: cst.CSTNode) -> cst.SimpleStatementLine:
        """The statement line holding `node`, which must sit on its own line(s) in a block."""
        current: Optional[cst.CSTNode] = node
        while current is not None and not isinstance(current, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            if isinstance(current, (cst.Lambda, cst.BaseCompoundStatement)):
                raise Declined("the code sits in a lambda or a compound statement header")
            current = self.parent(current)
        if not isinstance(current, cst.SimpleStatementLine):
            raise Declined("the code shares its line with a compound statement (`if x: ...`)")
        return current

    def enclosing_blocks(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """The blocks around `node`, innermost first, up to its function (or the module)."""
        blocks = []
        current = self.parent(node)
        while current is not None:
            if isinstance(current, _BLOCKS):
                blocks.append(current)
            if isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                break
            current = self.parent(current)
        return blocks

    def indentation(self, statement: cst.CSTNode) -> str:
        start = self.start(statement)
        prefix = self.text[self.lines.line_start(start):start]
        if prefix.strip():
            raise Declined("the statement does not start its line")
        return prefix

    def insert_after(self, statement: cst.CSTNode, code: str) -> Edit:
        """Insert `code` as a statement on the line after `statement`, at its indentation."""
        indent = self.indentation(statement)
        end = self.end(statement)
        offset = self.lines.line_end(end)
        prefix = "" if offset > end and self.text[offset - 1] in "\r\n" else self.newline
        return Edit(offset, offset, prefix + indent + code + self.newline)

    def insert_before(self, statement: cst.CSTNode, code: str) -> Edit:
        """Insert `code` as a statement before `statement` and before the comments directly above it."""
        indent = self.indentation(statement)
        offset = self.lines.line_start(self.start(statement))
        while offset > 0:
            previous = self.lines.line_start(offset - 1)
            line = self.text[previous:offset].rstrip("\r\n")
            if not line.strip().startswith("#") or not line.startswith(indent) or \
                    line[len(indent):len(indent) + 1].isspace():
                break
            offset = previous
        return Edit(offset, offset, indent + code + self.newline)

    # --- scopes and names ---------------------------------------------------------------------
    def scope_of(self, node: cst.CSTNode) -> Scope:
        """The scope a node is evaluated in, found through the call sites the walk recorded."""
        current: Optional[cst.CSTNode] = node
        while current is not None:
            for site in self.facts.calls:
                if site.node is current:
                    return site.scope
            current = self.parent(current)
        return self.facts.root

    def visible(self, expression: str, scope: Scope, position: tuple[int, int]) -> bool:
        """Whether every name `expression` reads is bound at `position` in `scope` (or is a builtin)."""
        try:
            node = cst.parse_expression(expression)
        except cst.ParserSyntaxError:
            return False
        ctx = Context(scope, position)
        for name in _read_names(node):
            if name in _BUILTINS:
                continue
            binding, _scope, ambiguous = self.resolver.lookup(name, ctx)
            if binding is None or ambiguous:
                return False
        return True

    def position_after(self, node: cst.CSTNode) -> tuple[int, int]:
        end = self.positions[node].end
        return (end.line, end.column)

    def position_before(self, node: cst.CSTNode) -> tuple[int, int]:
        start = self.positions[node].start
        return (start.line, start.column)

    def name_count(self, name: str) -> int:
        """How many times the file binds or reads the variable `name` (keyword names and attribute
        names are not variables)."""
        if self._name_counts is None:
            counts: dict[str, int] = {}
            labels: set[int] = set()
            for node in _walk(self.module):
                if type(node) is cst.Arg and node.keyword is not None:
                    labels.add(id(node.keyword))
                elif type(node) is cst.Attribute:
                    labels.add(id(node.attr))
                elif type(node) is cst.Name and id(node) not in labels:
                    counts[node.value] = counts.get(node.value, 0) + 1
            self._name_counts = counts
        return self._name_counts.get(name, 0)

    def free_name(self, candidates: Sequence[str]) -> str:
        """The first candidate no name in the file uses, else a numbered variant of the first."""
        if self._names is None:
            self._names = frozenset(node.value for node in _walk(self.module) if type(node) is cst.Name)
        for name in candidates:
            if name not in self._names:
                return name
        number = 2
        while f"{candidates[0]}_{number}" in self._names:
            number += 1
        return f"{candidates[0]}_{number}"


def _children(node: cst.CSTNode) -> list[cst.CSTNode]:
    # A node's children are the nodes in its dataclass fields, alone or in sequences. Reading the
    # fields directly skips libcst's visit, which rebuilds every node it passes.
    # The test is on the MRO, not isinstance: CSTNode is an ABC, and a cold negative isinstance
    # (a str, a sentinel) walks all of its hundreds of subclasses.
    found = []
    for name in type(node).__dataclass_fields__:
        value = getattr(node, name)
        if _NODE in type(value).__mro__:
            found.append(value)
        elif type(value) in (tuple, list):
            found.extend(item for item in value if _NODE in type(item).__mro__)
    return found


def _walk(root: cst.CSTNode):
    """Every node under `root`, `root` first (parents before their children)."""
    pending = [root]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(_children(node))


class _ReadNames(cst.CSTVisitor):
    def __init__(self, lambdas: bool) -> None:
        self.names: list[cst.Name] = []
        self.lambdas = lambdas

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return self.lambdas

    def visit_Name(self, node: cst.Name) -> None:
        self.names.append(node)


def read_names(node: cst.CSTNode, lambdas: bool = False) -> list[cst.Name]:
    """The names `node` reads, in order: an attribute's base, an argument's value (not its keyword);
    a lambda's body only with `lambdas` (otherwise it reads them when called, not here)."""
    reader = _ReadNames(lambdas)
    node.visit(reader)
    return reader.names


def _read_names(node: cst.CSTNode) -> list[str]:
    return [name.value for name in read_names(node)]
