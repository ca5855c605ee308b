"""Building blocks the rules' fixes are made of: setup model + source map → the nodes to edit.

Each fix changes the least code that repairs the crash: it swaps a class, sets a keyword, inserts
one statement, and leaves every other byte where it was. The rules decide what to change; these
find where, in the file's own spelling.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..setup.model import Origin, PPOSetup
from ..setup.resolve import Context
from ..setup.scopes import dotted_name
from ..types import Declined, Edit, OriginKind
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


def keywords_call(origin: Origin, source: SourceMap, call: cst.Call) -> cst.Call:
    """Where a keyword for `origin` alone is added: the call whose `**options` its `from_pretrained`
    call hands on (a loader factory's, a registering method's), else that call itself."""
    return source.node_at(origin.keywords_span, cst.Call) if origin.keywords_span is not None else call


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
