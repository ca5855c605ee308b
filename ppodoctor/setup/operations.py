"""What is done to each object before the trainer is built, and what is called on the trainer.

Every recorded action (`x.m(...)`, `x.attr = v`, a freezing loop, `f(x)`) is keyed by the origin
of the object it acts on, once per file. An object's operations are the actions whose key is its
key, or a tail of it: `load()` making the tokenizer at @5:10 gives it the key `/20:4@5:10` seen
from the caller, while `tok.add_special_tokens(...)` inside `load` is keyed `@5:10`. Handing the
object to a local helper (`prep(tok)`) adds what the helper does to that parameter.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .context import Context, dominates
from .facts import ActionKind, BindingKind, CallSite, ModuleFacts, ObjectAction
from .model import Keyword, Operation, Origin, Usage
from .resolve import DATASET_METHODS, Resolver
from ..types import UsageKind, ValueKind

_OPERATION_KINDS = frozenset({"call", "set", "freeze", "passed"})
_MAX_HELPERS = 8
_MODULE_ORDER = 1 << 32  # a project module's actions sort after the file's, module by module


class Operations:
    def __init__(self, facts: ModuleFacts, resolver: Resolver) -> None:
        self.facts, self.resolver = facts, resolver
        self._by_key: Optional[dict[str, list[tuple[int, ObjectAction]]]] = None
        self._modules = 0  # the project modules whose actions are indexed

    # --- keys -----------------------------------------------------------------------------
    def _index(self) -> dict[str, list[tuple[int, ObjectAction]]]:
        if self._by_key is None:
            self._by_key, self._modules = {}, 0
            self._add(self.facts.actions, 0)
        project = self.resolver.project
        # The project modules followed so far (setup/project.py): what their functions do to the
        # objects they make and return is those objects' operations too, keyed as the script sees them.
        while project is not None and self._modules < len(project.modules):
            self._modules += 1
            self._add(project.modules[self._modules - 1][0].actions, self._modules * _MODULE_ORDER)
        return self._by_key

    def _add(self, actions: list[ObjectAction], first: int) -> None:
        for order, action in enumerate(actions, first):
            if action.kind in _OPERATION_KINDS or action.kind == ActionKind.ATTRIBUTE:
                key = self._key_of(action)
                if key:
                    self._by_key.setdefault(key, []).append((order, action))

    def _key_of(self, action: ObjectAction) -> str:
        subject = action.subject
        if subject is None:
            return ""
        resolver = self.resolver
        ctx = Context(action.scope, action.position, action.path)
        if action.receiver:
            binding, scope, ambiguous = resolver.lookup(action.receiver, ctx)
            if ambiguous or (binding is not None and binding.kind in (BindingKind.IMPORT, BindingKind.DEF, BindingKind.CLASS)):
                return ""  # modules, functions and classes are not the objects a trainer is given
            if type(subject) is cst.Name and subject.value != "None":
                # What resolver.origin_key would say of a name that ends where it is looked up, for
                # less: keyed this way are half the recorded actions, and a check keys every one.
                name = subject.value
                if binding is None:
                    return f"global:{name}"
                if binding.kind == BindingKind.PARAM:  # action contexts bind no parameter
                    return resolver.param_key(scope, name)
        return resolver.origin_key(subject, ctx)

    def acting_on(self, key: str) -> list[tuple[int, ObjectAction]]:
        """The actions on the object keyed `key`, in source order (see the module docstring)."""
        index = self._index()
        found = list(index.get(key, ()))
        if key.startswith(("/", "@")):
            for position, char in enumerate(key):
                if position and char in "/@":
                    found.extend(index.get(key[position:], ()))
        return sorted(found, key=_order)

    # --- operations -----------------------------------------------------------------------
    def with_operations(self, origin: Origin, site: CallSite, unbound: Optional[Origin] = None) -> Origin:
        """`origin` (and the origins it wraps) with the operations done to it before `site`.

        unbound: the same object resolved without the site function's parameters bound from its
        callers, whose key is how the function's own statements name it.
        """
        unbound_base = unbound.base if unbound is not None else None
        base = self.with_operations(origin.base, site, unbound_base) if origin.base is not None else None
        # What is done to a model's config before the call (`config.num_labels = 1`): the probe rebuilds it.
        config = self.with_operations(origin.config, site) if origin.config is not None else None
        keys = [key for key in {origin.key, unbound.key if unbound is not None else ""} if key]
        if not keys:
            return origin if base is origin.base and config is origin.config \
                else Origin(**{**origin.__dict__, "base": base, "config": config})
        seen = {(op.name, op.span) for op in origin.operations}
        found: list[Operation] = []
        actions = sorted({id(a): (o, a) for key in keys for o, a in self.acting_on(key)}.values(), key=_order)
        for _order_, action in actions:
            if action.kind not in _OPERATION_KINDS or (action.kind == ActionKind.CALL and action.name in DATASET_METHODS):
                continue  # `ds.map(...)` makes a new dataset: the receiver is left as it was
            same_scope = action.scope is site.scope
            if same_scope and action.position >= site.position:
                continue
            conditional = not dominates(action.path, site.path) if same_scope else bool(action.path)
            for operation in self._operations(action, conditional, set(), site):
                if (operation.name, operation.span) not in seen:
                    seen.add((operation.name, operation.span))
                    found.append(operation)
        return Origin(**{**origin.__dict__, "base": base, "config": config,
                         "operations": origin.operations + tuple(found)})

    def _operations(self, action: ObjectAction, conditional: bool, helpers: set, site: CallSite,
                    ctx: Optional[Context] = None) -> list[Operation]:
        """ctx: where the action is evaluated, when it sits in a helper followed from its call."""
        ctx = ctx or Context(action.scope, action.position, action.path)
        if action.kind == ActionKind.PASSED:
            inlined = self._helper_operations(action, conditional, helpers, site, ctx) \
                if action.name != "setattr" else self._setattr_operations(action, conditional, ctx)
            if inlined is not None:
                return inlined
        operation = self._operation(action, conditional, ctx)
        return [operation] if operation is not None else []

    def _helper_operations(self, action: ObjectAction, conditional: bool, helpers: set, site: CallSite,
                           ctx: Context) -> Optional[list[Operation]]:
        """What a local function does to the parameter `action` hands the object to; None when the
        callee is not a function of this file."""
        call = action.node
        resolver = self.resolver
        function = resolver.local_function(call.func, ctx) if isinstance(call, cst.Call) else None
        if function is None or id(function) in helpers or len(helpers) >= _MAX_HELPERS:
            return None
        node = function.node.params
        names = [p.name.value for p in list(node.posonly_params) + list(node.params)]
        if function.self_name:
            names = names[1:]
        positional = [a for a in call.args if a.keyword is None and not a.star]
        parameter = next((name for name, arg in zip(names, positional) if arg.value is action.subject), None) or \
            next((a.keyword.value for a in call.args if a.keyword is not None and a.value is action.subject), None)
        if parameter is None:
            return None
        key = resolver.param_key(function.scope, parameter)
        inner_ctx = resolver.call_context(function, call, ctx)
        found: list[Operation] = []
        for _order_, inner in self.acting_on(key):
            if inner.kind not in _OPERATION_KINDS:
                continue
            if inner.scope is site.scope and inner.position >= site.position:
                continue  # the helper is where the trainer is built: only what it does before counts
            inner_conditional = conditional or bool(inner.path)
            where = inner_ctx.at(inner.position, inner.path) if inner.scope is function.scope else None
            found.extend(self._operations(inner, inner_conditional, helpers | {id(function)}, site, where))
        return found

    def _setattr_operations(self, action: ObjectAction, conditional: bool, ctx: Context) -> Optional[list[Operation]]:
        """`setattr(obj, name, value)`: the attribute assignment it is, for a name the source shows; in a
        loop over a visible mapping or sequence (`for field, value in OVERRIDES.items(): setattr(cfg,
        field, value)`), one assignment per pass. None (an opaque hand-over) where the name is not seen."""
        call, resolver = action.node, self.resolver
        if not isinstance(call, cst.Call) or len(call.args) != 3 or any(a.keyword or a.star for a in call.args) \
                or call.args[0].value is not action.subject or resolver.qualname(call.func, ctx) != "setattr":
            return None
        name_node, value_node, span = call.args[1].value, call.args[2].value, resolver.span(call)
        name = resolver.value(name_node, ctx)
        if name.kind == ValueKind.LITERAL and isinstance(name.value, str):
            return [Operation("set", name.value, value=resolver.value(value_node, ctx), span=span,
                              conditional=conditional)]
        passes = resolver.loop_passes(action.loop, action.scope, action.path, name_node, ctx) \
            if action.loop is not None else None
        if passes is None:
            return None
        return [Operation("set", key, value=resolver.value(value_node, ctx.replace(loop_vars=loop_vars + ctx.loop_vars)),
                          span=span, conditional=conditional) for key, loop_vars in passes]

    def _operation(self, action: ObjectAction, conditional: bool, ctx: Context) -> Optional[Operation]:
        resolver = self.resolver
        span = resolver.span(action.node)
        if action.kind == ActionKind.SET:
            value = resolver.value(action.node, ctx) if isinstance(action.node, cst.BaseExpression) else None
            return Operation("set", action.name, value=value, span=span, conditional=conditional)
        if action.kind in (ActionKind.FREEZE, ActionKind.PASSED):
            return Operation(action.kind, action.name, span=span, conditional=conditional)
        call = action.node
        if not isinstance(call, cst.Call):
            return None
        args = tuple(resolver.value(a.value, ctx) for a in call.args if a.keyword is None and not a.star)
        keywords = tuple(Keyword(a.keyword.value, resolver.value(a.value, ctx), resolver.span(a))
                         for a in call.args if a.keyword is not None)
        return Operation("call", action.name, args, keywords, None, span, conditional)

    # --- the trainer ----------------------------------------------------------------------
    def usages(self, call: cst.Call, ctx: Context) -> tuple[Usage, ...]:
        found: dict[tuple, Usage] = {}
        for _order_, action in self.acting_on(self.resolver.key(call, ctx)):
            if action.kind not in (ActionKind.CALL, ActionKind.ATTRIBUTE):
                continue
            span = self.resolver.span(action.node)
            slot = (action.name, span.line, span.column)
            if slot not in found or action.kind == ActionKind.CALL:
                found[slot] = Usage(action.name, UsageKind(action.kind), span)
        return tuple(sorted(found.values(), key=lambda u: (u.span.line, u.span.column)))


def _order(item: tuple[int, ObjectAction]) -> int:
    return item[0]
