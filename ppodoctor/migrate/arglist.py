"""Keyword lists as edits: a call's arguments, or a visible `**mapping` (`dict(...)` / `{...}`) feeding it.

The port renames, re-values, removes and appends entries of these lists. All changes to one list are
made together (`ListEdits`), so that removing the last entries and appending new ones, or removing
neighbours, become edits that do not collide, in the list's own layout (one line, or one entry a line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst

from ..fixes.calls import LINE_LIMIT
from ..fixes.source import SourceMap
from ..setup.resolve import Context
from ..types import Declined, Edit

Container = Union[cst.Call, cst.Dict]


@dataclass
class Entry:
    """One `name=value` (or `"name": value`) entry; `position` is its index among the list's items."""

    name: str
    node: cst.CSTNode  # the Arg or DictElement
    value: cst.BaseExpression
    container: Container
    position: int


def call_entries(call: cst.Call) -> list[Entry]:
    return [Entry(arg.keyword.value, arg, arg.value, call, i) for i, arg in enumerate(call.args)
            if arg.keyword is not None]


def dict_entries(node: cst.Dict) -> list[Entry]:
    found = []
    for i, element in enumerate(node.elements):
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
            key = element.key.evaluated_value
            if isinstance(key, str):
                found.append(Entry(key, element, element.value, node, i))
    return found


def mapping_entries(source: SourceMap, call: cst.Call) -> list[Entry]:
    """Entries of the visible `**mapping`s a call unpacks (`**kw` where `kw = dict(...)` or `{...}`)."""
    found = []
    for arg in call.args:
        if arg.star != "**":
            continue
        scope = source.scope_of(call)
        expanded = source.resolver.expand_mapping(arg.value, Context(scope, source.position_before(call)))
        if expanded is None:
            raise Declined(f"`**{source.module.code_for_node(arg.value)}` hides what it passes")
        for _name, value, _ctx in expanded:
            parent = source.parent(value)
            holder = source.parent(parent) if parent is not None else None
            if isinstance(parent, cst.DictElement) and isinstance(holder, cst.Dict):
                found.extend(e for e in dict_entries(holder) if e.node is parent)
            elif isinstance(parent, cst.Arg) and isinstance(holder, cst.Call):
                found.extend(e for e in call_entries(holder) if e.node is parent)
            else:
                raise Declined("a `**mapping` entry cannot be located")
    return found


def _items(container: Container) -> list:
    return list(container.args if isinstance(container, cst.Call) else container.elements)


@dataclass
class ListEdits:
    """Every change to one entry list, turned into edits at the end (`edits()`)."""

    source: SourceMap
    container: Container
    renames: dict[int, str] = field(default_factory=dict)  # item index → new keyword
    values: dict[int, str] = field(default_factory=dict)  # item index → new value text
    removed: set[int] = field(default_factory=set)
    added: list[tuple[str, str]] = field(default_factory=list)  # (keyword, value text)

    def rename(self, entry: Entry, name: str) -> None:
        if name != entry.name:
            self.renames[entry.position] = name

    def set_value(self, entry: Entry, text: str) -> None:
        self.values[entry.position] = text

    def remove(self, entry_or_index) -> None:
        self.removed.add(entry_or_index.position if isinstance(entry_or_index, Entry) else entry_or_index)

    def add(self, name: str, value: str) -> None:
        self.added.append((name, value))

    # --- text -----------------------------------------------------------------------------------
    def _key_text(self, item, name: str) -> str:
        if isinstance(item, cst.DictElement):
            quote = self.source.module.code_for_node(item.key)[-1]
            return f"{quote}{name}{quote}"
        return name

    def _entry_text(self, name: str, value: str) -> str:
        if isinstance(self.container, cst.Dict):
            return f'"{name}": {value}'
        return f"{name}={value}"

    def edits(self) -> tuple[Edit, ...]:
        source, items = self.source, _items(self.container)
        edits: list[Edit] = []
        for index, name in self.renames.items():
            item = items[index]
            if index in self.removed:
                continue
            if isinstance(item, cst.Arg) and item.keyword is None:
                # A positional argument becomes a keyword one (the new trainers' order differs).
                start = source.start(item)
                edits.append(Edit(start, start, name + "="))
                continue
            key = item.keyword if isinstance(item, cst.Arg) else item.key
            edits.append(source.replace(key, self._key_text(item, name)))
        for index, text in self.values.items():
            if index not in self.removed:
                edits.append(source.replace(items[index].value, text))
        return _fold(tuple(self._removals(items)) + tuple(self._additions(items)) + tuple(edits))

    def _own_line(self, item) -> bool:
        source = self.source
        start = source.start(item)
        if source.text[source.lines.line_start(start):start].strip():
            return False
        end = self._end_with_comma(item)
        rest = source.text[end:source.lines.line_end(end)].strip()
        return not rest or rest.startswith("#")

    def _end_with_comma(self, item) -> int:
        end = self.source.end(item)
        comma = getattr(item, "comma", None)
        if isinstance(comma, cst.Comma):
            end += len(self.source.module.code_for_node(comma.whitespace_before)) + 1
        return end

    def _removals(self, items: list) -> list[Edit]:
        source = self.source
        if not self.removed:
            return []
        chosen = sorted(self.removed)
        if all(self._own_line(items[i]) for i in chosen):
            edits = []
            for i in chosen:
                start = source.lines.line_start(source.start(items[i]))
                edits.append(Edit(start, source.lines.line_end(self._end_with_comma(items[i])), ""))
            return edits
        runs: list[list[int]] = []
        for i in chosen:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        edits = []
        for run in runs:
            first, last = run[0], run[-1]
            if last + 1 < len(items):
                edits.extend(self._keeping_line_breaks(source.start(items[first]), source.start(items[last + 1])))
            elif first > 0:
                edits.append(Edit(source.end(items[first - 1]), source.end(items[last]), ""))
            else:
                edits.append(Edit(source.start(items[first]), self._end_with_comma(items[last]), ""))
        return edits

    def _keeping_line_breaks(self, start: int, end: int) -> list[Edit]:
        """Removes text[start:end] but keeps its line breaks and the next lines' indentation, so that
        entries removed from a wrapped call do not pull the following line up; lines left empty go."""
        text, lines = self.source.text, self.source.lines
        if not any(c in text[start:end] for c in "\r\n"):
            return [Edit(start, end, "")]
        edits = []
        position = start
        while True:
            line_start = lines.line_start(position)
            line_end = lines.line_end(position)
            content_end = len(text[:line_end].rstrip("\r\n"))
            if line_end > end:  # the last line: up to the next kept entry
                edits.append(Edit(position, end, ""))
                return edits
            whole = not text[line_start:position].strip()
            if whole:
                edits.append(Edit(line_start, line_end, ""))
            else:
                cut = position
                while cut > line_start and text[cut - 1] in " \t":
                    cut -= 1
                edits.append(Edit(cut, content_end, ""))
            position = line_end
            while position < end and text[position] in " \t":
                position += 1

    def _additions(self, items: list) -> list[Edit]:
        if not self.added:
            return []
        source, newline = self.source, self.source.newline
        texts = [self._entry_text(name, value) for name, value in self.added]
        kept = [item for i, item in enumerate(items) if i not in self.removed]
        if not kept:
            opening = source.start(self.container) if isinstance(self.container, cst.Dict) else \
                source.end(self.container.func) + len(source.module.code_for_node(self.container.whitespace_after_func))
            offset = opening + 1
            return [Edit(offset, offset, ", ".join(texts))]
        last = kept[-1]
        end = source.end(last)
        comma = isinstance(getattr(last, "comma", None), cst.Comma)
        if last is not items[-1] and not all(self._own_line(items[i]) for i in self.removed):
            comma = False  # the inline removal of the entries after it takes its comma
        own_line = self._own_line(last)
        indent = source.text[source.lines.line_start(source.start(last)):source.start(last)] if own_line else ""
        closing = source.end(self.container) - 1
        if comma:
            comma_end = self._end_with_comma(last)
            if own_line and ("\n" in source.text[comma_end:closing] or "\r" in source.text[comma_end:closing]):
                offset = source.lines.line_end(comma_end)
                return [Edit(offset, offset, "".join(indent + text + "," + newline for text in texts))]
            return [Edit(comma_end, comma_end, "".join(" " + text + "," for text in texts))]
        if own_line and ("\n" in source.text[end:closing] or "\r" in source.text[end:closing]):
            offset = source.lines.line_end(end)
            return [Edit(end, end, ","),
                    Edit(offset, offset, ("," + newline).join(indent + text for text in texts) + newline)]
        line_start = source.lines.line_start(end)
        line = source.text[line_start:source.lines.line_end(end)].rstrip("\r\n")
        added = "".join(", " + text for text in texts)
        if line_start > source.start(self.container) and len(line) + len(added) > LINE_LIMIT:
            # A wrapped call whose last line would grow too long: the new entries go on a line of their own.
            indent = line[:len(line) - len(line.lstrip())]
            return [Edit(end, end, "," + newline + indent + ", ".join(texts))]
        return [Edit(end, end, added)]


def _fold(edits: tuple[Edit, ...]) -> tuple[Edit, ...]:
    """Insertions at the edge of a removal become part of it (otherwise the two would collide)."""
    replacements = [e for e in edits if not e.is_insertion and not e.text]
    others = [e for e in edits if not e.is_insertion and e.text]
    out: list[Edit] = []
    for edit in edits:
        if not edit.is_insertion:
            continue
        host = next((r for r in replacements if r.start == edit.start or r.end == edit.start), None)
        if host is None:
            out.append(edit)
            continue
        index = replacements.index(host)
        text = host.text + edit.text if host.end == edit.start else edit.text + host.text
        replacements[index] = Edit(host.start, host.end, text)
    return tuple(others) + tuple(replacements) + tuple(out)


def arg_of(call: cst.Call, name: str) -> Optional[cst.Arg]:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)
