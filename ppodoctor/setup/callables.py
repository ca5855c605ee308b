"""Callables that are not plain functions: functools.partial objects and memoised functions (a mixin
of resolve.Resolver).

A partial is the callable it wraps with arguments bound: calling it runs that callable with the
partial's positional arguments first and its keywords merged with the call's (the call's win), each
argument evaluated where it is written. A function under functools.lru_cache or functools.cache
runs once per distinct argument list: two calls with arguments of equal literal values (or the same
imported names, such as a model class) return one object, so the objects it makes are keyed by the
function and those values. Where the values (or
the cache's size) cannot be told, each call keeps its own objects, as for any function.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import libcst as cst

from ..types import OriginKind, Span, ValueKind
from .context import Bound, Context
from .facts import BindingKind, FunctionInfo, ScopeKind
from .literals import NOT_LITERAL, literal
from .model import LocalClass, Origin
from .shapes import FunctionShape
from .signatures import ends_in_return_or_raise, partial_shape, shape

_PARTIAL = "functools.partial"
_CACHES = frozenset({"functools.lru_cache", "functools.cache"})
# Decorators that return what the function returns (the object itself): a cache under them still holds.
_TRANSPARENT = frozenset({"torch.no_grad", "torch.inference_mode", "torch.enable_grad"})
_DEFAULT_MAXSIZE = 128  # functools.lru_cache's
_DEPTH = 8  # partials of partials


class CallableResolution:
    def partial_target(self, func: cst.BaseExpression, ctx: Context, depth: int = 0) \
            -> Optional[tuple[cst.BaseExpression, Context, list]]:
        """When `func` is (or names) a `functools.partial(f, ...)`: f, its context, and the bound arguments
        as (argument, its context) pairs, an inner partial's first."""
        node, node_ctx = func, ctx
        if isinstance(func, cst.Name):
            binding, scope, ambiguous = self.lookup(func.value, ctx)
            if binding is not None and binding.kind == BindingKind.PARAM and self.binds_in(scope, ctx) and depth < _DEPTH:
                bound = self.param(func.value, ctx)  # a loader handed to a followed call
                if isinstance(bound, Bound) and not bound.index:
                    return self.partial_target(bound.node, bound.ctx, depth + 1)
                return None
            if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.index \
                    or not isinstance(binding.value, cst.Call):
                return None
            node, node_ctx = binding.value, self.context_for(binding, scope, ctx)
        elif isinstance(func, cst.Attribute):  # `self.load = functools.partial(...)`, then `self.load(...)`
            found = self.attribute_value_node(func, ctx) if depth < _DEPTH else None
            if not isinstance(found, tuple) or found[2]:
                return None
            node, node_ctx = found[0], found[1]
        if not isinstance(node, cst.Call) or not node.args or self.qualname(node.func, node_ctx) != _PARTIAL:
            return None
        first = node.args[0]
        if first.keyword is not None or first.star:
            return None
        bound = [(arg, node_ctx) for arg in node.args[1:]]
        inner = self.partial_target(first.value, node_ctx, depth + 1) if depth < _DEPTH else None
        if inner is not None:
            return inner[0], inner[1], inner[2] + bound
        return first.value, node_ctx, bound

    def partial_function_origin(self, call: cst.Call, ctx: Context, depth: int) -> Optional[Origin]:
        """`functools.partial(f, ...)` of a function the file defines (or a lambda): f's origin with the
        parameters the partial can still be called with (a reward function's shape); None for any other call."""
        args = call.args
        if not args or args[0].keyword is not None or depth > _DEPTH or any(a.star for a in args) \
                or self.qualname(call.func, ctx) != _PARTIAL:
            return None
        target = self.origin(args[0].value, ctx, (), depth + 1)
        if target.kind != OriginKind.FUNCTION or target.function is None:
            return None
        keywords = frozenset(a.keyword.value for a in args[1:] if a.keyword is not None)
        shape = partial_shape(target.function, sum(1 for a in args[1:] if a.keyword is None), keywords)
        if shape is None:
            return None
        text = self.text(call)
        return Origin(OriginKind.FUNCTION, key=self.key(call, ctx), text=text, function=shape,
                      reason=f"a partial of `{target.text}`")

    def keeps_function(self, function: FunctionInfo) -> bool:
        """Whether the name `function` is defined under still holds the function itself: no decorator, or
        decorators of the file that hand their argument back unchanged (a registering decorator, which files
        the function in a table, or the one a decorator factory returns: `@reward("brevity")`)."""
        parent = function.scope.parent
        if parent is None:
            return not function.node.decorators
        outer = Context(parent, None)  # decorators are evaluated where the `def` stands
        return all(self._hands_back(decorator.decorator, outer) for decorator in function.node.decorators)

    def _hands_back(self, expression: cst.BaseExpression, ctx: Context) -> bool:
        if isinstance(expression, cst.Call):  # a factory: the decorator is the local function it returns
            factory = self.local_function(expression.func, ctx)
            decorator = self.returned_function(factory) if factory is not None else None
            if decorator is None:
                return False
        else:
            decorator = self.local_function(expression, ctx)
        if decorator is None or decorator.node.decorators or not decorator.params or decorator.klass is not None:
            return False
        first = decorator.params[0][0]
        rebound = any(b.kind != BindingKind.PARAM for b in decorator.scope.bindings.get(first, ()))
        return not rebound and bool(decorator.returns) and ends_in_return_or_raise(decorator.node.body) and \
            all(isinstance(value, cst.Name) and value.value == first for value, _position in decorator.returns)

    def instance_call_shape(self, qualname: str, ctx: Context, local: Optional[LocalClass]) -> Optional[FunctionShape]:
        """What an instance of the class `<local>.Name` can be called with: its `__call__` without the instance
        parameter (a reward object configured in its constructor). None when the class defines none, or may
        take one from a class outside the file first (Python's lookup then finds that one)."""
        klass = self.local_class(qualname, ctx)
        if klass is None or local is None:
            return None
        method = self.find_method(klass, "__call__")
        if method is None or method.node.decorators or not method.self_name or \
                method.klass is not klass and any(local.ancestors):
            return None  # a static or class method, or one an imported base's `__call__` may come before
        return self._bound_shape(method)

    def bound_method_origin(self, node: cst.Attribute, ctx: Context, depth: int) -> Optional[Origin]:
        """`obj.method` read without a call, `obj` an object of a class of the file: the method bound to it
        (a reward function TRL calls as `obj.method(prompts=..., ...)`), with its parameters less the
        instance. None where the attribute is not such a method (an instance attribute, a static or class
        method, a decorated one, or one an imported base's attribute may come before)."""
        instance = self.instance_class(node.value, ctx, depth + 1)
        if instance is None:
            return None
        klass = instance[0] if instance[1] is not None else self.dynamic_class(node.value, ctx, instance[0])
        name = node.attr.value
        method = self.find_method(klass, name)
        if method is None or method.node.decorators or not method.self_name or self.attribute_sites(klass, name) \
                or method.klass is not klass and self._foreign_base(klass):
            return None
        bound = self._bound_shape(method)
        return Origin(OriginKind.FUNCTION, key=self.key(node, ctx), text=self.text(node), function=bound,
                      reason=f"the method `{bound.name}` bound to its object") if bound is not None else None

    def _bound_shape(self, method: FunctionInfo) -> Optional[FunctionShape]:
        """A method's shape as its object's attribute: the instance parameter filled, named as Python's
        TypeError names it (`Class.method`)."""
        bound = partial_shape(shape(method.node, self.span), 1, frozenset())
        owner = method.klass.name if method.klass is not None else ""
        return dataclasses.replace(bound, name=f"{owner}.{method.name}" if owner else method.name) \
            if bound is not None else None

    def _foreign_base(self, klass, depth: int = 0) -> bool:
        """Whether a class outside the file (object aside) is among `klass`'s ancestors."""
        local = self.local_bases(klass)
        outer = Context(klass.scope.parent, None) if klass.scope.parent is not None else None
        names = [self.qualname(base, outer) for base in klass.bases] if outer is not None else ["?"]
        return len(local) < len([n for n in names if n not in ("object", "builtins.object")]) or \
            depth < 8 and any(self._foreign_base(base, depth + 1) for base in local)

    def getattr_qualname(self, call: cst.Call, ctx: Context, depth: int) -> str:
        """`getattr(transformers, "AutoModelForCausalLM")` names what `transformers.AutoModelForCausalLM`
        does when the name is a string the source shows (a constant, a table entry, a bound parameter)."""
        args = call.args
        if depth > _DEPTH or len(args) != 2 or any(a.keyword is not None or a.star for a in args) \
                or self.qualname(call.func, ctx, depth + 1) != "getattr":
            return ""
        owner = self.qualname(args[0].value, ctx, depth + 1)
        name = self.value(args[1].value, ctx, depth + 1)
        if not owner or owner.startswith("<local>") or name.kind != ValueKind.LITERAL \
                or not isinstance(name.value, str) or not name.value.isidentifier():
            return ""
        return f"{owner}.{name.value}"

    def lambda_origin(self, call: cst.Call, ctx: Context, index: tuple, depth: int):
        """What calling a lambda without parameters makes (`LOADERS = {"value": lambda: ...}` then
        `load()`): its body's object, anew for each call; None when `call` calls no such lambda. A lambda
        with parameters is not followed: its parameters have no scope of their own in the walk."""
        if call.args:
            return None
        node, node_ctx = call.func, ctx
        if isinstance(node, cst.Name):
            bound = self.loop_var(node.value, ctx) if ctx.loop_vars else None
            if bound is not None:
                node, node_ctx = self.follow_index(bound.node, bound.index), bound.ctx
            else:
                binding, scope, ambiguous = self.lookup(node.value, ctx)
                if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.index:
                    return None
                node, node_ctx = binding.value, self.context_for(binding, scope, ctx)
        params = node.params if isinstance(node, cst.Lambda) else None
        if params is None or params.params or params.posonly_params or params.kwonly_params \
                or params.star_arg is not cst.MaybeSentinel.DEFAULT or params.star_kwarg is not None:
            return None
        line, column = self.facts.position(call)
        inner = node_ctx.replace(call_path=f"{ctx.call_path}/{line}:{column}")  # each call makes its own object
        return self.origin(node.body, inner, index, depth + 1)

    def written_at(self, node: cst.BaseExpression, ctx: Context, depth: int = 0) -> Optional[Span]:
        """Where what `node` stands for is written: a parameter bound by a followed call is the argument
        that call passes; None for a parameter no call binds (its objects come from elsewhere)."""
        if isinstance(node, cst.Name):
            looped = self.loop_var(node.value, ctx) if ctx.loop_vars and depth < _DEPTH else None
            if looped is not None:
                # a loop over a table (`for role, cls, path in ROWS`): the element this pass bound
                found = self.element_at(looped.node, looped.ctx, looped.index, depth)
                return self.written_at(found[0], found[1], depth + 1) if found is not None else None
            binding, scope, _ambiguous = self.lookup(node.value, ctx)
            if binding is not None and binding.kind == BindingKind.PARAM and self.binds_in(scope, ctx):
                bound = self.param(node.value, ctx)
                if isinstance(bound, Bound) and not bound.index and depth < _DEPTH:
                    return self.written_at(bound.node, bound.ctx, depth + 1)
                return None
            if binding is not None and binding.kind == BindingKind.ASSIGN and binding.index and depth < _DEPTH:
                # `cls, path = self._specs[role]`: where the element was written (a registering call's argument)
                found = self.element_at(binding.value, self.context_for(binding, scope, ctx), binding.index, depth)
                if found is not None:
                    return self.written_at(found[0], found[1], depth + 1)
        return self.span(node)

    def memo_path(self, function: FunctionInfo, pairs: list, receiver: str = "") -> Optional[str]:
        """The call path shared by every call of a memoised `function` with these argument values (a
        method's: on the object `receiver` keys), or None when it is not memoised or the values (or
        the instance) cannot all be told."""
        maxsize = self._cache_size(function, receiver)
        if maxsize is None:
            return None
        if maxsize > 0 and self._call_sites(function) > maxsize:
            return None  # more calls than the cache holds: an entry may have been evicted
        positional: list = []
        keywords: dict = {}
        for arg, ctx in pairs:
            if arg.star:
                return None
            value = self.value(arg.value, ctx)
            if value.kind == ValueKind.LITERAL:
                token = value.value
            elif value.kind == ValueKind.NAME:
                token = ("name", value.value)  # an imported object (a class): one name, one object
            else:
                return None
            if arg.keyword is None:
                positional.append(token)
            else:
                keywords[arg.keyword.value] = token  # lru_cache keys keywords in call order
        line, column = self.facts.position(function.node)
        where = self.facts.file_of(function.node)  # a loader in another module of the project
        arguments = (receiver, tuple(positional), tuple(keywords.items())) if receiver else \
            (tuple(positional), tuple(keywords.items()))
        return f"memo:{function.name}@{line}:{column}#{where}:{arguments!r}"

    def _cache_size(self, function: FunctionInfo, receiver: str = "") -> Optional[int]:
        """How many results a memoising decorator of `function` keeps (0: unbounded), or None when no
        cache that can be told stands outermost (below decorators that keep the result)."""
        parent = function.scope.parent
        if function.klass is not None:
            # A method's cache is keyed by its instance too: calls share an entry only on one known object.
            if not receiver or parent is None or parent.kind != ScopeKind.CLASS:
                return None
        elif parent is None or parent.kind != ScopeKind.MODULE:
            return None  # a nested function gets a cache of its own per outer call
        outer = Context(parent, None)
        for decorator in function.node.decorators:
            expression = decorator.decorator
            called = isinstance(expression, cst.Call)
            name = self.qualname(expression.func if called else expression, outer)
            if name in _TRANSPARENT:
                continue
            if name not in _CACHES:
                return None
            if name == "functools.cache" or not called:
                return 0 if name == "functools.cache" else _DEFAULT_MAXSIZE
            return _maxsize(expression)
        return None

    def _call_sites(self, function: FunctionInfo) -> int:
        counts = getattr(self, "_call_counts", None)
        if counts is None:
            counts = self._call_counts = {}
            for site in self.facts.calls:
                func = site.node.func
                name = func.value if isinstance(func, cst.Name) else func.attr.value \
                    if isinstance(func, cst.Attribute) else None
                if name is not None:  # a method's calls by its name on any object: an upper bound
                    counts[name] = counts.get(name, 0) + 1
        return counts.get(function.name, 0)

    def config_of(self, callee: str, positional: list, depth: int) -> Optional[Origin]:
        """The config a transformers model is built from (`X.from_config(c)`, `LlamaModel(c)`): the origin of
        `c` when it is a visible config (`AutoConfig.from_pretrained(...)`, a `...Config(...)` call), else None."""
        last = callee.rsplit(".", 1)[-1]
        built = last in ("from_config", "_from_config") or last[:1].isupper() and len(positional) == 1
        if self._keys_only or not built or not positional or not callee.startswith("transformers."):
            return None
        config = self.origin(positional[0][0], positional[0][1], (), depth + 1)
        named = config.class_name.rsplit(".", 1)[-1]
        if config.kind in (OriginKind.FROM_PRETRAINED, OriginKind.CONSTRUCTOR) and named.endswith("Config") \
                and config.class_name.startswith("transformers."):
            return config
        return None


def _maxsize(call: cst.Call) -> Optional[int]:
    """lru_cache(...)'s maxsize: 0 for None (unbounded), None when it caches nothing or cannot be told."""
    found: Any = _DEFAULT_MAXSIZE
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None or arg.keyword.value == "maxsize":
            found = literal(arg.value)
            break
    if found is None:
        return 0
    if found is NOT_LITERAL or type(found) is not int or found <= 0:
        return None  # a size the source does not show, or maxsize=0: no caching at all
    return found
