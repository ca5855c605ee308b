"""Classes and callers: instance attributes (`self.policy = ...` read in another method), methods
called on local instances, and the parameters of a function bound from its calls in the file.

A mixin of resolve.Resolver. An attribute assigned in one method is read off that assignment; two
assignments in different branches, or in two methods that may run in either order, stay unknown.
A constructor parameter takes its value from the class's one instantiation in the file, else its
default when no call passes it; a function's parameters are bound when the file calls it once.
"""

from __future__ import annotations

from typing import Optional, Union

import libcst as cst

from .context import VARIES, Bound, Context, dominates
from .facts import ActionKind, AttributeSite, BindingKind, ClassInfo, FunctionInfo, Scope, dotted_name
from .model import Origin
from .state import RECEIVER
from .written import WrittenAttributes

_DEPTH = 24
# (class, the call that made the instance or None for `self`, that call's context)
Instance = tuple[ClassInfo, Optional[cst.Call], Optional[Context]]
# What an attribute read finds: (expression, its context, element index), or why it cannot be told.
Found = Union[tuple[cst.BaseExpression, Context, tuple], str, None]


def is_classmethod(function: FunctionInfo) -> bool:
    return any(dotted_name(d.decorator) == "classmethod" for d in function.node.decorators)


_PROPERTIES = {"property": "property", "cached_property": "cached", "functools.cached_property": "cached"}


def _property_kind(function: FunctionInfo) -> str:
    """"property", "cached" (functools.cached_property) or "" for a method read as an attribute."""
    for decorator in function.node.decorators:
        kind = _PROPERTIES.get(dotted_name(decorator.decorator))
        if kind:
            return kind
    return ""


def first_param(function: FunctionInfo) -> str:
    params = list(function.node.params.posonly_params) + list(function.node.params.params)
    return params[0].name.value if params else ""


# An element index meaning "what calling this makes" (a dataclass field's default_factory): only
# instance_class reads it; for anything else it is an element that cannot be followed.
CALLED = "<called>"


class MemberResolution(WrittenAttributes):
    def _members_init(self) -> None:
        self._callers: dict[int, Optional[list]] = {}
        self._entry: dict[int, Optional[tuple]] = {}
        self._entering: set = set()
        self._actions_by_name: Optional[dict] = None

    # --- instances ------------------------------------------------------------------------
    def instance_class(self, node: cst.BaseExpression, ctx: Context, depth: int = 0) -> Optional[Instance]:
        """The local class whose instance `node` holds, with the call that made it (None for `self`)."""
        if depth > _DEPTH:
            return None
        if isinstance(node, cst.Call):
            klass = self.local_class(self.qualname(node.func, ctx), ctx)
            if klass is not None:
                return klass, node, ctx
            # `load_models(...)` returning `Models(policy=..., ...)`: the instance its one return makes.
            function = self.local_function(node.func, ctx)
            if function is None or len(function.returns) != 1:
                return None
            returned, position = function.returns[0]
            if isinstance(returned, cst.Name) and returned.value == function.self_name and function.klass is not None \
                    and isinstance(node.func, cst.Attribute):
                return self.instance_class(node.func.value, ctx, depth + 1)  # `return self`: the receiver itself
            return self.instance_class(returned, self.call_context(function, node, ctx).at(position, ()), depth + 1)
        if isinstance(node, cst.Attribute):
            found = self.attribute_value_node(node, ctx, depth + 1)
            if isinstance(found, tuple) and found[2] == (CALLED,):  # a dataclass field's default_factory
                klass = self.local_class(self.qualname(found[0], found[1]), found[1])
                return (klass, None, None) if klass is not None else None
            return self.instance_class(found[0], found[1], depth + 1) if isinstance(found, tuple) and not found[2] \
                else None
        if not isinstance(node, cst.Name):
            return None
        binding, scope, ambiguous = self.lookup(node.value, ctx)
        if binding is None or ambiguous:
            return None
        if binding.kind == BindingKind.PARAM:
            function = scope.function_info
            if function is not None and function.klass is not None and (
                    function.self_name == node.value or (is_classmethod(function) and first_param(function) == node.value)):
                return function.klass, None, None  # `self`, or a classmethod's `cls` (its class attributes)
            bound = self.param(node.value, ctx) if self.binds_in(scope, ctx) else None
            return self.instance_class(bound.node, bound.ctx, depth + 1) if isinstance(bound, Bound) \
                and not bound.index else None
        if binding.kind == BindingKind.ASSIGN and binding.value is not None:
            value = self.follow_index(binding.value, binding.index) if binding.index else binding.value
            if value is not None:
                return self.instance_class(value, self.context_for(binding, scope, ctx), depth + 1)
        return None

    def find_method(self, klass: ClassInfo, name: str, depth: int = 0) -> Optional[FunctionInfo]:
        if name in klass.methods:
            return klass.methods[name]
        for base in self.local_bases(klass) if depth < _DEPTH else ():
            found = self.find_method(base, name, depth + 1)
            if found is not None:
                return found
        return None

    def dynamic_class(self, node: cst.BaseExpression, ctx: Context, klass: ClassInfo) -> ClassInfo:
        """The class of the object a method's `self` (`node`, of the method's class `klass`) is, where
        the calls that led here say it (`LlamaRLHF(...)` running a base class's `__init__`): a
        subclass's override of a method then wins, as Python's lookup through the MRO does."""
        where = self.receiver(node, ctx)
        if where is None or where[0] is node:
            return klass
        instance = self.instance_class(where[0], where[1])
        return instance[0] if instance is not None and self.inherits(instance[0], klass) else klass

    def inherits(self, klass: ClassInfo, ancestor: ClassInfo, depth: int = 0) -> bool:
        return klass is ancestor or (depth < _DEPTH and any(self.inherits(base, ancestor, depth + 1)
                                                            for base in self.local_bases(klass)))

    def local_bases(self, klass: ClassInfo) -> list[ClassInfo]:
        parent = klass.scope.parent
        if parent is None:
            return []
        ctx = Context(parent, None)
        return [base for base in (self.local_class(self.qualname(b, ctx), ctx) for b in klass.bases)
                if base is not None and base is not klass]

    def method_called(self, func: cst.Attribute, ctx: Context) -> Optional[FunctionInfo]:
        """The method `obj.name(...)` runs, when obj is an instance of a class of this file (or the
        function `module.name(...)` runs, when `module` is one of the project's, project.py)."""
        module = self.project_member(func, ctx) if self.project is not None else None
        if module is not None:
            return self.local_function(func.attr, module)
        instance = self.instance_class(func.value, ctx)
        if instance is not None:
            klass = self.dynamic_class(func.value, ctx, instance[0]) if instance[1] is None else instance[0]
            return self.find_method(klass, func.attr.value)
        klass = self.local_class(self.qualname(func.value, ctx), ctx)  # `Loader.policy()`: on the class
        method = self.find_method(klass, func.attr.value) if klass is not None else None
        return method if method is not None and not method.self_name else None  # a static or class method

    def class_of_cls(self, binding, scope) -> str:
        """`<local>.Name` for the first parameter of a classmethod of class Name, else ""."""
        function = scope.function_info if scope is not None else None
        if binding.kind != BindingKind.PARAM or function is None or function.klass is None \
                or not is_classmethod(function) or first_param(function) != binding.name:
            return ""
        return f"<local>.{function.klass.name}"

    # --- attributes -----------------------------------------------------------------------
    def attribute_origin(self, node: cst.Attribute, ctx: Context, index: tuple, depth: int) -> Origin:
        text = self.text(node)
        found = self.attribute_value_node(node, ctx, depth)
        if isinstance(found, str):
            return Origin(reason=found, text=text)
        if found is None:
            if index:
                return Origin(reason="element of a value that cannot be followed", text=text)
            method = self.bound_method_origin(node, ctx, depth)  # `self.reward`: a method bound to its object
            if method is not None:
                return method
            return Origin(reason=f"`{text}` cannot be followed", key=f"expr:{ctx.scope.name}:{text}", text=text)
        value, value_ctx, value_index = found
        if index and isinstance(index[0], str) and not value_index and node.attr.value in self.mutated_names():
            return self.mapping_item_origin(node, ctx, index, depth)  # as the object's methods left it (state.py)
        return self.origin(value, value_ctx, value_index + index, depth + 1)

    def attribute_value_node(self, node: cst.Attribute, ctx: Context, depth: int = 0) -> Found:
        """What an instance attribute of a local class holds where `node` reads it (or what a write
        on the object after it was made put there: written.py)."""
        written = self.written_attribute(node, ctx)
        if written is not None:
            return written
        instance = self.instance_class(node.value, ctx, depth + 1)
        if instance is None:
            return None
        klass, call, call_ctx = instance
        name, text = node.attr.value, self.text(node)
        sites = self.attribute_sites(klass, name)
        if not sites:
            method = self.find_method(klass, name)
            if method is not None and _property_kind(method):
                return self._property_value(node, ctx, method, call is not None)
        reader = ctx.scope.function_info if call is None else None
        if reader is not None:
            before = [s for s in sites if s.function is reader and s.position < (ctx.position or (0, 0))]
            if before:
                last = max(before, key=_site_position)
                if len(before) > 1 and not dominates(last.path, ctx.path):
                    return f"`{text}` is assigned differently in different branches"
                return self._site_value(last, klass, call, call_ctx, text)
        others = [s for s in sites if s.function is not reader]
        if not others and sites:
            return f"`{text}` is read before it is assigned"
        if not others and name in klass.fields and "__init__" not in klass.methods:
            return self._field_node(klass, name, call, call_ctx, text)
        if not others:
            return self._class_attribute(klass, name, text)
        methods = list(dict.fromkeys(s.function.name for s in others))
        if len(methods) > 1:
            return f"`{text}` is assigned in `{methods[0]}` and `{methods[1]}`, which may run in either order"
        last = max(others, key=_site_position)
        if len(others) > 1 and last.path:
            return f"`{text}` is assigned differently in different branches of `{methods[0]}`"
        return self._site_value(last, klass, call, call_ctx, text)

    def _property_value(self, node: cst.Attribute, ctx: Context, method: FunctionInfo, made: bool) -> Found:
        """`obj.reference` of a property: what its method returns, run anew on each read (`property`),
        or once per object (`functools.cached_property`: every read on one object is one value)."""
        if len(method.returns) != 1:
            return f"`{self.text(node)}` is a property returning different things"
        returned, position = method.returns[0]
        if _property_kind(method) == "cached":
            owner = self.origin_key(node.value, ctx) if made else "self"
            call_path = f"cached:{method.name}@{self.facts.position(method.node)}#{owner}"
        else:
            line, column = self.facts.position(node)
            call_path = f"{ctx.call_path}/{line}:{column}"
        return returned, Context(method.scope, position, (), self.entry_params(method), call_path), ()

    def attribute_sites(self, klass: ClassInfo, name: str, depth: int = 0) -> list[AttributeSite]:
        sites = list(klass.attributes.get(name, ()))
        for base in self.local_bases(klass) if depth < _DEPTH else ():
            sites.extend(self.attribute_sites(base, name, depth + 1))
        return sites

    def _site_value(self, site: AttributeSite, klass: ClassInfo, call: Optional[cst.Call],
                    call_ctx: Optional[Context], text: str) -> Found:
        if isinstance(site.value, cst.Attribute) and site.value.attr.value == site.name \
                and self.facts.position(site.value) == site.position:
            return f"`{text}` is changed in a way that cannot be followed"
        function = site.function
        if call is not None and function.name == "__init__":
            line, column = self.facts.position(call)
            params = self.bind_arguments(function, call, call_ctx) + ((RECEIVER, Bound(call, call_ctx)),)
            ctx = Context(function.scope, site.position, site.path, params, f"{call_ctx.call_path}/{line}:{column}")
        else:
            ctx = Context(function.scope, site.position, site.path, self.entry_params(function))
        return site.value, ctx, site.index

    def _field_node(self, klass: ClassInfo, name: str, call: Optional[cst.Call], call_ctx: Optional[Context],
                    text: str) -> Found:
        """A dataclass field: what the instantiation passes for it, else its default."""
        calls = [(call, call_ctx)] if call is not None else [
            (node, Context(scope, position, path)) for node, scope, position, path in self._instantiations(klass)]
        passed = [found for found in (_field_argument(klass, name, node, ctx) for node, ctx in calls) if found]
        if len(calls) == 1 and passed:
            return passed[0] if isinstance(passed[0], tuple) else f"`{text}` is passed through a mapping"
        if passed:
            return f"`{text}` is passed differently by the instantiations of `{klass.name}`"
        if name in klass.field_defaults:
            return klass.field_defaults[name], Context(klass.scope, None), ()
        if name in klass.field_factories:  # what calling the factory makes: instance_class reads it
            return klass.field_factories[name], Context(klass.scope, None), (CALLED,)
        return f"`{text}` has no default in the source"

    def _instantiations(self, klass: ClassInfo) -> list:
        found = []
        for site in self.facts.calls:
            if isinstance(site.node.func, (cst.Name, cst.Attribute)):
                ctx = Context(site.scope, site.position, site.path)
                if self.local_class(self.qualname(site.node.func, ctx), ctx) is klass:
                    found.append((site.node, site.scope, site.position, site.path))
        return found

    def _class_attribute(self, klass: ClassInfo, name: str, text: str) -> Found:
        bindings = klass.scope.bindings.get(name, [])
        if len(bindings) == 1 and bindings[0].kind == BindingKind.ASSIGN and bindings[0].value is not None \
                and name not in klass.fields:
            binding = bindings[0]
            return binding.value, Context(klass.scope, binding.position, binding.path), binding.index
        if name in klass.methods or bindings or self.find_method(klass, name) is not None:
            return None  # a method (its own or a base's): not a value held on the object
        return f"`{text}` is not assigned in this file"

    # --- callers --------------------------------------------------------------------------
    def entry_context(self, scope: Scope, position, path) -> Context:
        """A context in `scope` whose parameters are bound from the calls of its function in the file."""
        function = scope.function_info
        params = self.entry_params(function) if function is not None else None
        return Context(scope, position, path, params)

    def entry_params(self, function: FunctionInfo) -> Optional[tuple]:
        """A function's parameters as its calls in the file bind them (None: they cannot be told).

        One call: its arguments. Several: what none of them passes takes its default, the rest vary.
        None at all: a constructor's defaults apply; a function's parameters stay unknown.
        """
        key = id(function)
        if key in self._entry:
            return self._entry[key]
        if key in self._entering:
            return None
        self._entering.add(key)
        try:
            found = self._entry_params(function)
        finally:
            self._entering.discard(key)
        self._entry[key] = found
        return found

    def _entry_params(self, function: FunctionInfo) -> Optional[tuple]:
        calls = self.callers(function)
        if calls is None:
            return None
        if not calls:
            return () if function.name == "__init__" and function.klass is not None else None
        if len(calls) == 1:
            call, scope, position, path = calls[0]
            ctx = self.entry_context(scope, position, path)
            params = self.bind_arguments(function, call, ctx)
            if function.name == "__init__" and function.klass is not None:
                params += ((RECEIVER, Bound(call, ctx)),)  # `self` is the object the instantiation makes
            return params
        passed = set()
        for call, scope, position, path in calls:
            passed.update(name for name, _bound in self.bind_arguments(function, call, Context(scope, position)))
        return tuple((name, VARIES) for name in sorted(passed))

    def callers(self, function: FunctionInfo) -> Optional[list]:
        """The calls of `function` in the file as (call, scope, position, path); None when it is also
        used in a way that cannot be followed (passed as a value, a subclass's `super().__init__`)."""
        key = id(function)
        if key not in self._callers:
            self._callers[key] = self._find_callers(function)
        return self._callers[key]

    def _find_callers(self, function: FunctionInfo) -> Optional[list]:
        found = []
        klass = function.klass
        for site in self.facts.calls:
            func = site.node.func
            ctx = Context(site.scope, site.position, site.path)
            if klass is None:
                if isinstance(func, cst.Name) and func.value == function.name and self.local_function(func, ctx) \
                        is function:
                    found.append((site.node, site.scope, site.position, site.path))
            elif function.name == "__init__":
                made = self.local_class(self.qualname(func, ctx), ctx) if isinstance(func, (cst.Name, cst.Attribute)) \
                    else None
                if made is not None and (made is klass or self.find_method(made, "__init__") is function):
                    found.append((site.node, site.scope, site.position, site.path))
                elif isinstance(func, cst.Attribute) and func.attr.value == "__init__":
                    return None  # a subclass's `super().__init__(...)`: its arguments are not followed
            elif isinstance(func, cst.Attribute) and func.attr.value == function.name \
                    and self.method_called(func, ctx) is function:
                found.append((site.node, site.scope, site.position, site.path))
        for action in self.facts.actions:
            if action.kind == ActionKind.PASSED and type(action.subject) is cst.Name and action.receiver == function.name \
                    and klass is None:
                if self.local_function(action.subject, Context(action.scope, action.position, action.path)) \
                        is function:
                    return None  # handed to another function (`fire.Fire(main)`): called with unseen arguments
        return found


def _field_argument(klass: ClassInfo, name: str, call: cst.Call, ctx: Context):
    """(value, ctx, ()) of the argument `call` passes for a dataclass field; "mapping" when a
    `*`/`**` argument may hold it; None when it is not passed."""
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value, ctx, ()
    position = klass.fields.index(name)
    if position < len(positional):
        return positional[position].value, ctx, ()
    return "mapping" if any(arg.star for arg in call.args) else None


def _site_position(site: AttributeSite):
    return site.position
