"""Elements of what other values hold (a mixin of resolve.Resolver, through mappings.MappingResolution):
`model_class, path, options = self._specs[role]` names elements of the tuple an entry of a mapping holds;
element_at follows such an index through displays, names, literal subscripts, visible mappings (with
the state an object's methods left in them, state.py) to the expression written there.
"""

from __future__ import annotations

import libcst as cst

from .context import Bound, Context
from .facts import BindingKind
from .literals import NOT_LITERAL

_DEPTH = 24


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
        if isinstance(index[0], str):
            found = self.element_node(node, ctx, index[0], depth)
            return self.element_at(found[0], found[1], index[1:], depth + 1) if found is not None else None
        if isinstance(node, cst.Name):
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
