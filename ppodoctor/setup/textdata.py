"""Data a script parses from a text it holds: `yaml.safe_load("...")` of a string literal, `json.loads(TEXT)`
with TEXT a string literal (directly or through names). A mixin of roundtrip.RoundTripResolution (the place for
data the script reads).

The text is parsed by the real parsers (PyYAML's composer, which keeps where each scalar is written),
and the data becomes an expression of literals (a dict display of strings, numbers, lists) whose
nodes stand where their scalars are written in the string: a keyword's value read from it
(`**RUN["reward"]["load"]`) has the span of its scalar in the text, so a fix edits the text there.
That needs the string's characters to be the source's: a string with escapes, concatenated strings or
an f-string, a YAML with merge keys or tags of its own, or data the expression does not reproduce
(compared with what the loader itself returns), leaves the read unknown. Without PyYAML installed
here neither form is read (JSON's positions are found with PyYAML's composer: JSON is YAML).
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional

import libcst as cst

from .context import Context
from .literals import NOT_LITERAL, literal

# loader → the format of the text it parses
TEXT_LOADERS = {"json.loads": "json", "yaml.safe_load": "yaml", "yaml.load": "yaml", "yaml.full_load": "yaml"}
_MERGE = "tag:yaml.org,2002:merge"


class Unreadable(Exception):
    """The text's data cannot be written as literals that stand where the text writes them."""


def _as_tuples(data: Any) -> Any:
    """The data as literals.literal reads a display: lists as tuples."""
    if isinstance(data, dict):
        return {key: _as_tuples(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return tuple(_as_tuples(item) for item in data)
    return data


def _scalar(value: Any) -> cst.BaseExpression:
    if value is None or isinstance(value, bool):
        return cst.Name(repr(value))
    if isinstance(value, str):
        return cst.SimpleString(repr(value))
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        number = cst.Integer(repr(abs(value))) if isinstance(value, int) else cst.Float(repr(abs(value)))
        return cst.UnaryOperation(cst.Minus(), number) if value < 0 else number
    raise Unreadable(f"a {type(value).__name__} value is not a literal")


class TextDataResolution:
    def text_data(self, call: cst.Call, ctx: Context) -> Optional[cst.BaseExpression]:
        """The data a loader call parses from a text the source shows, as an expression of literals
        standing in the text; None when it is not such a call or its data cannot be read."""
        found = self.text_data_read(call, ctx)
        return found if isinstance(found, cst.BaseExpression) else None

    def text_data_read(self, call: cst.Call, ctx: Context):
        """text_data's expression, or why it cannot be read (a str), or None for a call of another kind."""
        form = TEXT_LOADERS.get(self.qualname(call.func, ctx))
        positional = [a for a in call.args if a.keyword is None and not a.star]
        if form is None or len(positional) != 1 or any(a.star for a in call.args):
            return None
        string = positional[0].value
        for _hop in range(8):  # `TEXT = """..."""; yaml.safe_load(TEXT)`
            found = self._bound_node(string, ctx) if isinstance(string, cst.Name) else None
            if found is None:
                break
            string, ctx = found
        if not isinstance(literal(string), str):
            return None
        cache = self.__dict__.setdefault("_text_data", {})
        if id(string) not in cache:
            try:
                cache[id(string)] = (string, self._parse_text(string, form))
            except Unreadable as why:
                cache[id(string)] = (string, str(why))
        return cache[id(string)][1]

    def _parse_text(self, string: cst.BaseExpression, form: str) -> cst.BaseExpression:
        raw = string.value if isinstance(string, cst.SimpleString) else ""
        prefix = len(raw) - len(raw.lstrip("rRuU"))
        if not raw or "\\" in raw:
            raise Unreadable("the text's characters are not the source's (escapes or several strings)")
        quote = 3 if raw[prefix:prefix + 3] in ('"""', "'''") else 1
        text = raw[prefix + quote:len(raw) - quote]
        owner = self.facts._owner(string)[0] if hasattr(self.facts, "_owner") else self.facts
        return data_expression(text, form, owner.positions, owner.positions.offsets_of(string)[0] + prefix + quote)


def data_expression(text: str, form: str, positions, start: int) -> cst.BaseExpression:
    """The data `text` holds ("json" or "yaml") as an expression of literals whose nodes are recorded in
    `positions` where their scalars are written (`start`: the text's first character there); raises
    Unreadable when the data is not literals alone, or PyYAML is not installed here."""
    try:
        import yaml  # not a dependency of ppodoctor: a script that parses YAML has it installed
    except ImportError:
        raise Unreadable("PyYAML is not installed where ppodoctor runs") from None
    try:
        expected = json.loads(text) if form == "json" else yaml.safe_load(text)
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            made = _data_node(root, loader, positions, start, yaml) if root is not None else cst.Name("None")
        finally:
            loader.dispose()
    except (ValueError, yaml.YAMLError) as error:
        raise Unreadable(f"the text does not parse: {str(error).splitlines()[0]}") from None
    shown = literal(made)
    if shown is NOT_LITERAL or shown != _as_tuples(expected):
        raise Unreadable("the text's data is not literals alone")
    return made


def _data_node(node, loader, positions, start: int, yaml) -> cst.BaseExpression:
    if isinstance(node, yaml.MappingNode):
        items = []
        for key, value in node.value:
            if key.tag == _MERGE:
                raise Unreadable("a YAML merge key (`<<`)")
            items.append(cst.DictElement(_data_node(key, loader, positions, start, yaml),
                                         _data_node(value, loader, positions, start, yaml)))
        made = cst.Dict(items)
    elif isinstance(node, yaml.SequenceNode):
        made = cst.List([cst.Element(_data_node(item, loader, positions, start, yaml)) for item in node.value])
    else:
        made = _scalar(loader.construct_object(node))
    # where the item is written in the text: its scalar, or its block
    positions.record(made, start + node.start_mark.index, start + node.end_mark.index)
    return made
