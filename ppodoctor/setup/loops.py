"""Loops whose effect the source shows: the keys and loop variables of each pass of
`for <names> in <iterable>` over a visible registry, list or tuple (a mixin under mappings.py's
MappingResolution; the loop's writes and comprehensions are read there)."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from ..types import OriginKind
from .context import Bound, Context
from .literals import NOT_LITERAL, literal
from .scanner import descendants
from .facts import BindingKind


class LoopResolution:
    def _loop_items(self, action, ctx: Context, depth: int) -> Optional[list[tuple[str, tuple]]]:
        return self.loop_passes(action.loop, action.scope, action.path, action.key, ctx, depth)

    def loop_passes(self, loop: cst.For, scope, path, key: cst.BaseExpression, ctx: Context,
                    depth: int = 0) -> Optional[list[tuple[str, tuple]]]:
        """(key, loop variables) for each pass of `loop` around a statement at `path` whose key (an item's,
        an attribute's name) is the loop variable `key`: when every pass surely runs that statement (no
        `break`/`continue`, no condition inside the loop) and the iterable is visible; else None."""
        targets = [b for bindings in scope.bindings.values() for b in bindings if b.loop is loop]
        if not targets or not isinstance(key, cst.Name) or _jumps(loop.body):
            return None
        if any(b.path != path for b in targets):
            return None  # the statement sits under a condition inside the loop
        names = {b.name: b.index for b in targets}
        if key.value not in names:
            return None
        loop_ctx = self._context_for(targets[0].position, targets[0].path, scope, ctx)
        return self._iterated(loop.iter, names, key.value, loop_ctx, depth)

    def _iterated(self, iterable: cst.BaseExpression, names: dict[str, tuple], key_name: str, ctx: Context,
                  depth: int, any_key: bool = False) -> Optional[list[tuple[str, tuple]]]:
        """(key, loop variables) for each pass of `for <names> in <iterable>`, when all are visible. The key
        is the str the key variable holds; with any_key (a list's elements, no mapping's keys) an element
        of a display that is not a str literal is keyed by its position."""
        method = iterable.func.attr.value if isinstance(iterable, cst.Call) and isinstance(iterable.func,
                                                                                              cst.Attribute) else ""
        if method in ("items", "keys") and not iterable.args:
            view = self.mapping_view(iterable.func.value, ctx, depth + 1)
            if view is None or not view.exact:
                return None
            passes = []
            for key, entry in view.items.items():
                key_part = Bound(entry.key_node, entry.ctx) if entry.key_node is not None else None
                bound = []
                for name, index in names.items():
                    if method == "keys":
                        part = key_part if not index else None
                    elif index[:1] == (0,) and len(index) == 1:
                        part = key_part
                    elif index[:1] == (1,):
                        part = Bound(entry.node, entry.ctx, index[1:])
                    else:
                        return None  # the whole (key, value) pair in one name is not followed
                    if part is None and (name != key_name or index != names[key_name]):
                        return None
                    if part is not None:
                        bound.append((name, part))
                passes.append((key, tuple(bound)))
            return passes
        if isinstance(iterable, cst.Name):
            binding, scope, ambiguous = self.lookup(iterable.value, ctx)
            if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.index or binding.value is None:
                return None
            inner = self.context_for(binding, scope, ctx)
            if isinstance(binding.value, (cst.Tuple, cst.List)) and not self.actions_on(iterable.value, scope):
                return self._iterated(binding.value, names, key_name, inner, depth + 1, any_key)
            keys = cst.Call(cst.Attribute(iterable, cst.Name("keys")))
            return self._iterated(keys, names, key_name, ctx, depth + 1) if self.mapping_view(
                iterable, ctx, depth + 1) is not None else None
        if isinstance(iterable, cst.Attribute):  # `for name in args.rewards`, `self.names`
            found = self._iterated_attribute(iterable, ctx, depth)
            return self._iterated(found[0], names, key_name, found[1], depth + 1, any_key) if found is not None \
                else None
        if isinstance(iterable, cst.Call) and self.qualname(iterable.func, ctx) == "zip":
            return self._zipped(iterable, names, key_name, ctx)
        if isinstance(iterable, (cst.Tuple, cst.List)):
            passes = []
            for position, item in enumerate(iterable.elements):
                if isinstance(item, cst.StarredElement):
                    return None
                key_node = self.follow_index(item.value, names[key_name])
                key = literal(key_node) if key_node is not None else NOT_LITERAL
                if not isinstance(key, str) and any_key:
                    key = f"#{position}"
                if not isinstance(key, str):
                    return None
                passes.append((key, tuple((name, Bound(item.value, ctx, index)) for name, index in names.items())))
            return passes
        return None


    def comprehension_element(self, node: cst.ListComp, ctx: Context, position: int):
        """(expression, context) of element `position` of `[elt for <names> in <sequence>]`: the element
        expression with the loop's names bound to that pass's item, when the sequence is a display the
        source shows (written there, or a name bound once to one and never acted on) and no `if` or
        nested `for` can drop or repeat a pass. Each pass makes its own objects: the context names it."""
        clause = node.for_in
        if clause.ifs or clause.inner_for_in is not None or clause.asynchronous is not None:
            return None
        names = target_names(clause.target)
        found = self._display(clause.iter, ctx) if names else None
        if found is None:
            return None
        display, display_ctx = found
        items = display.elements
        if any(isinstance(item, cst.StarredElement) for item in items) or not -len(items) <= position < len(items):
            return None
        position %= len(items)
        item = items[position].value
        line, column = self.facts.position(node)
        loop_vars = tuple((name, Bound(item, display_ctx, index)) for name, index in names)
        return node.elt, ctx.replace(loop_vars=loop_vars + ctx.loop_vars,
                                     call_path=f"{ctx.call_path}/for{line}:{column}[{position}]")

    def comprehension_items(self, node: cst.BaseExpression, ctx: Context, depth: int = 0) \
            -> Optional[list[tuple[cst.BaseExpression, Context]]]:
        """`[f(name) for name in NAMES]` over a visible iterable: each element's expression with the context
        of its pass (the loop variables bound, an object of its own per pass); None when a filter, a nested
        `for` or an iterable the source does not show hides how many elements there are."""
        if not isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp)):
            return None
        clause = node.for_in
        names = dict(target_names(clause.target))
        if clause.ifs or clause.inner_for_in is not None or clause.asynchronous is not None or not names:
            return None
        passes = self._iterated(clause.iter, names, next(iter(names)), ctx, depth, any_key=True)
        if passes is None:
            return None
        line, column = self.facts.position(node)
        return [(node.elt, ctx.replace(loop_vars=loop_vars + ctx.loop_vars,
                                       call_path=f"{ctx.call_path}/for{line}:{column}[{key}]"))
                for key, loop_vars in passes]

    def _iterated_attribute(self, node: cst.Attribute, ctx: Context, depth: int):
        """(node, context) where the display an attribute holds is written: an instance attribute the
        source shows, or the default of an argparse option no launch gives; None otherwise."""
        site = self.attribute_value_node(node, ctx, depth)
        if site is not None:
            if isinstance(site, str):
                return None
            written = self.follow_index(site[0], site[2])  # an element of what is written there
            return (written, site[1]) if written is not None else None
        receiver = self.origin(node.value, ctx, depth=depth + 1)
        attr = node.attr.value
        parsed = receiver.kind == OriginKind.CALL and receiver.callee.split(".")[-1] in ("parse_args", "parse_known_args")
        if parsed and attr in self.facts.argparse_defaults and \
                self._argparse_launched(node.value, ctx, attr, self.text(node)) is None:
            return self.facts.argparse_defaults[attr], Context(self.facts.root, None)
        return None

    def _zipped(self, call: cst.Call, names: dict[str, tuple], key_name: str,
                ctx: Context) -> Optional[list[tuple[str, tuple]]]:
        """`zip(A, B, ...)` over tuple or list displays of one length (written in place, or names bound once
        to them): pass i binds each loop variable to element i of its column."""
        if any(arg.star or (arg.keyword is not None and arg.keyword.value != "strict") for arg in call.args):
            return None
        columns = [self._display(arg.value, ctx) for arg in call.args if arg.keyword is None]
        if not columns or None in columns or len({len(display.elements) for display, _ in columns}) != 1 \
                or any(isinstance(item, cst.StarredElement) for display, _ in columns for item in display.elements):
            return None
        if any(not index or index[0] >= len(columns) for index in names.values()):
            return None  # a whole row in one name, or more names than columns
        passes = []
        for row in range(len(columns[0][0].elements)):
            bound = tuple((name, Bound(columns[index[0]][0].elements[row].value, columns[index[0]][1], index[1:]))
                          for name, index in names.items())
            key_index = names[key_name]
            key_node = self.follow_index(columns[key_index[0]][0].elements[row].value, key_index[1:])
            key = literal(key_node) if key_node is not None else NOT_LITERAL
            if not isinstance(key, str):
                return None
            passes.append((key, bound))
        return passes

    def _display(self, node: cst.BaseExpression, ctx: Context):
        """(display, its context) for a tuple/list display or a name bound once to one and never acted on."""
        if isinstance(node, (cst.Tuple, cst.List)):
            return node, ctx
        if not isinstance(node, cst.Name):
            return None
        binding, scope, ambiguous = self.lookup(node.value, ctx)
        if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.index \
                or not isinstance(binding.value, (cst.Tuple, cst.List)) or self.actions_on(node.value, scope):
            return None
        return binding.value, self.context_for(binding, scope, ctx)


def target_names(target: cst.BaseExpression, prefix: tuple = ()) -> list[tuple[str, tuple]]:
    if isinstance(target, cst.Name):
        return [(target.value, prefix)]
    if isinstance(target, (cst.Tuple, cst.List)):
        found = []
        for i, item in enumerate(target.elements):
            if isinstance(item, cst.StarredElement):
                return []
            found.extend(target_names(item.value, prefix + (i,)))
        return found
    return []


def _jumps(body: cst.CSTNode) -> bool:
    """Whether a loop body holds a `break` or `continue` (its passes may then not all write)."""
    return any(type(node) in (cst.Break, cst.Continue)
               for node in descendants(body, prune=(cst.FunctionDef, cst.ClassDef, cst.Lambda)))
