"""Object state: what an instance's mapping attribute holds after methods called on that object changed it
(a mixin of resolve.Resolver, through mappings.MappingResolution).

`registry = Registry().register("reward", cls, path)`, then `registry.build("reward")` reading
`self._specs[role]`: the mapping `__init__` assigns to `self._specs`, with the item writes and the
mutating calls (`update`, `setdefault`, `pop`, `clear`) the class's methods make on `self._specs`,
each method run as its call on that very object binds it, in program order, up to the read. An
object is the call that made it (members.instance_class; a method returning `self` hands back its
receiver), and a method's `self` is its receiver: functions.call_context keeps it under RECEIVER.

Bounded, as a dict built step by step is (mappings.py): the calls that count are those in the scope
of the read and before it, or in the read's own receiver chain. Anything else that may change the
mapping hides its keys (they become unknown, never guessed): a mutating method called where the
object cannot be told or in another scope, a write whose key cannot be read, a write in a loop, in a
nested function or in a method that reads the mapping itself, an attribute assigned outside
`__init__`. A write in a branch of the method, or a call on a branch, sets its key only maybe.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .context import Bound, Context, dominates
from .facts import ActionKind, BindingKind, ClassInfo, FunctionInfo
from .literals import NOT_LITERAL, literal
from ..types import ValueKind

RECEIVER = "<self>"  # the parameter (no Python name) under which a method's context keeps its receiver
_DEPTH = 24
_MUTATORS = frozenset({"update", "setdefault", "pop", "clear", "popitem"})
_HIDDEN = "hidden"  # a write on the attribute that cannot be followed (in a nested function)


class StateResolution:
    _mutators_of: Optional[dict] = None  # made on first use, per resolver
    _sites_by_method: Optional[dict] = None
    _names_mutated: Optional[frozenset] = None

    def receiver(self, node: cst.BaseExpression, ctx: Context) -> Optional[tuple[cst.BaseExpression, Context]]:
        """What a method's `self` stands for where the method was called (through every method call
        that led here), or `node` itself when it is not such a `self`; None when the call is not known."""
        for _ in range(_DEPTH):
            function = ctx.scope.function_info
            if not isinstance(node, cst.Name) or function is None or function.klass is None \
                    or function.self_name != node.value:
                return node, ctx
            binding, scope, _ambiguous = self.lookup(node.value, ctx)
            if binding is None or binding.kind != BindingKind.PARAM or scope is not ctx.scope:
                return node, ctx
            bound = self.param(RECEIVER, ctx)
            if not isinstance(bound, Bound):
                return None
            node, ctx = bound.node, bound.ctx
        return None

    def apply_state(self, view, node: cst.Attribute, ctx: Context, assigned: Context, depth: int) -> None:
        """Apply to `view` (what `node`, `obj.name`, was assigned: `assigned` is where) the writes the
        object's methods made to it before `node` is read."""
        if node.attr.value not in self.mutated_names():
            return  # no method of the file writes to an attribute of that name
        instance = self.instance_class(node.value, ctx, depth + 1)
        if instance is None:
            return
        mutators = self._mutators(instance[0], node.attr.value)
        if not mutators:
            return
        where = self.receiver(node.value, ctx)
        owner = self.instance_class(where[0], where[1], depth + 1) if where is not None else None
        init = assigned.scope.function_info
        if owner is None or owner[1] is None or where[1].position is None or _HIDDEN in mutators \
                or ctx.scope.function_info in mutators or init is None or init.name != "__init__":
            view.hide()
            return
        calls = self._state_calls(owner, mutators, where, depth)
        if calls is None:
            view.hide()
            return
        for function, call, call_ctx, certain in calls:
            inner = self.call_context(function, call, call_ctx)
            for action in mutators[function]:
                if function is init and action.position <= assigned.position:
                    continue  # before `self.name = {}` in `__init__`
                self._state_write(view, action, inner.at(action.position, action.path),
                                  certain and not action.path, depth)

    def _state_calls(self, owner, mutators: dict, where: tuple, depth: int) -> Optional[list]:
        """The calls of the mutating methods on the object `owner` made before the read at `where`,
        in the order they run: (method, call, its context, whether it surely runs); None when one may
        run on it where that cannot be told."""
        klass, made, made_ctx = owner
        read_ctx = where[1]
        chain, node = set(), where[0]
        while isinstance(node, cst.Call) or isinstance(node, cst.Attribute):
            if isinstance(node, cst.Call):
                chain.add(id(node))
            node = node.func if isinstance(node, cst.Call) else node.value
        found = []
        for function in mutators:
            if function.name == "__init__":  # the instantiation runs it, first
                found.append(((0, 0), (0, 0), function, made, made_ctx, True))
                continue
            for site in self._method_sites(function.name):
                ctx = Context(site.scope, site.position, site.path)
                instance = self.instance_class(site.node.func.value, ctx, depth + 1)
                if instance is None or instance[1] is None:
                    return None  # it may be this object
                if instance[1] is not made or self.find_method(instance[0], function.name) is not function:
                    continue
                if id(site.node) not in chain:
                    if site.scope is not read_ctx.scope:
                        return None  # when it runs, against the read, cannot be told
                    if not site.position < read_ctx.position:
                        continue
                end = self.facts.range(site.node).end
                found.append((site.position, (end.line, end.column), function, site.node, ctx,
                              id(site.node) in chain or dominates(site.path, read_ctx.path)))
        found.sort(key=lambda item: (item[0], item[1]))  # a chain's inner call starts with it, ends first
        return [item[2:] for item in found]

    def _state_write(self, view, action, ctx: Context, certain: bool, depth: int) -> None:
        if action.loop is not None:
            view.hide()
            return
        if action.kind == ActionKind.CALL:
            self._mutating_call(view, action.node, action.name, ctx, certain, depth)
            return
        key_value = self.value(action.key, ctx, depth + 1) if action.key is not None else None
        key = key_value.value if key_value is not None and key_value.kind == ValueKind.LITERAL else NOT_LITERAL
        in_place = action.node is action.subject or (isinstance(action.node, cst.Subscript)
                                                     and action.node.value is action.subject)
        if not isinstance(key, str) or in_place:
            view.hide()
        elif action.kind == ActionKind.DELITEM:
            if certain:
                view.items.pop(key, None)
            elif key in view.items:
                view.items[key].certain = False
        else:
            view.set(key, action.node, ctx, certain, self._key_node(action.key, ctx))

    def _key_node(self, key: cst.BaseExpression, ctx: Context) -> Optional[cst.BaseExpression]:
        """The string literal a key is written as (at the call that passes it, for a parameter)."""
        if literal(key) is not NOT_LITERAL:
            return key
        if isinstance(key, cst.Name):
            bound = self.param(key.value, ctx)
            if isinstance(bound, Bound) and not bound.index and literal(bound.node) is not NOT_LITERAL:
                return bound.node
        return None

    def _mutators(self, klass: ClassInfo, name: str) -> dict:
        """{method: its writes to `self.<name>` in source order} over `klass` and its local bases;
        `_HIDDEN` among the keys when a write cannot be followed."""
        key = (id(klass), name)
        if self._mutators_of is None:
            self._mutators_of = {}
        found = self._mutators_of.get(key)
        if found is not None:
            return found
        classes, pending = set(), [klass]
        while pending and len(classes) < _DEPTH:
            current = pending.pop()
            if id(current) not in classes:
                classes.add(id(current))
                pending.extend(self.local_bases(current))
        found = {}
        for action in self.facts.actions:
            subject = action.subject
            if type(subject) is not cst.Attribute or subject.attr.value != name \
                    or type(subject.value) is not cst.Name or not _mutates(action):
                continue
            method = _method_of(action.scope)
            if method is None or method.klass is None or id(method.klass) not in classes \
                    or subject.value.value != method.self_name:
                continue
            if action.scope.function_info is not method:
                found[_HIDDEN] = []
            else:
                found.setdefault(method, []).append(action)
        self._mutators_of[key] = found
        return found

    def mutated_names(self) -> frozenset:
        """The names `n` of every `self.n[...] = ...` (or `self.n.update(...)`, ...) in the file's methods."""
        if self._names_mutated is None:
            self._names_mutated = frozenset(
                action.subject.attr.value for action in self.facts.actions
                if type(action.subject) is cst.Attribute and type(action.subject.value) is cst.Name
                and action.subject.value.value == action.receiver and _mutates(action))
        return self._names_mutated

    def _method_sites(self, name: str) -> list:
        """The calls `x.<name>(...)` in the file."""
        index = self._sites_by_method
        if index is None:
            index = self._sites_by_method = {}
            for site in self.facts.calls:
                if type(site.node.func) is cst.Attribute:
                    index.setdefault(site.node.func.attr.value, []).append(site)
        return index.get(name, [])


def _mutates(action) -> bool:
    return action.kind in (ActionKind.ITEM, ActionKind.DELITEM) or \
        (action.kind == ActionKind.CALL and action.name in _MUTATORS)


def _method_of(scope) -> Optional[FunctionInfo]:
    """The method a scope is (or is nested in)."""
    while scope is not None:
        function = scope.function_info
        if function is not None and function.klass is not None:
            return function
        scope = scope.parent
    return None
