"""Python literals written in the source: their values, and the keys of subscripts."""

from __future__ import annotations

from typing import Any, Optional

import libcst as cst

NOT_LITERAL = object()
_NAMED = {"True": True, "False": False, "None": None}


def literal(node: cst.CSTNode) -> Any:
    """The Python value of a literal expression, or NOT_LITERAL."""
    kind = type(node)
    if kind is cst.SimpleString:
        raw = node.value
        # Most strings have no prefix and no escape: no need for libcst's ast.literal_eval.
        if raw[0] in "\"'" and "\\" not in raw:
            quote = 3 if raw[:3] in ('"""', "'''") and len(raw) >= 6 else 1
            return raw[quote:-quote]
    if kind is cst.Name:
        return _NAMED.get(node.value, NOT_LITERAL)
    if kind is cst.SimpleString or kind is cst.ConcatenatedString:
        try:
            value = node.evaluated_value
        except Exception:  # noqa: BLE001 - libcst raises for unusual prefixes
            return NOT_LITERAL
        return value if isinstance(value, str) else NOT_LITERAL
    if isinstance(node, (cst.Integer, cst.Float)):
        return node.evaluated_value
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal(node.expression)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else NOT_LITERAL
    if isinstance(node, (cst.Tuple, cst.List)):
        items = [literal(e.value) for e in node.elements if not isinstance(e, cst.StarredElement)]
        if len(items) == len(node.elements) and all(i is not NOT_LITERAL for i in items):
            return tuple(items)
        return NOT_LITERAL
    if isinstance(node, cst.Dict):
        result = {}
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return NOT_LITERAL
            key, value = literal(element.key), literal(element.value)
            if not isinstance(key, str) or value is NOT_LITERAL:
                return NOT_LITERAL
            result[key] = value
        return result
    return NOT_LITERAL


def subscript_key(node: cst.Subscript) -> Any:
    """The literal str or int in `x["key"]` / `x[0]`, else NOT_LITERAL (slices, names, several)."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return NOT_LITERAL
    index = node.slice[0].slice
    if index.star is not None:
        return NOT_LITERAL
    key = literal(index.value)
    return key if isinstance(key, (str, int)) and not isinstance(key, bool) else NOT_LITERAL


def subscript_slice_start(node: cst.Subscript):
    """s in `x[s:e]` (0 for `x[:e]`) for literal non-negative bounds and no step, else None."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Slice):
        return None
    part = node.slice[0].slice
    if part.step is not None:
        return None
    bounds = [literal(b) if b is not None else 0 for b in (part.lower, part.upper)]
    if any(type(b) is not int or b < 0 for b in bounds):
        return None
    return bounds[0]


def element(node: cst.BaseExpression, key: Any) -> Optional[cst.BaseExpression]:
    """The element `key` of a tuple, list or dict display, when the display shows it."""
    if isinstance(node, (cst.Tuple, cst.List)) and isinstance(key, int):
        elements = node.elements
        if any(isinstance(e, cst.StarredElement) for e in elements) or not -len(elements) <= key < len(elements):
            return None
        return elements[key].value
    if isinstance(node, cst.Dict) and isinstance(key, str):
        found = None
        for item in node.elements:
            if not isinstance(item, cst.DictElement):
                found = None  # a later `**other` may override it
            elif literal(item.key) == key:
                found = item.value
        return found
    return None
