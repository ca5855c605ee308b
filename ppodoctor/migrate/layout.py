"""A last pass over the ported text: a one-line call to the new trainer or config that the port made
longer than the line limit is laid out one argument a line, as black would.

It runs on the ported text itself (reparsed), so the arguments come out with every change inside them.
"""

from __future__ import annotations

import libcst as cst

from ..fixes.calls import LINE_LIMIT
from ..fixes.edits import apply
from ..fixes.source import SourceMap
from ..types import Edit
from .calls import SUCCESSOR_NAMES

_NAMES = SUCCESSOR_NAMES + tuple(name.replace("Trainer", "Config") for name in SUCCESSOR_NAMES)


def _argument(code, arg: cst.Arg) -> str:
    if arg.keyword is not None:
        return f"{arg.keyword.value}={code(arg.value)}"
    return f"{arg.star}{code(arg.value)}"


def _too_long(source: SourceMap, call: cst.Call) -> bool:
    start, end = source.start(call), source.end(call)
    if any(c in source.text[start:end] for c in "\r\n") or not call.args:
        return False
    line = source.text[source.lines.line_start(start):source.lines.line_end(end)].rstrip("\r\n")
    return len(line) > LINE_LIMIT


def _one_pass(text: str, newline: str) -> str:
    source = SourceMap(text, newline)
    for site in source.facts.calls:
        call = site.node
        name = source.module.code_for_node(call.func).rsplit(".", 1)[-1]
        if name not in _NAMES or not _too_long(source, call):
            continue
        code = source.module.code_for_node
        start = source.start(call)
        line = source.text[source.lines.line_start(start):start]
        indent = line[:len(line) - len(line.lstrip())]
        inner = indent + source.module.default_indent
        opening = source.end(call.func) + len(code(call.whitespace_after_func)) + 1
        body = newline + "".join(inner + _argument(code, arg) + "," + newline for arg in call.args) + indent
        return apply(text, [Edit(opening, source.end(call) - 1, body)])
    return text


def relayout(text: str, newline: str) -> str:
    for _ in range(8):  # one call a pass, outermost first; a nested one may need its own
        laid_out = _one_pass(text, newline)
        if laid_out == text:
            return text
        text = laid_out
    return text
