"""Mappings whose contents the source shows: dict displays, `dict(...)`, and a dict built step by step
(`kw = {}; kw["model"] = policy; kw.update(value_model=v)`), up to the point where it is read.

A mixin of resolve.Resolver. A key written in a loop is visible when the loop's effect is: the loop
walks a visible registry (`for role, (cls, path, kw) in MODELS.items(): built[role] = ...`) without
`break` or `continue`, and the key is the loop's own variable. Anything else hides the mapping (a
filtered comprehension, `**vars(args)`, a key computed at run time): `complete` turns False.
"""

from __future__ import annotations

from typing import Any, Optional

import libcst as cst
from libcst._position import CodePosition, CodeRange

from .context import VARIES, Bound, Collected, Context, dominates
from .literals import NOT_LITERAL, literal, subscript_key
from .loops import LoopResolution, target_names
from .roundtrip import LOADERS, RoundTripResolution
from .elements import ElementResolution
from .state import StateResolution
from .views import Entry, View
from .model import Origin, Value
from .facts import ActionKind, BindingKind
from ..types import OriginKind, ValueKind

_DEPTH = 24
_MUTATORS = frozenset({"update", "setdefault", "pop", "clear", "popitem"})
# Classes whose constructor takes what `dict(...)` takes and whose instances are read and written by
# key as a dict's are (torch's ModuleDict holds models by name; its `update`/item writes are a dict's).
MAPPING_CLASSES = frozenset({"dict", "collections.OrderedDict", "torch.nn.ModuleDict",
                             "torch.nn.modules.container.ModuleDict"})


class MappingResolution(LoopResolution, RoundTripResolution, StateResolution, ElementResolution):
    def expand_mapping(self, node: cst.BaseExpression, ctx: Context, depth: int = 0):
        """The (key, value node, context) items of a `**mapping` whose every key and value is seen on
        every path (`migrate` rewrites them in place), else None."""
        view = self.mapping_view(node, ctx, depth)
        if view is None or not view.exact:
            return None
        return [(key, entry.node, entry.ctx) for key, entry in view.items.items()]

    def mapping_view(self, node: cst.BaseExpression, ctx: Context, depth: int = 0) -> Optional[View]:
        """The mapping `node` holds, or None when nothing of it can be seen."""
        if depth > _DEPTH:
            return None
        if isinstance(node, cst.Dict):
            view = View()
            for item in node.elements:
                if isinstance(item, cst.DictElement):
                    key = literal(item.key)
                    if isinstance(key, str):
                        view.items[key] = Entry(item.value, ctx, key_node=item.key)
                    else:
                        view.hide()
                else:
                    view.merge(self.mapping_view(item.value, ctx, depth + 1))
            return view
        if isinstance(node, cst.Call):
            return self._call_view(node, ctx, depth)
        if isinstance(node, cst.Name):
            return self._name_view(node, ctx, depth)
        if isinstance(node, cst.DictComp):
            return self._comprehension_view(node, ctx, depth)
        if isinstance(node, cst.Attribute):
            found = self.attribute_value_node(node, ctx, depth)
            view = self.mapping_view(found[0], found[1], depth + 1) if isinstance(found, tuple) and not found[2] \
                else None
            if view is not None:  # and what the object's methods wrote to it since (state.py)
                self.apply_state(view, node, ctx, found[1], depth)
            return view
        if isinstance(node, cst.Subscript):  # `spec = SPECS[role]`: the mapping an entry of another holds
            key = self.key_of(node, ctx, depth)
            found = self.element_node(node.value, ctx, key, depth) if key is not NOT_LITERAL else None
            return self.mapping_view(found[0], found[1], depth + 1) if found is not None else None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
            return self._merged(node.left, node.right, ctx, depth)
        if isinstance(node, cst.AugAssign):  # `kw |= other`, bound as kw's new value (scopes.py)
            return self._merged(node.target, node.value, ctx, depth)
        if isinstance(node, cst.IfExp):  # `A if TEST else B`: the branch a known test picks (conditional.py)
            chosen = self.if_exp_branch(node, ctx, depth)
            return self.mapping_view(chosen, ctx, depth + 1) if chosen is not None else None
        return None

    def _merged(self, left: cst.BaseExpression, right: cst.BaseExpression, ctx: Context, depth: int) -> Optional[View]:
        """`left | right` of two mappings: the right one's keys win."""
        first = self.mapping_view(left, ctx, depth + 1)
        if first is None:
            return None
        view = View()
        view.merge(first)
        view.merge(self.mapping_view(right, ctx, depth + 1))
        return view

    def _call_view(self, call: cst.Call, ctx: Context, depth: int) -> Optional[View]:
        callee = self.qualname(call.func, ctx)
        if callee in MAPPING_CLASSES:
            return self._arguments_view(call.args, ctx, depth)
        if callee in LOADERS:
            return self.round_trip_view(call, ctx, depth)
        if callee in ("copy.copy", "copy.deepcopy") and len(call.args) == 1 and not call.args[0].keyword:
            return self.mapping_view(call.args[0].value, ctx, depth + 1)
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "copy" and not call.args \
                and not self.is_import_rooted(call.func.value, ctx):
            return self.mapping_view(call.func.value, ctx, depth + 1)
        if callee == "vars" and len(call.args) == 1 and not call.args[0].keyword and not call.args[0].star:
            return self._fields_view(call.args[0].value, ctx, depth)
        if isinstance(call.func, cst.Attribute) and call.func.attr.value == "get" and 1 <= len(call.args) <= 2 \
                and not any(a.keyword or a.star for a in call.args):
            # `spec.get("kwargs", {})`: the entry when the mapping surely has it, the default when surely not
            owner = self.mapping_view(call.func.value, ctx, depth + 1)
            key = self.value(call.args[0].value, ctx, depth + 1)
            if owner is not None and key.kind == ValueKind.LITERAL and isinstance(key.value, str):
                entry = owner.items.get(key.value)
                if entry is not None and entry.certain:
                    return self.mapping_view(entry.node, entry.ctx, depth + 1)
                if entry is None and owner.complete:
                    return self.mapping_view(call.args[1].value, ctx, depth + 1) if len(call.args) == 2 else None
            return None
        function = self.local_function(call.func, ctx)
        if function is not None and len(function.returns) == 1:
            returned, position = function.returns[0]
            inner = self.call_context(function, call, ctx).at(position, ())
            return self.mapping_view(returned, inner, depth + 1)
        return None

    def _fields_view(self, node: cst.BaseExpression, ctx: Context, depth: int) -> Optional[View]:
        """`vars(bundle)` of a dataclass instance of this file (fields, no `__init__` or other instance
        attributes of its own): each field as the call that made it passes it, else its default."""
        instance = self.instance_class(node, ctx, depth + 1)
        if instance is None:
            return None
        klass, made_by, made_ctx = instance
        if not klass.fields or "__init__" in klass.methods or set(klass.attributes) - set(klass.fields):
            return None
        view = View()
        for name in klass.fields:
            found = self._field_node(klass, name, made_by, made_ctx, name)
            if isinstance(found, tuple) and not found[2]:
                view.items[name] = Entry(found[0], found[1])
            else:
                view.hide()  # the field is there; what it holds is not seen
        return view

    def _arguments_view(self, args, ctx: Context, depth: int) -> Optional[View]:
        """What `dict(...)` (or `.update(...)`) with these arguments holds."""
        positional = [a for a in args if a.keyword is None and not a.star]
        if len(positional) > 1:
            return None
        view = View()
        if positional:
            view.merge(self.mapping_view(positional[0].value, ctx, depth + 1))
        for arg in args:
            if arg.keyword is not None:
                view.items[arg.keyword.value] = Entry(arg.value, ctx, key_at=arg.keyword)
            elif arg.star == "**":
                view.merge(self.mapping_view(arg.value, ctx, depth + 1))
            elif arg.star:
                view.hide()
        return view

    def _name_view(self, node: cst.Name, ctx: Context, depth: int) -> Optional[View]:
        from_loop = self.loop_var(node.value, ctx) if ctx.loop_vars else None
        if from_loop is not None:
            target = self.follow_index(from_loop.node, from_loop.index)
            return self.mapping_view(target, from_loop.ctx, depth + 1) if target is not None else None
        binding, scope, ambiguous = self.lookup(node.value, ctx)
        if binding is None or ambiguous:
            return None
        if binding.kind == BindingKind.PARAM:
            bound = self.param(node.value, ctx) if self.binds_in(scope, ctx) else None
            if isinstance(bound, Bound):
                found = self.element_at(bound.node, bound.ctx, bound.index, depth)
                return self.mapping_view(found[0], found[1], depth + 1) if found is not None else None
            if isinstance(bound, Collected):  # a `**kwargs` parameter of a followed call
                return self.collected_view(bound, node.value, binding, scope, ctx, depth)
            if bound is None and ctx.params is not None and binding.value is not None and self.binds_in(scope, ctx):
                return self.mapping_view(binding.value, Context(scope.lookup_parent or scope, None), depth + 1)
            return None
        if binding.kind != BindingKind.ASSIGN or binding.value is None:
            return None
        inner = self.context_for(binding, scope, ctx)
        value = self.follow_index(binding.value, binding.index) if binding.index else binding.value
        if value is None:  # `cls, path, options = specs[role]`: an element of what another holds
            value, inner = self.element_at(binding.value, inner, binding.index, depth) or (None, inner)
        view = self.mapping_view(value, inner, depth + 1) if value is not None else None
        if view is None:
            return None
        self._apply_writes(view, node.value, binding, scope, inner, ctx, depth)
        return view

    def _apply_writes(self, view: View, name: str, binding, scope, binding_ctx: Context, use: Context,
                      depth: int) -> None:
        """The item writes and mutating calls on `name` between its binding and the read, in order."""
        same = scope is use.scope
        until, use_path = (use.position, use.path) if same else (None, ())
        for action in self.actions_on(name, scope):
            if action.position <= binding.position or (until is not None and action.position >= until):
                continue
            if action.kind not in (ActionKind.ITEM, ActionKind.DELITEM) and not (action.kind == ActionKind.CALL and action.name in _MUTATORS):
                continue
            seen, _scope, ambiguous = self.lookup(name, Context(scope, action.position, action.path))
            if seen is not binding:
                continue
            certain = dominates(action.path, use_path) and not ambiguous
            ctx = self._context_for(action.position, action.path, scope, binding_ctx)
            if not certain and not ambiguous:  # under an `if` whose test the call's arguments decide (branches.py)
                taken = self._path_taken(action.path[len(_common(action.path, use_path)):], ctx,
                                         _body_range(self.facts, scope), depth)
                if taken is False:
                    continue  # the write surely does not run
                certain = taken is True
            if action.kind == ActionKind.ITEM:
                self._write_item(view, action, ctx, certain, depth)
            elif action.kind == ActionKind.DELITEM:
                key = literal(action.key) if action.key is not None else NOT_LITERAL
                if not isinstance(key, str):
                    view.hide()
                elif certain:
                    view.items.pop(key, None)
                elif key in view.items:
                    view.items[key].certain = False
            else:
                self._mutating_call(view, action.node, action.name, ctx, certain, depth)

    def _write_item(self, view: View, action, ctx: Context, certain: bool, depth: int) -> None:
        key = literal(action.key) if action.key is not None else NOT_LITERAL
        if action.node is action.subject or (isinstance(action.node, cst.Subscript)
                                             and action.node.value is action.subject):
            # `kw["x"] += 1`: changed in place, to a value not written here.
            if isinstance(key, str) and key in view.items:
                view.items[key].certain = False
            else:
                view.hide()
            return
        if isinstance(key, str):
            view.items[key] = Entry(action.node, ctx, certain, action.key)
            return
        items = self._loop_items(action, ctx, depth) if action.loop is not None else None
        if items is None:
            view.hide()
            return
        line, column = self.facts.position(action.loop)
        for loop_key, loop_vars in items:
            # Each pass of the loop makes its own objects: the key names the pass.
            entry_ctx = ctx.replace(loop_vars=loop_vars + ctx.loop_vars,
                                            call_path=f"{ctx.call_path}/for{line}:{column}[{loop_key}]")
            view.items[loop_key] = Entry(action.node, entry_ctx, certain, _written_key(self, action.key, loop_vars))

    def _mutating_call(self, view: View, call: cst.Call, method: str, ctx: Context, certain: bool,
                       depth: int) -> None:
        if method in ("clear", "popitem"):
            if method == "clear" and certain:
                view.items.clear()
            else:
                view.hide()
            return
        if method == "update":
            update = self._arguments_view(call.args, ctx, depth + 1)
            if update is None:
                view.hide()
                return
            for key, entry in update.items.items():
                entry.certain = entry.certain and certain
                view.items[key] = entry
            if not update.complete:
                view.hide()
            return
        args = [a for a in call.args if a.keyword is None and not a.star]
        key = literal(args[0].value) if args else NOT_LITERAL
        if not isinstance(key, str):
            view.hide()
        elif method == "pop":
            if certain:
                view.items.pop(key, None)
            elif key in view.items:
                view.items[key].certain = False
        elif key not in view.items and len(args) == 2:  # setdefault
            view.items[key] = Entry(args[1].value, ctx, certain, args[0].value)

    def _comprehension_view(self, node: cst.DictComp, ctx: Context, depth: int) -> Optional[View]:
        clause = node.for_in
        if clause.ifs or clause.inner_for_in is not None or clause.asynchronous is not None \
                or not isinstance(node.key, cst.Name):
            return None  # a filtered or nested comprehension: its keys are not visible
        names = dict(target_names(clause.target))
        if node.key.value not in names:
            return None
        passes = self._iterated(clause.iter, names, node.key.value, ctx, depth)
        if passes is None:
            return None
        line, column = self.facts.position(node)
        view = View()
        for key, loop_vars in passes:
            entry_ctx = ctx.replace(loop_vars=loop_vars + ctx.loop_vars,
                                            call_path=f"{ctx.call_path}/for{line}:{column}[{key}]")
            view.items[key] = Entry(node.value, entry_ctx)
        return view

    # --- reading one key --------------------------------------------------------------------
    def mapping_item_origin(self, node: cst.BaseExpression, ctx: Context, index: tuple, depth: int) -> Origin:
        key = index[0]
        text = self.text(node)
        view = self.mapping_view(node, ctx, depth + 1) if isinstance(key, str) else None
        entry = view.items.get(key) if view is not None else None
        if entry is None and view is None and isinstance(key, str):
            # `load_dataset(...)["train"]`, `split["test"]`: an item of an object that is not a visible
            # mapping. The same key of the same object is the same object.
            base = self.origin(node, ctx, (), depth + 1)
            if base.kind in (OriginKind.CALL, OriginKind.METHOD, OriginKind.CONSTRUCTOR, OriginKind.FROM_PRETRAINED):
                item = Origin("method", key=f"{base.key}[{key!r}]" if base.key else "", callee="__getitem__",
                              class_name="", base=base, args=(Value("literal", key, repr(key)),),
                              text=f"{text}[{key!r}]")
                return self.origin_rest(item, index[1:], text)
        if entry is None:
            reason = f"`{text}` has no key {key!r}" if view is not None and view.complete else \
                f"the contents of `{text}` are not visible"
            return Origin(reason=reason, text=f"{text}[{key!r}]")
        if not entry.certain:
            return Origin(reason=f"`{text}[{key!r}]` is set only on some paths", text=f"{text}[{key!r}]")
        return self.origin(entry.node, entry.ctx, index[1:], depth + 1)

    def origin_rest(self, origin: Origin, rest: tuple, text: str) -> Origin:
        if rest:
            return Origin(reason=f"element of `{text}` cannot be followed", text=text)
        return origin

    def key_of(self, node: cst.Subscript, ctx: Context, depth: int) -> Any:
        """The key of `x[key]`: written literally, or a str/int the source shows elsewhere (a bound
        parameter, a constant); NOT_LITERAL otherwise."""
        key = subscript_key(node)
        if key is NOT_LITERAL and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) \
                and node.slice[0].slice.star is None:
            found = self.value(node.slice[0].slice.value, ctx, depth + 1)
            if found.kind == ValueKind.LITERAL and type(found.value) in (str, int):
                key = found.value
        return key

    def element_node(self, node: cst.BaseExpression, ctx: Context, key: Any, depth: int):
        """(expression, context) of `node[key]` for a literal key, when visible."""
        if isinstance(key, str):
            view = self.mapping_view(node, ctx, depth + 1)
            entry = view.items.get(key) if view is not None else None
            return (entry.node, entry.ctx) if entry is not None and entry.certain else None
        if isinstance(node, cst.Name):
            binding, scope, ambiguous = self.lookup(node.value, ctx)
            if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.value is None:
                return None
            inner = self.follow_index(binding.value, binding.index + (key,))
            return (inner, self.context_for(binding, scope, ctx)) if inner is not None else None
        inner = self.follow_index(node, (key,))
        if inner is None and isinstance(node, (cst.Subscript, cst.ListComp)):  # `SPECS[ACTOR][1]`: through the
            return self.element_at(node, ctx, (key,), depth + 1)  # element the outer subscript names
        return (inner, ctx) if inner is not None else None

    def actions_on(self, name: str, scope) -> list:
        """The recorded actions whose subject is exactly the name `name` in `scope`."""
        index = self._actions_by_name
        if index is None:
            index = self._actions_by_name = {}
            for action in self.facts.actions:
                if type(action.subject) is cst.Name:
                    index.setdefault((action.receiver, id(action.scope)), []).append(action)
        return index.get((name, id(scope)), [])


__all__ = ["Entry", "MappingResolution", "VARIES", "View"]


def _common(path, other) -> tuple:
    """The branches two paths share, from the outermost."""
    shared = 0
    while shared < min(len(path), len(other)) and path[shared] == other[shared]:
        shared += 1
    return path[:shared]


def _body_range(facts, scope) -> CodeRange:
    """Where the branches that belong to `scope` may start: its function's definition, or the module."""
    function = scope.function_info
    return facts.range(function.node) if function is not None else CodeRange(CodePosition(1, 0), CodePosition(1, 0))


def _written_key(resolver, key: cst.BaseExpression, loop_vars: tuple) -> Optional[cst.BaseExpression]:
    """Where this pass's key is written (the name of a `(name, value)` pair a loop copies into the
    dict), for fixes that rename it there: one pass, one element."""
    bound = next((b for name, b in loop_vars if isinstance(key, cst.Name) and name == key.value), None)
    return resolver.follow_index(bound.node, bound.index) if bound is not None else None
