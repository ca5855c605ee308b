"""Names → where their objects come from.

Follows an expression to the call that made its object: through assignments, aliases, tuple unpacking
and subscripts (elements.py), self-returning methods (`.to()`, `.cuda()`), copies and PEFT wrapping,
small local functions and methods (parameters bound from the call), instance attributes (members.py)
and their state (state.py), visible `**mappings` (mappings.py), a launch's command line (launched.py).
Whatever cannot be followed becomes an Origin or Value "unknown" with the reason."""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import libcst as cst

from ..types import Span
from .context import VARIES, Bound, Context, dominates
from .facts import Binding, BindingKind, BranchPath, dotted_name, ModuleFacts, Position, Scope, ScopeKind
from .callables import CallableResolution
from .functions import MAX_DEPTH, FunctionResolution
from .literals import NOT_LITERAL, element, literal, subscript_slice_start
from .signatures import def_origin, lambda_function_origin
from .mappings import MappingResolution
from .members import MemberResolution
from .model import Operation, Origin, Value
from .project import Project, ProjectResolution
from .replaced import REPLACERS, ReplaceResolution
from .values import ValueResolution
from .launched import LaunchedValues

# Methods that return the object they were called on (nn.Module semantics).
SELF_RETURNING = frozenset({"to", "cuda", "cpu", "half", "float", "bfloat16", "double", "eval", "train",
                            "requires_grad_", "to_empty"})
# Methods of a `datasets.Dataset` that return a new dataset made from the receiver.
DATASET_METHODS = frozenset({"map", "filter", "select", "shuffle", "remove_columns", "rename_column",
                             "rename_columns", "select_columns", "sort", "flatten", "add_column", "cast_column",
                             "with_format", "take", "skip", "shard", "train_test_split"})
PARSER_METHODS = frozenset({"parse_args_into_dataclasses", "parse_args_and_config", "parse_yaml_file",
                            "parse_json_file", "parse_dict"})
__all__ = ["Bound", "Context", "Resolver", "VARIES", "dominates", "element"]


class Resolver(ValueResolution, MappingResolution, MemberResolution, FunctionResolution, ProjectResolution,
               CallableResolution, LaunchedValues, ReplaceResolution):
    def __init__(self, facts: ModuleFacts, project: Optional[Project] = None, argv=None) -> None:
        self.facts = facts
        self._launched_init(argv)  # a launch's command line (argv.ScriptArgv), or None
        # The script's own modules its imports name (project.py); None: imports stay imports.
        self.project, self._project_names = project, {}
        self._active, self._origins = set(), {}
        self._keep_alive: list = []  # the contexts `_origins` is keyed on (by id) stay alive
        self._spans: dict = {}
        # Set while only an object's key is wanted: call arguments are not turned into Values.
        self._keys_only = False
        self._members_init()

    # --- spans and text -------------------------------------------------------------------
    def span(self, node: cst.CSTNode) -> Span:
        found = self._spans.get(node)
        if found is None:
            code_range = self.facts.range(node)
            found = self._spans[node] = Span(code_range.start.line, code_range.start.column + 1,
                                             code_range.end.line, code_range.end.column + 1,
                                             self.facts.file_of(node))
        return found

    def text(self, node: cst.CSTNode) -> str:
        return self.facts.text(node)

    def key(self, node: cst.CSTNode, ctx: Context) -> str:
        # A method call is placed at its name: the calls of a chain (`load().select().map()`) all
        # start where the chain does, and each makes its own object.
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.attr
        line, column = self.facts.position(node)
        where = self.facts.file_of(node)
        return f"{ctx.call_path}@{line}:{column}#{where}" if where else f"{ctx.call_path}@{line}:{column}"

    def param_key(self, scope: Scope, name: str) -> str:
        """The key of what a parameter holds, seen from inside its function."""
        function = scope.function_info
        where = "{}:{}".format(*self.facts.position(function.node)) if function is not None else ""
        return f"param:{scope.name}@{where}:{name}"

    # --- bindings -------------------------------------------------------------------------
    def lookup(self, name: str, ctx: Context) -> tuple[Optional[Binding], Optional[Scope], bool]:
        """The binding a use of `name` sees, its scope, and whether that is ambiguous."""
        scope, position, path = ctx.scope, ctx.position, ctx.path
        while scope is not None:
            candidates = scope.bindings.get(name)
            if candidates:
                # Bindings are kept in source order (scopes.collect): the last one before the use wins.
                count = len(candidates)
                if position is not None:
                    while count and not candidates[count - 1].position < position:
                        count -= 1
                if count:
                    last = candidates[count - 1]
                    ambiguous = count > 1 and last.path != path[: len(last.path)]
                    if last.kind == BindingKind.IMPORT and self.project is not None and not ambiguous:
                        followed = self.follow_project(last, scope)  # a name of a project module
                        if followed is not None:
                            return followed
                    return last, scope, ambiguous
                if scope.kind == ScopeKind.FUNCTION:
                    return None, scope, False
            scope, position, path = scope.lookup_parent, None, ()
        if self.project is not None:
            return self.star_name(name, ctx.scope)  # `from models import *`, models a project module
        return None, None, False

    def _context_for(self, binding_position: Position, binding_path: BranchPath, scope: Scope,
                     ctx: Context) -> Context:
        if scope is ctx.scope:
            return ctx.at(binding_position, binding_path)
        if scope in ctx.closure:  # a name of the function enclosing a closure: its call's parameters
            return Context(scope, binding_position, binding_path, ctx.params, ctx.call_path, (), ctx.closure)
        return Context(scope, binding_position, binding_path)

    def context_for(self, binding: Binding, scope: Scope, ctx: Context) -> Context:
        return self._context_for(binding.position, binding.path, scope, ctx)

    def loop_var(self, name: str, ctx: Context) -> Optional[Bound]:
        """What a followed loop's variable stands for in `ctx`."""
        for bound_name, bound in ctx.loop_vars:
            if bound_name == name:
                return bound
        return None

    def param(self, name: str, ctx: Context) -> Any:
        """What a parameter of ctx's function stands for: a Bound, VARIES or None (not passed)."""
        for bound_name, bound in ctx.params or ():
            if bound_name == name:
                return bound
        return None

    # --- qualified names ------------------------------------------------------------------
    def qualname(self, node: cst.BaseExpression, ctx: Context, depth: int = 0) -> str:
        kind = type(node)
        if kind is cst.Attribute:
            inner = self.qualname(node.value, ctx, depth)
            return f"{inner}.{node.attr.value}" if inner else ""
        if kind is cst.Call:
            return self.getattr_qualname(node, ctx, depth)
        if kind is not cst.Name or depth > MAX_DEPTH:
            return ""
        bound = self.loop_var(node.value, ctx) if ctx.loop_vars else None
        binding, scope, _ambiguous = self.lookup(node.value, ctx) if bound is None else (None, None, False)
        if bound is None and binding is not None and binding.kind == BindingKind.PARAM and self.binds_in(scope, ctx):
            bound = self.param(node.value, ctx)
        if isinstance(bound, Bound):  # (an element of a name's display too: `load(*row) for row in ROWS`)
            found = self.element_at(bound.node, bound.ctx, bound.index, depth)
            return self.qualname(found[0], found[1], depth + 1) if found is not None else ""
        if binding is None:
            for module in self.facts.star_modules:
                if module.split(".")[0] == "trl":
                    return f"{module}.{node.value}"
            return node.value
        if binding.kind == BindingKind.IMPORT:
            return binding.qualname
        if binding.kind in (BindingKind.CLASS, BindingKind.DEF):
            return f"<local>.{node.value}"
        found = self.element_at(binding.value, self.context_for(binding, scope, ctx), binding.index, depth) \
            if binding.kind == BindingKind.ASSIGN and binding.value is not None else None  # `cls, path = spec`
        # else a classmethod's `cls`: its class
        return self.qualname(found[0], found[1], depth + 1) if found is not None else self.class_of_cls(binding, scope)

    def follow_index(self, node: cst.BaseExpression, index: tuple) -> Optional[cst.BaseExpression]:
        for key in index:
            node = element(node, key)
            if node is None:
                return None
        return node

    def local_class(self, qualname: str, ctx: Context):
        if not qualname.startswith("<local>."):
            return None
        binding, _scope, _amb = self.lookup(qualname.split(".", 1)[1], ctx)
        return binding.klass if binding is not None else None

    # --- origins --------------------------------------------------------------------------
    def origin_key(self, node: cst.BaseExpression, ctx: Context) -> str:
        """The key of the object `node` holds (what origin() would say), computed for less."""
        outer, self._keys_only = self._keys_only, True
        try:
            return self.origin(node, ctx).key
        finally:
            self._keys_only = outer

    def origin(self, node: cst.BaseExpression, ctx: Context, index: tuple = (), depth: int = 0) -> Origin:
        key = (id(node), id(ctx.scope), ctx.position, ctx.path, index, ctx.call_path, id(ctx.params),
               id(ctx.loop_vars), self._keys_only)
        found = self._origins.get(key)
        if found is not None:
            return found
        if depth > MAX_DEPTH or key in self._active:
            return Origin(reason="too deeply nested to follow", text=self.text(node))
        self._active.add(key)
        try:
            found = self._origin(node, ctx, index, depth)
        finally:
            self._active.discard(key)
        # Contexts are built afresh for every call followed: only those still alive may share a key.
        self._origins[key] = found
        self._keep_alive.append(ctx)
        return found

    def _origin(self, node: cst.BaseExpression, ctx: Context, index: tuple, depth: int) -> Origin:
        kind = type(node)
        if kind is cst.Name:
            if node.value == "None" and not index:
                return Origin("none", text="None", span=self.span(node))
            return self._name_origin(node, ctx, index, depth)
        if kind is cst.Call:
            return self._call_origin(node, ctx, index, depth)
        if index and kind in (cst.Tuple, cst.List, cst.Dict):
            inner = element(node, index[0])
            if inner is not None:
                return self.origin(inner, ctx, index[1:], depth + 1)
            if isinstance(node, cst.Dict) or isinstance(index[0], str):
                return self.mapping_item_origin(node, ctx, index, depth)
            return Origin(reason="element of a tuple that cannot be followed", text=self.text(node))
        if index and kind is cst.ListComp and type(index[0]) is int:
            found = self.comprehension_element(node, ctx, index[0])  # that pass's element (loops.py)
            if found is not None:
                return self.origin(found[0], found[1], index[1:], depth + 1)
        if kind is cst.Subscript:
            key = self.key_of(node, ctx, depth)
            if key is not NOT_LITERAL:
                return self.origin(node.value, ctx, (key,) + index, depth + 1)
            start = subscript_slice_start(node)
            if start is not None and index and isinstance(index[0], int) and index[0] >= 0:
                # `a, b = parse_args_into_dataclasses(...)[:2]`: element i of x[s:] is x[s + i].
                return self.origin(node.value, ctx, (start + index[0],) + index[1:], depth + 1)
            text = self.text(node)
            return Origin(reason=f"`{text}` is indexed by a value that cannot be followed", text=text)
        if kind is cst.Attribute:
            module = self.project_member(node, ctx) if self.project is not None else None
            if module is not None:  # `models.build`: `build` in the project module `models`
                return self._name_origin(node.attr, module, index, depth)
            return self.attribute_origin(node, ctx, index, depth)
        if kind is cst.IfExp:
            return self.if_exp_origin(node, ctx, index, depth)
        text = self.text(node)
        if index:
            return Origin(reason="element of a value that cannot be followed", text=text)
        if kind is cst.Lambda:
            return lambda_function_origin(node, self.key(node, ctx), text, self.span)
        if literal(node) is not NOT_LITERAL:
            return Origin("literal", key=self.key(node, ctx), text=text, span=self.span(node))
        return Origin(reason=f"`{text}` cannot be followed", key=f"expr:{ctx.scope.name}:{text}", text=text)

    def _name_origin(self, node: cst.Name, ctx: Context, index: tuple, depth: int) -> Origin:
        name = node.value
        bound = self.loop_var(name, ctx) if ctx.loop_vars else None
        if bound is not None:
            return _named(self.origin(bound.node, bound.ctx, bound.index + index, depth + 1), name)
        binding, scope, ambiguous = self.lookup(name, ctx)
        if binding is None:
            return Origin(reason=f"`{name}` is not assigned in this file", key=f"global:{name}", text=name)
        if ambiguous:
            return Origin(reason=f"`{name}` is assigned differently in different branches", text=name)
        if binding.kind == BindingKind.PARAM:
            bound = self.param(name, ctx) if self.binds_in(scope, ctx) else None
            if isinstance(bound, Bound):
                return _named(self.origin(bound.node, bound.ctx, bound.index + index, depth + 1), name)
            if bound == VARIES:
                return Origin(reason=f"`{name}` is passed differently by the calls of `{scope.name}`", text=name,
                              variable=name)
            if ctx.params is not None and binding.value is not None and self.binds_in(scope, ctx):
                default_scope = scope.lookup_parent or scope
                return _named(self.origin(binding.value, Context(default_scope, None), index, depth + 1), name)
            return Origin(reason=f"`{name}` is a parameter of `{scope.name}`", key=self.param_key(scope, name),
                          text=name, variable=name)
        if binding.kind == BindingKind.ASSIGN and binding.value is not None:
            inner_ctx = self.context_for(binding, scope, ctx)
            if index and isinstance(index[0], str) and not binding.index:
                return _named(self.mapping_item_origin(node, ctx, index, depth), name)
            return _named(self.origin(binding.value, inner_ctx, binding.index + index, depth + 1), name)
        if binding.kind == BindingKind.IMPORT:
            return Origin(reason=f"`{name}` is imported from `{binding.qualname}`{self.import_note(binding.qualname)}",
                          key=f"import:{binding.qualname}", text=name)
        if binding.kind == BindingKind.DEF and not index and binding.function is not None \
                and self.keeps_function(binding.function):  # another decorator may turn it into anything
            # The function object itself (no span: nothing builds it that a fix could edit).
            return def_origin(name, "def:{}@{}:{}".format(name, *binding.position), binding.function.node, self.span)
        return Origin(reason=f"`{name}` is bound by a {binding.kind} statement", text=name)

    def _call_origin(self, call: cst.Call, ctx: Context, index: tuple, depth: int) -> Origin:
        func = call.func
        method = func.attr.value if isinstance(func, cst.Attribute) else ""
        # Only a parsed-arguments key is made of the text; other keys need none.
        text = "" if self._keys_only and not (method in PARSER_METHODS and index) else self.text(call)
        if method in SELF_RETURNING and not index:
            base = self.origin(func.value, ctx, (), depth + 1)
            if self._keys_only:
                return base
            args = self.positional_values(call, ctx, depth)
            keywords, _partial = self.keywords(call, ctx, depth)
            operation = Operation("call", method, args, keywords, None, self.span(call))
            return dataclasses.replace(base, operations=base.operations + (operation,))
        if method in PARSER_METHODS and index:
            return self._parsed_args(func.value, ctx, index[0], text, depth, call)
        function = self.local_function(func, ctx)
        if function is not None:
            return self._function_origin(function, call, ctx, index, depth)
        closure = self.closure_call(func, ctx)
        if closure is not None:
            return self._function_origin(closure[0], call, ctx, index, depth, outer=closure[1])
        wrapped = self.partial_target(func, ctx) if type(func) in (cst.Name, cst.Call, cst.Attribute) else None
        if wrapped is not None:
            # A functools.partial object: the callable it wraps, run with its bound arguments first.
            target, target_ctx, pairs = wrapped
            pairs = pairs + [(arg, ctx) for arg in call.args]
            function = self.local_function(target, target_ctx)
            if function is not None:
                return self._function_origin(function, call, ctx, index, depth, pairs)
            return self._made_by(call, ctx, target, target_ctx, pairs, index, depth, text)
        made = None if index or self._keys_only else self.partial_function_origin(call, ctx, depth)
        return made or self.lambda_origin(call, ctx, index, depth) \
            or self._made_by(call, ctx, func, ctx, None, index, depth, text)

    def _made_by(self, call: cst.Call, ctx: Context, func: cst.BaseExpression, func_ctx: Context,
                 pairs: Optional[list], index: tuple, depth: int, text: str) -> Origin:
        """What `call` makes running `func` (in func_ctx) with `pairs` (argument, context), else its own."""
        method = func.attr.value if isinstance(func, cst.Attribute) else ""
        callee = self.qualname(func, func_ctx) or dotted_name(func)
        last = callee.rsplit(".", 1)[-1] if callee else method
        positional = [(a.value, ctx) for a in call.args if a.keyword is None and not a.star] if pairs is None \
            else [(a.value, actx) for a, actx in pairs if a.keyword is None and not a.star]
        if self._keys_only:
            keywords, partial, args = (), False, ()
        elif pairs is None:
            keywords, partial = self.keywords(call, ctx, depth)
            args = self.positional_values(call, ctx, depth)
        else:
            keywords, partial = self.keywords_of(pairs, depth)
            args = self.positional_values_of(pairs, depth)
        common = dict(key=self.key(call, ctx), callee=callee, keywords=keywords, span=self.span(call), text=text,
                      partial=partial, args=args)
        if index:
            if isinstance(index[0], str):
                return self.mapping_item_origin(call, ctx, index, depth)
            return Origin(reason=f"element of the result of `{callee or text}` cannot be followed"
                          f"{self.import_note(callee)}", text=text)
        if method in ("from_pretrained", "from_config", "_from_config"):
            class_name = self.qualname(func.value, func_ctx)
            if method == "from_pretrained" and class_name.rsplit(".", 1)[-1].startswith("Peft") and positional:
                base = self.origin(positional[0][0], positional[0][1], (), depth + 1)
                return Origin("peft", class_name=base.class_name or class_name, base=base, **common)
            name = "config" if method != "from_pretrained" else "pretrained_model_name_or_path"
            path = self._path(call, ctx, pairs, positional, depth, name)
            if not path.known:  # named by a visible `**mapping`: its keywords hold it
                path = next((k.value for k in keywords if k.name == name), path)
            where, added = (None, None) if self._keys_only else (  # added: a keyword for this load alone goes there
                self.written_at(func.value, func_ctx), self.keywords_call(pairs or [(a, ctx) for a in call.args]))
            return Origin("from_pretrained" if method == "from_pretrained" else "from_config", class_name=class_name,
                          path=path, class_span=where, config=self.config_of(callee, positional, depth),
                          keywords_span=added and self.span(added), **common)
        if callee in REPLACERS and len(positional) == 1:  # `dataclasses.replace(config, **changes)` (replaced.py)
            return self.replaced_origin(*positional[0], keywords, partial, common, depth)
        if last in ("create_reference_model", "deepcopy") and positional:
            base = self.origin(positional[0][0], positional[0][1], (), depth + 1)
            return Origin("copy", class_name=base.class_name, base=base, **common)
        if last == "get_peft_model" and positional:
            base = self.origin(positional[0][0], positional[0][1], (), depth + 1)
            return Origin("peft", class_name=base.class_name, base=base, **common)
        if method in DATASET_METHODS and not self.is_import_rooted(func.value, func_ctx):
            base = self.origin(func.value, func_ctx, (), depth + 1)
            return Origin("method", class_name=base.class_name, base=base, **dict(common, callee=method))
        if last[:1].isupper():
            path = self._path(call, ctx, pairs, positional, depth, "")
            local = None if self._keys_only else self.local_class_facts(callee, func_ctx)
            return Origin("constructor", class_name=callee, path=path, local_class=local,
                          config=self.config_of(callee, positional, depth),
                          function=self.instance_call_shape(callee, func_ctx, local), **common)
        why = f"the result of `{callee or method}(...)` is not followed{self.import_note(callee)}"
        return Origin("call", reason=why, **common)

    def _path(self, call: cst.Call, ctx: Context, pairs: Optional[list], positional: list, depth: int, keyword: str):
        if self._keys_only:
            return Value()
        if positional:
            return self.value(positional[0][0], positional[0][1], depth + 1)
        found = Value()
        for arg, actx in pairs if pairs is not None else ((arg, ctx) for arg in call.args):
            if arg.keyword is not None and arg.keyword.value == keyword:
                found = self.value(arg.value, actx, depth + 1)  # the last one: a call's overrides a partial's
        return found


def _named(origin: Origin, name: str) -> Origin:
    return origin if origin.variable else Origin(**{**origin.__dict__, "variable": name})
