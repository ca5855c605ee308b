"""Node positions at a fraction of PositionProvider's cost, and each node's source text by slicing.

libcst's PositionProvider regenerates the module with a state that splits every token with a
regular expression and builds two frozen CodePosition objects and a CodeRange per node: about twice
the cost of parsing. The same codegen with a state that only adds up token lengths records each
node's (start, end) character offsets for a fraction of that; lines and columns are computed for
the few nodes anyone asks about. The ranges are PositionProvider's own (the same syntactic ranges,
the same "first recorded wins" rule), so `Positions` stands in for its result mapping.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from typing import Iterator

import libcst as cst
from libcst._position import CodePosition, CodeRange
from libcst._nodes.internal import CodegenState

_NEWLINE = re.compile(r"\r\n?|\n")  # PositionProvider's own notion of a line break


class _Syntactic:
    """record_syntactic_position as a plain context manager (contextlib's generator costs more)."""

    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(self, state: "_OffsetState", node, start_node, end_node) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = self.state.offset

    def __exit__(self, *exc) -> None:
        state = self.state
        computed = state.computed
        start = computed[id(self.start_node)][0] if self.start_node is not None else self.start
        end = computed[id(self.end_node)][1] if self.end_node is not None else state.offset
        key = id(self.node)
        if key not in computed:
            state.nodes.append(self.node)
        computed[key] = (start, end)


class _OffsetState(CodegenState):
    """Offsets keyed by id(node): a CSTNode's __hash__ is a Python method, id() is not (one hash per
    node and per lookup: ~5 % of this codegen). `nodes` keeps every recorded node alive, so that no
    id is reused by a node the codegen makes on the fly and drops."""

    __slots__ = ("offset", "computed", "stack", "nodes")

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.offset = 0
        self.computed: dict[int, tuple[int, int]] = {}
        self.stack: list = []
        self.nodes: list = []  # the recorded nodes, in the order their offsets were first recorded

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.tokens.append(token)
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def before_codegen(self, node) -> None:
        self.stack.append(self.offset)

    def after_codegen(self, node) -> None:
        # A syntactic range recorded inside the node's own codegen stays.
        start = self.stack.pop()
        key = id(node)
        computed = self.computed
        if key not in computed:
            computed[key] = (start, self.offset)
            self.nodes.append(node)

    def record_syntactic_position(self, node, *, start_node=None, end_node=None) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


class Positions:
    """node → CodeRange, as PositionProvider's mapping, built on demand from character offsets."""

    def __init__(self, module: cst.Module) -> None:
        state = _OffsetState(module)
        module._codegen(state)
        self._index("".join(state.tokens), state.computed, state.nodes)

    @classmethod
    def of_text(cls, code: str) -> "Positions":
        """Positions in a text that is no Python module (a data file): empty until nodes are recorded."""
        made = cls.__new__(cls)
        made._index(code, {}, [])
        return made

    def _index(self, code: str, offsets: dict, nodes: list) -> None:
        self.offsets: dict[int, tuple[int, int]] = offsets  # id(node) → (start, end)
        self._nodes = nodes
        self.code = code
        self._line_starts = [0, *(match.end() for match in _NEWLINE.finditer(code))]
        self._ranges: dict = {}

    def offsets_of(self, node) -> tuple[int, int]:
        return self.offsets[id(node)]

    def record(self, node, start: int, end: int) -> None:
        """Places a node made from the source's text (data parsed out of a string literal) at its
        characters; the node is kept alive with the others, so its id is never reused."""
        self.offsets[id(node)] = (start, end)
        self._nodes.append(node)

    def line_column(self, offset: int) -> tuple[int, int]:
        """(1-based line, 0-based column) of a character offset, as CodePosition counts them."""
        line = bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1]

    def start(self, node: cst.CSTNode) -> tuple[int, int]:
        return self.line_column(self.offsets[id(node)][0])

    def text(self, node: cst.CSTNode, module: cst.Module) -> str:
        """`module.code_for_node(node).strip()`, by slicing the code where that gives the same text.

        Exact for expressions; other nodes (an Arg with its comma, an AssignTarget with its `=`) are
        regenerated."""
        if not isinstance(node, cst.BaseExpression) or isinstance(node, cst.StarredElement):
            return module.code_for_node(node).strip()
        start, end = self.offsets[id(node)]
        lpar = node.lpar
        if lpar:  # the syntactic range leaves out the parentheses; code_for_node keeps them
            start, end = self.offsets[id(lpar[0])][0], self.offsets[id(node.rpar[-1])][1]
        text = self.code[start:end]
        if "\n" in text or "\r" in text:
            # Regenerated on its own, a multi-line node loses its block's indentation: keep that form.
            return module.code_for_node(node).strip()
        return text.strip()

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        key = id(node)
        found = self._ranges.get(key)
        if found is None:
            start, end = self.offsets[key]
            found = CodeRange(CodePosition(*self.line_column(start)), CodePosition(*self.line_column(end)))
            self._ranges[key] = found
        return found

    def __contains__(self, node: object) -> bool:
        return id(node) in self.offsets

    def __len__(self) -> int:
        return len(self.offsets)

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._nodes)

    def get(self, node: cst.CSTNode, default=None):
        return self[node] if id(node) in self.offsets else default

    def keys(self) -> list:
        return self._nodes

    def items(self) -> Iterator[tuple[cst.CSTNode, CodeRange]]:
        for node in self._nodes:
            yield node, self[node]
