"""One walk over a module that records what name resolution needs.

For every scope (module, function, class body): the bindings of each name with their position and
the branch they sit in; imports; local functions with their parameters and returns; local classes
with their bases and field defaults; argparse defaults; and the statements that act on an object
(`x.attr = ...`, `x.method(...)`, a loop freezing `x.parameters()`).
"""

from __future__ import annotations

import re
from typing import Optional, Union

import libcst as cst

from .facts import (AttributeSite, Binding, BranchPath, CallSite, ClassInfo, FunctionInfo, ModuleFacts,
                    ObjectAction, Position, Scope, dotted_name)
from ..records import State, state
from .positions import Positions
from .scanner import ExpressionScanner, subject_root
from .facts import IN_LOOP, BindingKind, ScopeKind

__all__ = ["Binding", "BranchPath", "CallSite", "ClassInfo", "FunctionInfo", "ModuleFacts", "ObjectAction",
           "Position", "Scope", "collect", "dotted_name"]

_FREEZES = re.compile(r"requires_grad\s*=\s*False|requires_grad_\(\s*False\s*\)")
_NOT_INSTANCE_METHODS = frozenset({"staticmethod", "classmethod"})


@state
class ImportInfo(State):
    """One imported name (or `*`) and the statement importing it."""

    module: str
    name: str
    alias: str
    node: cst.CSTNode
    statement: cst.CSTNode
    scope: Optional[Scope] = None
    path: BranchPath = ()


def _module_name(node: Union[cst.Attribute, cst.Name, None], relative: int = 0) -> str:
    return "." * relative + (dotted_name(node) if node is not None else "")


def _targets(target: cst.BaseExpression, prefix: tuple[int, ...] = ()) -> list[tuple[cst.BaseExpression, tuple]]:
    """The names, attributes and subscripts a target assigns, with their place in a tuple unpacking
    (`(-1,)` for a starred element)."""
    if isinstance(target, (cst.Tuple, cst.List)):
        found = []
        for i, element in enumerate(target.elements):
            if isinstance(element, cst.StarredElement):
                found.extend((node, (-1,)) for node, _ in _targets(element.value))
            else:
                found.extend(_targets(element.value, prefix + (i,)))
        return found
    return [(target, prefix)]


def _method_of(scope: Scope) -> Optional[FunctionInfo]:
    """The method whose `self` a name in `scope` can see (the scope's own, or an enclosing one)."""
    function = scope.function_info
    while function is not None and not function.self_name:
        parent = function.scope.parent
        function = parent.function_info if parent is not None else None
    return function


class _Walker:
    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self._ids = 0
        self._loop: Optional[cst.For] = None  # the innermost `for` of the scope being walked
        self._loop_body = False  # walking the body of a `for` or `while` of the scope

    def _branch(self) -> int:
        self._ids += 1
        return self._ids

    def record_argparse(self, call: cst.Call) -> None:
        options = [arg.value.evaluated_value for arg in call.args
                   if arg.keyword is None and isinstance(arg.value, cst.SimpleString)]
        keywords = {arg.keyword.value: arg.value for arg in call.args if arg.keyword is not None}
        dest = None
        if "dest" in keywords and isinstance(keywords["dest"], cst.SimpleString):
            dest = keywords["dest"].evaluated_value
        else:
            longs = [o for o in options if isinstance(o, str) and o.startswith("--")]
            chosen = longs[0] if longs else (options[0] if options else None)
            if isinstance(chosen, str):
                dest = chosen.lstrip("-").replace("-", "_")
        if dest and "default" in keywords:
            self.facts.argparse_defaults[dest] = keywords["default"]
        if dest:
            self.facts.argparse_options.append((dest, tuple(o for o in options if isinstance(o, str)), keywords))

    def scan(self, node: cst.CSTNode, scope: Scope, path: BranchPath) -> None:
        ExpressionScanner(self.facts, scope, path, self._loop, self.record_argparse, self.bind_target).scan(node)

    def _act(self, subject: cst.BaseExpression, kind: str, name: str, node: cst.CSTNode, scope: Scope,
             position: Position, path: BranchPath, key=None) -> None:
        root = subject_root(subject)
        if root is not None:
            self.facts.actions.append(ObjectAction(root, kind, name, node, scope, position, path, subject, key,
                                                   self._loop))

    def bind_target(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression], scope: Scope,
                    path: BranchPath, kind: str = "assign") -> None:
        for node, index in _targets(target):
            position = self.facts.position(node)
            starred = index == (-1,)
            if isinstance(node, cst.Name):
                scope.add(Binding(node.value, "other" if starred else kind, position, path, value,
                                  () if starred else index, loop=self._loop if kind == BindingKind.FOR else None))
            elif isinstance(node, cst.Attribute):
                if not index:
                    self._act(node.value, "set", node.attr.value, value or node, scope, position, path)
                self._attribute_site(node, value, () if starred else index, scope, position, path, starred)
            elif isinstance(node, cst.Subscript) and len(node.slice) == 1 and not index:
                slice_ = node.slice[0].slice
                key = slice_.value if isinstance(slice_, cst.Index) else None
                self._act(node.value, "item", "__setitem__", value or node, scope, position, path, key)

    def _attribute_site(self, node: cst.Attribute, value: Optional[cst.BaseExpression], index: tuple,
                        scope: Scope, position: Position, path: BranchPath, starred: bool) -> None:
        """`self.x = ...` in a method (or a function nested in one) records an instance attribute."""
        function = _method_of(scope)
        if function is None or not isinstance(node.value, cst.Name) or node.value.value != function.self_name:
            return
        inner = scope.function_info
        site_value = value if value is not None and not starred else None
        # A site in a nested function, or an augmented assignment, is a value nobody can read off.
        if inner is not function or site_value is None:
            site_value = node
        sites = function.klass.attributes.setdefault(node.attr.value, [])
        sites.append(AttributeSite(node.attr.value, site_value, index, function, position, path))

    def small_statement(self, stmt: cst.BaseSmallStatement, scope: Scope, path: BranchPath) -> None:
        self.scan(stmt, scope, path)
        if isinstance(stmt, cst.Assign):
            for target in stmt.targets:
                self.bind_target(target.target, stmt.value, scope, path)
        elif isinstance(stmt, cst.AnnAssign):
            if stmt.value is not None:
                self.bind_target(stmt.target, stmt.value, scope, path)
            if scope.kind == ScopeKind.CLASS and isinstance(stmt.target, cst.Name) and stmt.value is not None:
                default, factory = stmt.value, None
                if isinstance(default, cst.Call) and dotted_name(default.func).endswith("field"):
                    keywords = {a.keyword.value: a.value for a in default.args if a.keyword}
                    default, factory = keywords.get("default"), keywords.get("default_factory")
                klass = scope.class_info
                if klass is not None:
                    klass.fields.append(stmt.target.value)
                    klass.field_types[stmt.target.value] = stmt.annotation.annotation
                    if default is not None:
                        klass.field_defaults[stmt.target.value] = default
                    elif factory is not None:
                        klass.field_factories[stmt.target.value] = factory
            elif scope.kind == ScopeKind.CLASS and isinstance(stmt.target, cst.Name) and scope.class_info is not None:
                scope.class_info.fields.append(stmt.target.value)
                scope.class_info.field_types[stmt.target.value] = stmt.annotation.annotation
        elif isinstance(stmt, cst.AugAssign):
            if isinstance(stmt.operator, cst.BitOrAssign) and isinstance(stmt.target, cst.Name):
                # `kw |= {...}`: the value is `kw | {...}` (a dict merged in place); mappings.py reads it.
                self.bind_target(stmt.target, stmt, scope, path)
            else:
                self.bind_target(stmt.target, None, scope, path, kind="other")
        elif isinstance(stmt, cst.Del):
            for element in _targets(stmt.target):
                node = element[0]
                if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice,
                                                                                         cst.Index):
                    self._act(node.value, "delitem", "__delitem__", node, scope, self.facts.position(node), path,
                              node.slice[0].slice.value)
        elif isinstance(stmt, cst.Return) and stmt.value is not None:
            function = scope.function_info
            if function is not None:
                function.returns.append((stmt.value, self.facts.position(stmt)))
                # A return in a loop body may not run at all (an empty loop): a mark no branch resolves.
                function.return_paths.append(path + IN_LOOP if self._loop_body else path)
        elif isinstance(stmt, (cst.Import, cst.ImportFrom)):
            self.record_import(stmt, scope, path)

    def record_import(self, stmt: Union[cst.Import, cst.ImportFrom], scope: Scope, path: BranchPath) -> None:
        position = self.facts.position(stmt)
        if isinstance(stmt, cst.Import):
            for alias in stmt.names:
                module = dotted_name(alias.name)
                if alias.asname is not None:
                    local = alias.asname.name.value
                    qualname = module
                else:
                    local = module.split(".")[0]
                    qualname = local
                scope.add(Binding(local, "import", position, path, qualname=qualname))
                self.facts.imports.append(ImportInfo(module, "", local, alias, stmt, scope, path))
            return
        module = _module_name(stmt.module, len(stmt.relative))
        if isinstance(stmt.names, cst.ImportStar):
            self.facts.star_modules.append(module)
            self.facts.imports.append(ImportInfo(module, "*", "*", stmt, stmt, scope, path))
            return
        for alias in stmt.names:
            name = dotted_name(alias.name)
            local = alias.asname.name.value if alias.asname is not None else name
            scope.add(Binding(local, "import", position, path, qualname=f"{module}.{name}"))
            self.facts.imports.append(ImportInfo(module, name, local, alias, stmt, scope, path))

    def block(self, body: Union[cst.BaseSuite, list], scope: Scope, path: BranchPath) -> None:
        statements = body.body if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)) else body
        for stmt in statements:
            self.statement(stmt, scope, path)

    def statement(self, stmt: cst.CSTNode, scope: Scope, path: BranchPath) -> None:
        if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            for small in stmt.body:
                self.small_statement(small, scope, path)
        elif isinstance(stmt, cst.If):
            self.if_statement(stmt, scope, path)
        elif isinstance(stmt, cst.Try):
            branch = self._branch()
            self.facts.branch_statements[branch] = stmt
            self.block(stmt.body, scope, path + ((branch, "try"),))
            for i, handler in enumerate(stmt.handlers):
                if handler.name is not None:
                    self.bind_target(handler.name.name, None, scope, path + ((branch, f"except{i}"),), "other")
                self.block(handler.body, scope, path + ((branch, f"except{i}"),))
            if stmt.orelse is not None:
                self.block(stmt.orelse.body, scope, path + ((branch, "try"),))
            if stmt.finalbody is not None:
                self.block(stmt.finalbody.body, scope, path)
        elif isinstance(stmt, (cst.For, cst.While)):
            self.loop(stmt, scope, path)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                self.scan(item.item, scope, path)
                if item.asname is not None:
                    self.bind_target(item.asname.name, None, scope, path, "other")
            self.block(stmt.body, scope, path)
        elif isinstance(stmt, cst.FunctionDef):
            self.function(stmt, scope, path)
        elif isinstance(stmt, cst.ClassDef):
            self.klass(stmt, scope, path)
        elif isinstance(stmt, cst.Match):
            branch = self._branch()
            self.facts.branch_statements[branch] = stmt
            self.scan(stmt.subject, scope, path)
            for i, case in enumerate(stmt.cases):
                self.block(case.body, scope, path + ((branch, f"case{i}"),))

    def if_statement(self, stmt: cst.If, scope: Scope, path: BranchPath) -> None:
        branch = self._branch()
        self.facts.branch_statements[branch] = stmt
        self.scan(stmt.test, scope, path)
        self.block(stmt.body, scope, path + ((branch, "body"),))
        orelse = stmt.orelse
        if isinstance(orelse, cst.If):
            self.if_statement(orelse, scope, path + ((branch, "else"),))
        elif isinstance(orelse, cst.Else):
            self.block(orelse.body, scope, path + ((branch, "else"),))

    def loop(self, stmt: Union[cst.For, cst.While], scope: Scope, path: BranchPath) -> None:
        outer, outer_body, self._loop_body = self._loop, self._loop_body, True
        if isinstance(stmt, cst.For):
            self.scan(stmt.iter, scope, path)
            self._loop = stmt
            self.bind_target(stmt.target, None, scope, path, "for")
            self._record_freeze_loop(stmt, scope, path)
        else:
            self.scan(stmt.test, scope, path)
        # Loop bodies are taken to run: setup code in a loop is rare and usually runs.
        self.block(stmt.body, scope, path)
        self._loop, self._loop_body = outer, outer_body
        if stmt.orelse is not None:
            self.block(stmt.orelse.body, scope, path + ((self._branch(), "else"),))

    def _record_freeze_loop(self, stmt: cst.For, scope: Scope, path: BranchPath) -> None:
        iterated = stmt.iter
        if not (isinstance(iterated, cst.Call) and isinstance(iterated.func, cst.Attribute)
                and iterated.func.attr.value in ("parameters", "named_parameters")):
            return
        root = iterated.func.value
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name):
            return
        if _FREEZES.search(self.facts.code(stmt.body)):
            subject = iterated.func.value
            method = _method_of(scope)
            whole = isinstance(subject, cst.Name) or (isinstance(subject, cst.Attribute) and method is not None
                                                      and dotted_name(subject.value) == method.self_name)
            subject = subject if whole else root
            self.facts.actions.append(ObjectAction(root.value, "freeze", "parameters" if whole else "some_parameters",
                                                   stmt, scope, self.facts.position(stmt), path, subject))

    def function(self, node: cst.FunctionDef, scope: Scope, path: BranchPath) -> None:
        for decorator in node.decorators:
            self.scan(decorator.decorator, scope, path)
        inner = Scope("function", node.name.value, scope)
        params: list[tuple[str, Optional[cst.BaseExpression]]] = []
        all_params = list(node.params.posonly_params) + list(node.params.params) + list(node.params.kwonly_params)
        for param in all_params:
            params.append((param.name.value, param.default))
            if param.default is not None:
                self.scan(param.default, scope, path)
        for star in (node.params.star_arg, node.params.star_kwarg):
            if isinstance(star, cst.Param):
                params.append((star.name.value, None))
        info = FunctionInfo(node.name.value, node, inner, params)
        klass = scope.class_info
        if klass is not None:
            klass.methods[node.name.value] = info
            info.klass = klass
            decorators = {dotted_name(d.decorator) for d in node.decorators}
            if params and not decorators & _NOT_INSTANCE_METHODS and all_params and not node.params.posonly_params:
                info.self_name = params[0][0]
        inner.function_info = info
        for name, default in params:
            inner.add(Binding(name, "param", self.facts.position(node), (), default))
        scope.add(Binding(node.name.value, "def", self.facts.position(node), path, function=info))
        self.facts.functions[id(node)] = info
        outer, outer_body, self._loop, self._loop_body = self._loop, self._loop_body, None, False
        self.block(node.body, inner, ())
        self._loop, self._loop_body = outer, outer_body

    def klass(self, node: cst.ClassDef, scope: Scope, path: BranchPath) -> None:
        inner = Scope("class", node.name.value, scope)
        info = ClassInfo(node.name.value, [arg.value for arg in node.bases if arg.keyword is None], inner)
        inner.class_info = info
        self.facts.classes.append(info)
        scope.add(Binding(node.name.value, "class", self.facts.position(node), path, klass=info))
        outer, outer_body, self._loop, self._loop_body = self._loop, self._loop_body, None, False
        self.block(node.body, inner, ())
        self._loop, self._loop_body = outer, outer_body


def collect(module: cst.Module) -> ModuleFacts:
    facts = ModuleFacts(module=module, positions=Positions(module), root=Scope("module", "<module>", None))
    _Walker(facts).block(module.body, facts.root, ())
    _in_source_order(facts.root, set())
    return facts


def _in_source_order(scope: Scope, seen: set) -> None:
    """Sort each name's bindings by position: lookups take the last one before a use."""
    for bindings in scope.bindings.values():
        if len(bindings) > 1:
            bindings.sort(key=_position_of)
        for binding in bindings:
            inner = binding.function.scope if binding.function is not None else \
                binding.klass.scope if binding.klass is not None else None
            if inner is not None and id(inner) not in seen:
                seen.add(id(inner))
                _in_source_order(inner, seen)


def _position_of(binding: Binding) -> Position:
    return binding.position
