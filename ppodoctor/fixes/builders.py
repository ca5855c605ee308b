"""Building blocks the rules' fixes are made of: setup model + source map → the nodes to edit.

Each fix changes the least code that repairs the crash: it swaps a class, sets a keyword, inserts
one statement, and leaves every other byte where it was. The rules decide what to change; these
find where, in the file's own spelling.
"""

from __future__ import annotations

from typing import Optional, Union

import libcst as cst

from ..setup.model import Origin, PPOSetup
from ..setup.resolve import Context
from ..setup.scopes import dotted_name
from ..types import Declined, Edit, OriginKind
from .calls import append_argument
from .imports import Spelling, spell
from .source import SourceMap
from ..setup.facts import BindingKind


def base_origin(origin: Optional[Origin]) -> Optional[Origin]:
    """The object a copy or PEFT wrapper was made from: where its class and keywords are written."""
    while origin is not None and origin.kind in (OriginKind.COPY, OriginKind.PEFT) and origin.base is not None:
        origin = origin.base
    return origin


def from_pretrained_call(origin: Optional[Origin], source: SourceMap, what: str) \
        -> tuple[cst.Call, cst.BaseExpression]:
    """The call that loads `origin` (a partial loader's call, or the call in a loader function) and the
    expression that names its class, wherever that is written (origin.class_span)."""
    if origin is None or origin.kind != OriginKind.FROM_PRETRAINED:
        raise Declined(f"the {what} is not built by a visible `from_pretrained` call")
    call = source.node_at(origin.span, cst.Call)
    if origin.class_span is None:
        raise Declined(f"the {what}'s class cannot be told from its call")
    return call, source.node_at(origin.class_span, cst.BaseExpression)


def shared_with(setup: PPOSetup, origin: Origin, roles: tuple[str, ...], call_too: bool = False) -> Optional[str]:
    """A role whose model's class is written in the same place (changing it would change that role too);
    call_too: or whose keywords are written in the same call (keywords_call: a keyword added there
    would reach it); without call_too, a class no one place says is judged by the call."""
    for role in roles:
        other = base_origin(setup.origin(role))
        if other is None:
            continue
        if other.class_span is not None and other.class_span == origin.class_span:
            return role
        if call_too and other.span is not None and _keywords_at(other) == _keywords_at(origin):
            return role
        if origin.class_span is None and other.span is not None and other.span == origin.span:
            return role
    return None


def _keywords_at(origin: Origin):
    return origin.keywords_span or origin.span


def keywords_call(origin: Origin, source: SourceMap, call: cst.Call) -> Union[cst.Call, cst.Dict]:
    """Where a keyword for `origin` alone is added: the call whose `**options` its `from_pretrained`
    call hands on (a loader factory's, a registering method's), or the options dict of its row in a
    table a loop builds every model from; else that call itself."""
    if origin.keywords_span is None:
        return call
    try:
        return source.node_at(origin.keywords_span, cst.Call)
    except Declined:
        return source.node_at(origin.keywords_span, cst.Dict)


def has_keyword(target: Union[cst.Call, cst.Dict], name: str) -> bool:
    """Whether `name` is already written in the call's keywords or as a key of the dict display."""
    if isinstance(target, cst.Call):
        return any(arg.keyword is not None and arg.keyword.value == name for arg in target.args)
    return any(isinstance(item, cst.DictElement) and isinstance(item.key, cst.SimpleString)
               and item.key.evaluated_value == name for item in target.elements)


def add_keyword(source: SourceMap, target: Union[cst.Call, cst.Dict], name: str, value: str) -> tuple[Edit, ...]:
    """`name=value` added to a call (`X.from_pretrained(p)`, `dict(a=1)`), or `"name": value` to the
    dict display a `**options` unpacks, in its own layout and quotes."""
    if isinstance(target, cst.Call):
        return append_argument(source, target, f"{name}={value}")
    keys = [item.key for item in target.elements if isinstance(item, cst.DictElement)
            and isinstance(item.key, cst.SimpleString)]
    quote = keys[0].quote if keys and keys[0].quote in ("'", '"') else '"'
    entry = f"{quote}{name}{quote}: {value}"
    if not target.elements:
        offset = source.start(target) + 1 + len(source.module.code_for_node(target.lbrace.whitespace_after))
        return (Edit(offset, offset, entry),)
    last = target.elements[-1]
    end = source.end(last)
    if isinstance(last.comma, cst.Comma):
        comma_end = end + len(source.module.code_for_node(last.comma.whitespace_before)) + 1
        return (Edit(comma_end, comma_end, " " + entry + ","),)
    return (Edit(end, end, ", " + entry),)


def joined(edits: tuple[Edit, ...]) -> tuple[Edit, ...]:
    """One fix's edits with each insertion where one of its replacements ends (or starts) folded into
    that replacement (`make_loader(X)` → `make_loader(Y, num_labels=1)`): touching edits collide."""
    replacements = [edit for edit in edits if not edit.is_insertion]
    kept = []
    for edit in edits:
        if edit.is_insertion:
            touched = next((r for r in replacements if edit.start in (r.start, r.end)), None)
            if touched is not None:
                index = replacements.index(touched)
                text = touched.text + edit.text if edit.start == touched.end else edit.text + touched.text
                replacements[index] = Edit(touched.start, touched.end, text)
                continue
        kept.append(edit)
    return tuple(replacements) + tuple(edit for edit in kept if edit.is_insertion)


def spell_at(source: SourceMap, node: cst.CSTNode, module: str, name: str) -> Spelling:
    scope = source.scope_of(node)
    return spell(source, module, name, scope, source.position_before(node), source.start(node))


def swap_class(source: SourceMap, written: cst.BaseExpression, module: str, name: str) -> tuple[Edit, ...]:
    """`X.from_pretrained(...)` → `<name>.from_pretrained(...)`, where `X` is written (from_pretrained_call),
    importing `name` if it must."""
    spelling = spell_at(source, written, module, name)
    return (source.replace(written, spelling.text),) + spelling.edits


def alias_value(source: SourceMap, value: cst.BaseExpression) -> Optional[cst.Name]:
    """For `ref_model = model` ... `ref_model=ref_model`: the `model` on the alias line."""
    if not isinstance(value, cst.Name):
        return None
    scope = source.scope_of(value)
    binding, _scope, ambiguous = source.resolver.lookup(value.value, Context(scope, source.position_before(value)))
    if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.index \
            or not isinstance(binding.value, cst.Name):
        return None
    statement = source.parent(binding.value)
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    return binding.value


def assignment_of(source: SourceMap, name: str, node: cst.CSTNode,
                  made_here: bool = False) -> Optional[cst.SimpleStatementLine]:
    """The `name = ...` statement line that binds `name` as seen from `node` (or, made_here, holds it)."""
    if made_here:
        try:
            statement = source.statement(node)
        except Declined:
            return None
    else:
        scope = source.scope_of(node)
        found, _scope, ambiguous = source.resolver.lookup(name, Context(scope, source.position_before(node)))
        if found is None or ambiguous or found.kind != BindingKind.ASSIGN or found.value is None or found.index:
            return None
        try:
            statement = source.statement(found.value)
        except Declined:
            return None
    small = statement.body[0]
    if len(statement.body) != 1 or not isinstance(small, cst.Assign) or len(small.targets) != 1 \
            or not isinstance(small.targets[0].target, cst.Name) or small.targets[0].target.value != name:
        return None
    return statement


def made_by_statement(source: SourceMap, origin: Origin) -> Optional[tuple[str, cst.SimpleStatementLine]]:
    """(target, statement) for an object built by a plain `target = Cls.from_pretrained(...)` line,
    the target a name or an attribute (`self.tokenizer`)."""
    if origin.span is None:
        return None
    source.here(origin.span)  # made in another file: the edit belongs there, not here
    try:
        call = source.node_at(origin.span, cst.Call)
        statement = source.statement(call)
    except Declined:
        return None
    small = statement.body[0]
    if len(statement.body) != 1 or not isinstance(small, cst.Assign) or len(small.targets) != 1 \
            or small.value is not call:
        return None
    target = dotted_name(small.targets[0].target)
    return (target, statement) if target else None
