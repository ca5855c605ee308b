"""Elements of what other values hold (a mixin of resolve.Resolver, through mappings.MappingResolution).

`model_class, path, options = self._specs[role]` names elements of the tuple an entry of a mapping
holds: element_at follows such an index through displays, names, parameters, literal subscripts and
visible mappings (with the state an object's methods left in them, state.py) to the expression
written there. A `**options` parameter of a followed call holds the keywords no other parameter
takes (context.Collected): collected_view is that mapping, and keywords_call the call where a
keyword for one `from_pretrained` alone is added when the loader's own call serves several objects.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .context import Bound, Collected, Context
from .facts import ActionKind, BindingKind
from .literals import NOT_LITERAL

from .views import View

_DEPTH = 24
_CHANGES = frozenset({"update", "setdefault", "pop", "clear", "popitem"})


class ElementResolution:
    def element_at(self, node: cst.BaseExpression, ctx: Context, index: tuple, depth: int = 0):
        """(expression, context) of the element `index` of what `node` holds, where the source shows it:
        through displays, names, parameters, literal subscripts, visible mappings and attributes."""
        if not index or depth > _DEPTH:
            return (node, ctx) if not index else None
        step = self.follow_index(node, index[:1])
        if step is not None:
            return self.element_at(step, ctx, index[1:], depth + 1)
        if isinstance(node, cst.Subscript):
            key = self.key_of(node, ctx, depth)
            return self.element_at(node.value, ctx, (key,) + index, depth + 1) if key is not NOT_LITERAL else None
        if isinstance(node, cst.ListComp) and type(index[0]) is int:  # `loaded[0]` of `[load(s) for s in SPECS]`
            found = self.comprehension_element(node, ctx, index[0])
            return self.element_at(found[0], found[1], index[1:], depth + 1) if found is not None else None
        if isinstance(index[0], str):
            found = self.element_node(node, ctx, index[0], depth)
            return self.element_at(found[0], found[1], index[1:], depth + 1) if found is not None else None
        if isinstance(node, cst.Name):
            looped = self.loop_var(node.value, ctx) if ctx.loop_vars else None
            if looped is not None:  # `load(*row) for row in ROWS`: an element of this pass's row
                return self.element_at(looped.node, looped.ctx, looped.index + index, depth + 1)
            binding, scope, ambiguous = self.lookup(node.value, ctx)
            if binding is None or ambiguous:
                return None
            if binding.kind == BindingKind.ASSIGN and binding.value is not None:
                return self.element_at(binding.value, self.context_for(binding, scope, ctx), binding.index + index,
                                       depth + 1)
            bound = self.param(node.value, ctx) if binding.kind == BindingKind.PARAM and self.binds_in(scope, ctx) \
                else None
            if isinstance(bound, Bound):
                return self.element_at(bound.node, bound.ctx, bound.index + index, depth + 1)
        return None

    def sequence_length(self, node: cst.BaseExpression, ctx: Context, depth: int = 0) -> Optional[int]:
        """How many elements the tuple or list display `node` holds (through names, loop variables and
        elements), when the source shows one without `*` items; else None."""
        found = self.element_at(node, ctx, (), depth)
        for _ in range(_DEPTH):
            if found is None:
                return None
            node, ctx = found
            if isinstance(node, (cst.Tuple, cst.List)):
                return None if any(isinstance(item, cst.StarredElement) for item in node.elements) \
                    else len(node.elements)
            if not isinstance(node, cst.Name):
                return None
            looped = self.loop_var(node.value, ctx) if ctx.loop_vars else None
            binding, scope, ambiguous = self.lookup(node.value, ctx) if looped is None else (None, None, False)
            if looped is not None:
                found = self.element_at(looped.node, looped.ctx, looped.index, depth + 1)
            elif binding is not None and not ambiguous and binding.kind == BindingKind.ASSIGN and binding.value is not None:
                found = self.element_at(binding.value, self.context_for(binding, scope, ctx), binding.index, depth + 1)
            else:
                return None
        return None

    def collected_view(self, collected: Collected, name: str, binding, scope, ctx: Context, depth: int) -> View:
        """The mapping a `**kwargs` parameter holds where it is read: its call's keywords that no other
        parameter takes, its `**mapping`s merged, then what the function writes to it before the read."""
        view = View()
        for arg, arg_ctx in collected.pairs:
            if arg.keyword is not None:
                view.set(arg.keyword.value, arg.value, arg_ctx, key_at=arg.keyword)
            else:
                view.merge(self.mapping_view(arg.value, arg_ctx, depth + 1))
        self._apply_writes(view, name, binding, scope, ctx.at(binding.position, binding.path), ctx, depth)
        return view

    def collected_by(self, node: cst.BaseExpression, ctx: Context) -> Optional[Collected]:
        """The `**kwargs` parameter (of a followed call) that `node` holds, unchanged by its function."""
        for _ in range(_DEPTH):
            if not isinstance(node, cst.Name):
                return None
            binding, scope, ambiguous = self.lookup(node.value, ctx)
            if binding is None or ambiguous:
                return None
            if binding.kind == BindingKind.ASSIGN and binding.value is not None:
                found = self.element_at(binding.value, self.context_for(binding, scope, ctx), binding.index)
                if found is None:
                    return None
                node, ctx = found
                continue
            bound = self.param(node.value, ctx) if binding.kind == BindingKind.PARAM and self.binds_in(scope, ctx) \
                else None
            if not isinstance(bound, Collected) or any(
                    action.kind in (ActionKind.ITEM, ActionKind.DELITEM) or action.name in _CHANGES
                    for action in self.actions_on(node.value, scope)):
                return None
            return bound
        return None

    def keywords_call(self, pairs: list) -> Optional[cst.BaseExpression]:
        """The call whose `**kwargs` parameter the `**` arguments among `pairs` hand on (node, context):
        a keyword added there reaches this call alone of the calls the function's body makes; or, for a
        `**options` a loop variable holds (`for role, cls, path, options in ROWS`), the dict display or
        `dict(...)` call of this pass's row, where a keyword for this pass alone is written."""
        for arg, arg_ctx in pairs:
            if arg.star != "**":
                continue
            collected = self.collected_by(arg.value, arg_ctx)
            if collected is not None:
                return collected.call
            row = self._row_mapping(arg.value, arg_ctx)
            if row is not None:
                return row
        return None

    def _row_mapping(self, node: cst.BaseExpression, ctx: Context) -> Optional[cst.BaseExpression]:
        looped = self.loop_var(node.value, ctx) if isinstance(node, cst.Name) and ctx.loop_vars else None
        found = self.element_at(looped.node, looped.ctx, looped.index) if looped is not None else None
        if found is None:
            return None
        element = found[0]
        if isinstance(element, cst.Name):  # a row naming a dict bound once: `OPTIONS_RM = {...}`
            binding, _scope, ambiguous = self.lookup(element.value, found[1])
            if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.index:
                return None
            element = binding.value
        if isinstance(element, cst.Dict) and not any(isinstance(item, cst.StarredDictElement)
                                                     for item in element.elements):
            return element
        if isinstance(element, cst.Call) and isinstance(element.func, cst.Name) and element.func.value == "dict" \
                and not any(arg.star for arg in element.args):
            return element
        return None
