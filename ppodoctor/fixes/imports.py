"""Names a fix needs (`AutoModelForSequenceClassification`, `create_reference_model`), spelt the file's way.

Already imported (under any alias)? Use that name. `import transformers` style? Write
`transformers.AutoModelForSequenceClassification`. Otherwise import it once: extend an existing
`from transformers import ...` line, or add a `from ... import ...` line after the file's imports.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..records import Record, record

from ..setup.scopes import Scope, dotted_name
from ..types import Declined, Edit
from .source import SourceMap
from ..setup.resolve import Context
from ..setup.facts import BindingKind


@record
class Spelling(Record):
    text: str  # what to write in the code
    edits: tuple[Edit, ...] = ()  # the import it needs, when it needs one


def spell(source: SourceMap, module: str, name: str, scope: Scope, position: tuple[int, int],
          use_offset: int) -> Spelling:
    """How to refer to `module.name` at `position` (an offset `use_offset`) in `scope`."""
    imported = _imported_alias(source, module, name, scope, position)
    if imported is not None:
        return Spelling(imported)
    package = _imported_alias(source, module, "", scope, position)
    if package is not None:
        return Spelling(f"{package}.{name}")
    binding, _scope, _ambiguous = source.resolver.lookup(name, _context(scope, position))
    later = source.facts.root.bindings.get(name, ())
    # The same import further down (a notebook's later cell): importing it here too changes nothing.
    same = all(b.kind == BindingKind.IMPORT and _matches(b.qualname, module, name) for b in later)
    if binding is not None or (later and not same):
        raise Declined(f"`{name}` already means something else in this file")
    return Spelling(name, (_import_edit(source, module, name, use_offset),))


def _context(scope: Scope, position: tuple[int, int]):
    return Context(scope, position)


def _matches(qualname: str, module: str, name: str) -> bool:
    if not name:
        return qualname == module
    if qualname == f"{module}.{name}":
        return True
    # `from transformers.models.auto import X` or `from trl.models import create_reference_model`.
    return qualname.startswith(module + ".") and qualname.endswith("." + name)


def _imported_alias(source: SourceMap, module: str, name: str, scope: Scope,
                    position: tuple[int, int]) -> Optional[str]:
    for info in source.facts.imports:
        if info.name == "*":
            continue
        binding, _scope, ambiguous = source.resolver.lookup(info.alias, _context(scope, position))
        if binding is None or ambiguous or binding.kind != BindingKind.IMPORT:
            continue
        if _matches(binding.qualname, module, name):
            return info.alias
    return None


def _top_level_imports(source: SourceMap) -> list[cst.SimpleStatementLine]:
    return [statement for statement in source.module.body
            if isinstance(statement, cst.SimpleStatementLine)
            and all(isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body)]


def _import_edit(source: SourceMap, module: str, name: str, use_offset: int) -> Edit:
    statements = [s for s in _top_level_imports(source) if source.end(s) <= use_offset]
    for statement in statements:
        small = statement.body[0]
        if len(statement.body) == 1 and isinstance(small, cst.ImportFrom) and not small.relative \
                and small.module is not None and dotted_name(small.module) == module \
                and not isinstance(small.names, cst.ImportStar):
            return _extend(source, small, name)
    line = f"from {module} import {name}"
    if statements:
        return source.insert_after(statements[-1], line)
    body = list(source.module.body)
    first = body[0] if body else None
    if first is not None and _is_docstring(first):
        if len(body) > 1:
            return source.insert_before(body[1], line)
        return source.insert_after(first, line)
    if first is None:
        raise Declined("the file has no statements")
    if not isinstance(first, cst.SimpleStatementLine):
        offset = source.lines.line_start(source.start(first))
        return Edit(offset, offset, line + source.newline)
    return source.insert_before(first, line)


def _is_docstring(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 \
        and isinstance(statement.body[0], cst.Expr) \
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))


def _extend(source: SourceMap, statement: cst.ImportFrom, name: str) -> Edit:
    last = statement.names[-1]
    end = source.end(last)
    if isinstance(last.comma, cst.Comma):
        offset = _after_comma(source, last.comma, end)
        start = source.start(last)
        if isinstance(last.comma.whitespace_after, cst.ParenthesizedWhitespace) \
                and not source.text[source.lines.line_start(start):start].strip():
            indent = source.text[source.lines.line_start(source.start(last)):source.start(last)]
            line_end = source.lines.line_end(offset)
            return Edit(line_end, line_end, indent + name + "," + source.newline)
        return Edit(offset, offset, " " + name + ",")
    return Edit(end, end, ", " + name)


def _after_comma(source: SourceMap, comma: cst.Comma, end: int) -> int:
    """The offset just past the comma that follows an element ending at `end`."""
    return end + len(source.module.code_for_node(comma.whitespace_before)) + 1
