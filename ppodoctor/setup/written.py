"""Attributes written on an object after it is made (a mixin of resolve.Resolver, through
members.MemberResolution).

    nets = SimpleNamespace()
    nets.actor = AutoModelForCausalLM.from_pretrained(path)
    nets.frozen_actor = nets.actor          # the same object as nets.actor
    PPOTrainer(model=nets.actor, ref_model=nets.frozen_actor, ...)

A read `obj.attr` takes the last `x.attr = value` before it, in the read's own scope and in program
order, whose `x` holds the same object as `obj` (the objects' keys are equal: aliases count, a
rebound name is another object). The write's value is read where the write is, so two attributes
bound to one object are one object. A namespace, a plain class's instance, anything with a key.

Not guessed: a write of that attribute in a branch the read is not in, in a loop, on an object that
cannot be told, or on this object in another scope (a function that may run before or after the
read) makes the read unknown. Writes on a method's `self` are the class's attribute sites (members.py).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .context import Context, dominates
from .facts import ActionKind, ObjectAction


class WrittenAttributes:
    _writes_by_name: Optional[dict] = None  # made on first use, per resolver

    def written_attribute(self, node: cst.Attribute, ctx: Context):
        """(value, its context, ()) of the write `node` reads, a reason it cannot be told, or None
        when nothing writes that attribute on that object outside its class's methods."""
        writes = self._attribute_writes().get(node.attr.value)
        if not writes or ctx.position is None or self._is_method_self(node.value, ctx.scope):
            return None
        key = self.origin_key(node.value, ctx)
        if not key:
            return None
        text = self.text(node)
        before: list[ObjectAction] = []
        for action in writes:
            if action.node is node:
                continue
            same_scope = action.scope is ctx.scope
            if same_scope and not action.position < ctx.position:
                continue  # after the read
            where = ctx.at(action.position, action.path) if same_scope else \
                Context(action.scope, action.position, action.path)
            written = self.origin_key(action.subject, where)
            if written != key:
                if not written and same_scope:
                    return f"`{text}` may be written through `{self.text(action.subject)}`, which cannot be followed"
                continue
            if not same_scope:
                return f"`{text}` is also assigned in another function, which may run before or after this read"
            if action.loop is not None:
                return f"`{text}` is assigned in a loop"
            before.append(action)
        if not before:
            return None
        last = max(before, key=lambda action: action.position)
        if not dominates(last.path, ctx.path):
            return f"`{text}` is assigned differently in different branches"
        value = last.node
        if isinstance(value, cst.Attribute) and value.attr.value == node.attr.value \
                and self.facts.position(value) == last.position:
            return f"`{text}` is changed in a way that cannot be followed"  # `obj.attr += ...`
        return value, ctx.at(last.position, last.path), ()

    def _attribute_writes(self) -> dict:
        """{attribute name: its `x.name = value` writes in the file}, a method's `self.name` left out."""
        if self._writes_by_name is None:
            self._writes_by_name = {}
            for action in self.facts.actions:
                if action.kind == ActionKind.SET and action.subject is not None \
                        and not self._is_method_self(action.subject, action.scope):
                    self._writes_by_name.setdefault(action.name, []).append(action)
        return self._writes_by_name

    def _is_method_self(self, node: cst.BaseExpression, scope) -> bool:
        """Whether `node` is the `self` of the method `scope` is (or is nested in)."""
        if not isinstance(node, cst.Name):
            return False
        while scope is not None:
            function = scope.function_info
            if function is not None and function.klass is not None:
                return function.self_name == node.value
            scope = scope.parent
        return False
