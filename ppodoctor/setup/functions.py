"""Local functions and classes as the resolver follows them: the function a call runs, its
parameters bound from the call's arguments, what it returns, and a local class's ancestors and
members (a mixin of resolve.Resolver)."""

from __future__ import annotations

import dataclasses
from typing import Optional

import libcst as cst

from .branches import BranchResolution
from .context import VARIES, Bound, Collected, Context
from .facts import BindingKind, FunctionInfo
from .members import is_classmethod
from .state import RECEIVER
from .model import LocalClass, Origin

MAX_DEPTH = 24  # how deep the resolver follows names, calls and classes


class FunctionResolution(BranchResolution):
    def local_class_facts(self, qualname: str, ctx: Context, seen: frozenset = frozenset()) -> Optional[LocalClass]:
        """What the file shows of the class `<local>.Name`: its non-local ancestors and its members."""
        klass = self.local_class(qualname, ctx)
        if klass is None or id(klass) in seen or len(seen) > MAX_DEPTH:
            return None
        outer = Context(klass.scope.parent, None) if klass.scope.parent is not None else ctx
        ancestors: list[str] = []
        members = set(klass.scope.bindings) | set(klass.attributes)
        for base in klass.bases:
            name = self.qualname(base, outer)
            inner = self.local_class_facts(name, outer, seen | {id(klass)}) if name.startswith("<local>.") else None
            if inner is not None:
                ancestors.extend(inner.ancestors)
                members.update(inner.members)
            else:
                ancestors.append("" if name.startswith("<local>.") else name)
        return LocalClass(klass.name, tuple(dict.fromkeys(ancestors)), tuple(sorted(members)))

    def is_import_rooted(self, node: cst.BaseExpression, ctx: Context) -> bool:
        while isinstance(node, cst.Attribute):
            node = node.value
        if not isinstance(node, cst.Name):
            return False
        binding, _scope, _ambiguous = self.lookup(node.value, ctx)
        return binding is not None and binding.kind == BindingKind.IMPORT

    def local_function(self, func: cst.BaseExpression, ctx: Context) -> Optional[FunctionInfo]:
        """The function or method defined in this file that `func(...)` calls, if it can be told."""
        if isinstance(func, cst.Attribute):
            return self.method_called(func, ctx)
        if not isinstance(func, cst.Name):
            return None
        binding, _scope, ambiguous = self.lookup(func.value, ctx)
        if binding is None or ambiguous or binding.kind != BindingKind.DEF:
            return None
        return binding.function

    def binds_in(self, scope, ctx: Context) -> bool:
        """Whether ctx's parameters say what the parameters of `scope`'s function hold."""
        return scope is ctx.scope or scope in ctx.closure

    def closure_call(self, func: cst.BaseExpression, ctx: Context) -> Optional[tuple[FunctionInfo, Context]]:
        """`load = make_loader(cls)`, then `load(path)`: the function `make_loader` defines and returns,
        with the context of the call that made it (its parameters are the closure's)."""
        if not isinstance(func, cst.Name):
            return None
        binding, scope, ambiguous = self.lookup(func.value, ctx)
        if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.index \
                or not isinstance(binding.value, cst.Call):
            return None
        maker_ctx = self.context_for(binding, scope, ctx)
        maker = self.local_function(binding.value.func, maker_ctx)
        inner = self.returned_function(maker) if maker is not None else None
        return (inner, self.call_context(maker, binding.value, maker_ctx)) if inner is not None else None

    def returned_function(self, maker: FunctionInfo) -> Optional[FunctionInfo]:
        """The function `maker` defines in its body and returns, when its one `return` gives just that
        (a closure factory, a decorator factory); None otherwise."""
        if len(maker.returns) != 1 or not isinstance(maker.returns[0][0], cst.Name):
            return None
        returned, position = maker.returns[0]
        inner, scope, ambiguous = self.lookup(returned.value, Context(maker.scope, position))
        if inner is None or ambiguous or inner.kind != BindingKind.DEF or scope is not maker.scope:
            return None
        return inner.function

    def call_context(self, function: FunctionInfo, call: cst.Call, ctx: Context, pairs: Optional[list] = None,
                     outer: Optional[Context] = None) -> Context:
        """The context inside `function` as `call` runs it: its parameters bound to the arguments.

        pairs: the arguments with their contexts when they are not just `call`'s (a functools.partial's
        bound arguments come first). A memoised function (lru_cache, cache) called with arguments of
        known equal values runs once: its objects are keyed by the function and those values."""
        on_object = pairs is None and function.klass is not None and isinstance(call.func, cst.Attribute)
        receiver = self.origin_key(call.func.value, ctx) if on_object else ""  # `obj.method(...)`: its key
        pairs = [(arg, ctx) for arg in call.args] if pairs is None else pairs
        params = self.bind_pairs(function, pairs, call, ctx)
        if on_object:  # the object `self` is, for what its methods did to it (state.py)
            params += ((RECEIVER, Bound(call.func.value, ctx)),)
        line, column = self.facts.position(call)
        if outer is not None:  # a closure: its own parameters, then those of the call that made it
            return Context(function.scope, None, (), params + (outer.params or ()),
                           f"{outer.call_path}/{ctx.call_path}/{line}:{column}", (), (outer.scope,) + outer.closure)
        memo = self.memo_path(function, pairs, receiver)
        if memo is not None:
            return Context(function.scope, None, (), params, memo)
        return Context(function.scope, None, (), params, f"{ctx.call_path}/{line}:{column}")

    def bind_arguments(self, function: FunctionInfo, call: cst.Call, ctx: Context) -> tuple:
        return self.bind_pairs(function, [(arg, ctx) for arg in call.args], call, ctx)

    def bind_pairs(self, function: FunctionInfo, pairs: list, call: Optional[cst.Call] = None,
                   ctx: Optional[Context] = None) -> tuple:
        node = function.node.params
        positional_names = [p.name.value for p in list(node.posonly_params) + list(node.params)]
        if function.self_name or (function.klass is not None and is_classmethod(function)):
            positional_names = positional_names[1:]  # `self` (or `cls`) is the receiver or the new instance
        star = node.star_kwarg.name.value if node.star_kwarg is not None else None
        names = {name for name, _default in function.params} - {star}
        params: dict = {}
        positional = [(a, actx) for a, actx in pairs if a.keyword is None and not a.star]
        for name, (arg, actx) in zip(positional_names, positional):
            params[name] = Bound(arg.value, actx)
        spread, length = _spread(pairs), None
        if spread is not None:
            # `main(*parser.parse_args_and_config())`: the parameters after the plain positionals are
            # the unpacked sequence's elements, in order
            arg, actx = spread
            length = self.sequence_length(arg.value, actx)  # a row the source shows: the rest keep their defaults
            rest = positional_names[len(positional):]
            for offset, name in enumerate(rest if length is None else rest[:length]):
                params[name] = Bound(arg.value, actx, (offset,))
        for arg, actx in pairs:
            if arg.keyword is not None and arg.keyword.value in names:
                params[arg.keyword.value] = Bound(arg.value, actx)  # a later keyword overrides a partial's
        if star is not None and call is not None:  # `**options`: the keywords no other parameter takes
            params[star] = Collected([(arg, actx) for arg, actx in pairs if arg.star == "**" or (
                arg.keyword is not None and arg.keyword.value not in names)], call, ctx)
        if any(arg.star for arg, _actx in pairs) and (spread is None or length is None):
            # `*args`/`**kwargs` at the call: what they fill is not known here (a `*row` of a length the
            # source shows fills exactly its first parameters).
            for name in names:
                params.setdefault(name, VARIES)
        return tuple(params.items())

    def _function_origin(self, function: FunctionInfo, call: cst.Call, ctx: Context, index: tuple,
                         depth: int, pairs: Optional[list] = None, outer: Optional[Context] = None) -> Origin:
        if not function.returns:
            return Origin(reason=f"`{function.name}` returns nothing that can be followed", text=self.text(call))
        inner = self.call_context(function, call, ctx, pairs, outer)
        live = self.live_returns(function, inner, depth)
        if not live:
            return Origin(reason=f"no return of `{function.name}` runs for these arguments", text=self.text(call))
        origins = [self.origin(node, inner.at(position, ()), index, depth + 1) for node, position in live]
        first = origins[0]
        if all((o.kind, o.class_name, o.key) == (first.kind, first.class_name, first.key) for o in origins):
            return first
        if all((o.kind, o.class_name) == (first.kind, first.class_name) and o.known for o in origins):
            key = f"{inner.call_path}@return" if inner.call_path.startswith("memo:") else self.key(call, ctx)
            return dataclasses.replace(first, key=key)
        return Origin(reason=f"`{function.name}` returns different things on different paths", text=self.text(call))


def _spread(pairs: list):
    """The one `*sequence` argument of a call, when it comes after every plain positional and no
    `**mapping` may fill a parameter too; else None."""
    stars = [(index, pair) for index, pair in enumerate(pairs) if pair[0].star]
    if len(stars) != 1 or stars[0][1][0].star != "*":
        return None
    index, pair = stars[0]
    if any(arg.keyword is None and not arg.star for arg, _actx in pairs[index + 1:]):
        return None
    return pair
