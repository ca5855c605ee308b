"""Edits inside a call's argument list, in the call's own layout (one line, or one argument a line)."""

from __future__ import annotations

import libcst as cst

from ..types import Edit
from .source import SourceMap

LINE_LIMIT = 99  # wrap what we add beyond this, unless the code around it is already longer


def append_argument(source: SourceMap, call: cst.Call, argument: str) -> tuple[Edit, ...]:
    """Add `argument` (e.g. "value_model=value_model") after the call's last argument."""
    if not call.args:
        offset = source.end(call.func) + len(source.module.code_for_node(call.whitespace_after_func)) + 1
        return (Edit(offset, offset, argument),)
    last = call.args[-1]
    end = source.end(last)
    indent = _own_line_indent(source, last)
    if isinstance(last.comma, cst.Comma):
        comma_end = end + len(source.module.code_for_node(last.comma.whitespace_before)) + 1
        if isinstance(last.comma.whitespace_after, cst.ParenthesizedWhitespace) and indent is not None:
            # One argument a line with a trailing comma: a new line after the last one (and its comment).
            offset = source.lines.line_end(comma_end)
            return (Edit(offset, offset, indent + argument + "," + source.newline),)
        return (Edit(comma_end, comma_end, " " + argument + ","),)
    if isinstance(last.whitespace_after_arg, cst.ParenthesizedWhitespace) and indent is not None:
        # The closing parenthesis has its own line: keep it there.
        offset = source.lines.line_end(end)
        return (Edit(end, end, ","), Edit(offset, offset, indent + argument + source.newline))
    line_start = source.lines.line_start(end)
    line = source.text[line_start:source.lines.line_end(end)].rstrip("\r\n")
    call_lines = source.text[source.start(call):source.end(call)].splitlines()
    limit = max([LINE_LIMIT] + [len(item) for item in call_lines[:1] + call_lines[1:]])
    if line_start > source.start(call) and len(line) + len(argument) + 2 > limit:
        # A wrapped call whose last line would grow too long: continue on a new line, aligned.
        indent = line[:len(line) - len(line.lstrip())]
        return (Edit(end, end, "," + source.newline + indent + argument),)
    return (Edit(end, end, ", " + argument),)


def _own_line_indent(source: SourceMap, node: cst.CSTNode):
    """The indentation of `node` when it starts its line, else None."""
    start = source.start(node)
    prefix = source.text[source.lines.line_start(start):start]
    return prefix if not prefix.strip() else None


def keyword_argument(call: cst.Call, name: str):
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def remove_argument(source: SourceMap, call: cst.Call, arg: cst.Arg) -> tuple[Edit, ...]:
    """Delete one argument with its comma, leaving the call's layout as it was around it."""
    args = list(call.args)
    index = next(i for i, item in enumerate(args) if item is arg)
    if index + 1 < len(args):
        return (Edit(source.start(arg), source.start(args[index + 1]), ""),)
    end = source.end(arg)
    if isinstance(arg.comma, cst.Comma):
        end += len(source.module.code_for_node(arg.comma.whitespace_before)) + 1
    start = source.end(args[index - 1]) if index else source.start(arg)
    return (Edit(start, end, ""),)
