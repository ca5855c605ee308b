"""One walk over a module that records what name resolution needs.

For every scope (module, function, class body): the bindings of each name with their position and
the branch they sit in; imports; local functions with their parameters and returns; local classes
with their bases and field defaults; argparse defaults; and the statements that act on an object
(`x.attr = ...`, `x.method(...)`, a loop freezing `x.parameters()`).
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Optional, Union

import libcst as cst
from libcst._position import CodeRange

from .positions import Positions

Position = tuple[int, int]
_FREEZES = re.compile(r"requires_grad\s*=\s*False|requires_grad_\(\s*False\s*\)")
# A branch path: the (statement id, branch) pairs enclosing a node. A binding dominates a use
# when its path is a prefix of the use's path.
BranchPath = tuple[tuple[int, str], ...]

# The records below are the walk's working state, mutable and compared by identity: eq and repr
# are left out, as each generated method costs a compile at import time.

@dataclass(eq=False, repr=False)
class Binding:
    """A name bound in a scope: how, where, on which branch, and to what value."""

    name: str
    kind: str  # assign, param, import, def, class, for, with, other
    position: Position
    path: BranchPath
    value: Optional[cst.BaseExpression] = None
    index: tuple[int, ...] = ()  # element of a tuple-unpacking target
    qualname: str = ""  # for imports
    function: Optional["FunctionInfo"] = None
    klass: Optional["ClassInfo"] = None


@dataclass(eq=False, repr=False)
class Scope:
    """A module, function or class body, with the bindings of each name in it."""

    kind: str  # module, function, class
    name: str
    parent: Optional["Scope"]
    bindings: dict[str, list[Binding]] = field(default_factory=dict)

    def add(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)

    @property
    def lookup_parent(self) -> Optional["Scope"]:
        # Python skips class bodies when a method looks a name up.
        parent = self.parent
        while parent is not None and parent.kind == "class":
            parent = parent.parent
        return parent


@dataclass(eq=False, repr=False)
class FunctionInfo:
    """A function defined in the file: its parameters and the values it returns."""

    name: str
    node: cst.FunctionDef
    scope: Scope
    params: list[tuple[str, Optional[cst.BaseExpression]]]
    returns: list[tuple[cst.BaseExpression, Position]] = field(default_factory=list)


@dataclass(eq=False, repr=False)
class ClassInfo:
    """A class defined in the file: its bases and the defaults of its annotated fields."""

    name: str
    bases: list[cst.BaseExpression]
    scope: Scope
    field_defaults: dict[str, cst.BaseExpression] = field(default_factory=dict)


@dataclass(eq=False, repr=False)
class ObjectAction:
    """A statement acting on the object a name holds."""

    receiver: str
    kind: str  # call, set, freeze, attribute, passed (given as an argument to a call)
    name: str
    node: cst.CSTNode
    scope: Scope
    position: Position
    path: BranchPath


@dataclass(eq=False, repr=False)
class CallSite:
    """A call expression and the scope and branch it is evaluated in."""

    node: cst.Call
    scope: Scope
    position: Position
    path: BranchPath


@dataclass(eq=False, repr=False)
class ImportInfo:
    """One imported name (or `*`) and the statement importing it."""

    module: str
    name: str
    alias: str
    node: cst.CSTNode
    statement: cst.CSTNode


@dataclass(eq=False, repr=False)
class ModuleFacts:
    """Everything the walk recorded about one module, with its node positions."""

    module: cst.Module
    positions: Positions
    root: Scope
    calls: list[CallSite] = field(default_factory=list)
    actions: list[ObjectAction] = field(default_factory=list)
    imports: list[ImportInfo] = field(default_factory=list)
    star_modules: list[str] = field(default_factory=list)
    argparse_defaults: dict[str, cst.BaseExpression] = field(default_factory=dict)
    functions: dict[int, FunctionInfo] = field(default_factory=dict)
    classes: list[ClassInfo] = field(default_factory=list)

    def range(self, node: cst.CSTNode) -> CodeRange:
        return self.positions[node]

    def position(self, node: cst.CSTNode) -> Position:
        return self.positions.start(node)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def text(self, node: cst.CSTNode) -> str:
        """The node's code, stripped."""
        return self.positions.text(node, self.module)


def dotted_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = dotted_name(node.value)
        return f"{inner}.{node.attr.value}" if inner else ""
    return ""


def _module_name(node: Union[cst.Attribute, cst.Name, None], relative: int = 0) -> str:
    return "." * relative + (dotted_name(node) if node is not None else "")


def _target_names(target: cst.BaseExpression, prefix: tuple[int, ...] = ()) -> list[tuple[str, tuple[int, ...]]]:
    if isinstance(target, cst.Name):
        return [(target.value, prefix)]
    if isinstance(target, (cst.Tuple, cst.List)):
        names = []
        for i, element in enumerate(target.elements):
            if isinstance(element, cst.StarredElement):
                names.extend((name, (-1,)) for name, _ in _target_names(element.value))
            else:
                names.extend(_target_names(element.value, prefix + (i,)))
        return names
    return []


# Fields that hold only whitespace and punctuation: no call or attribute can sit in them.
_PUNCTUATION_FIELDS = frozenset({
    "lpar", "rpar", "comma", "colon", "dot", "equal", "semicolon", "operator", "star", "lbrace", "rbrace",
    "lbracket", "rbracket", "leading_lines", "lines_after_decorators", "trailing_whitespace", "header", "footer",
    "first_colon", "second_colon", "asynchronous", "newline", "separator", "empty_lines", "comment", "indent",
    "trailing_comma", "default_indent", "default_newline", "encoding", "has_trailing_newline", "relative",
    "posonly_ind", "conversion"})
# Where the declaration order is not the source order, libcst visits in source order.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {cst.IfExp: ("body", "test", "orelse")}
_NODE = cst.CSTNode


def _child_fields(kind: type) -> tuple[str, ...]:
    names = _CHILD_FIELDS.get(kind)
    if names is None:
        names = tuple(name for name in kind.__dataclass_fields__
                      if name not in _PUNCTUATION_FIELDS and not name.startswith("whitespace"))
        _CHILD_FIELDS[kind] = names
    return names


class _ExpressionScanner:
    """Collects calls and object actions inside one statement (not inside lambdas or nested defs).

    It reads the nodes' dataclass fields directly, in libcst's visiting order (parents first, fields
    in declaration order): libcst's own visitor rebuilds every node it passes and costs several times
    more.
    """

    def __init__(self, walker: "_Walker", scope: Scope, path: BranchPath) -> None:
        self.walker, self.scope, self.path = walker, scope, path

    def scan(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind is cst.Call:
            self.call(node)
        elif kind is cst.Attribute:
            self.attribute(node)
        elif kind is cst.Lambda or kind is cst.Name or kind is cst.SimpleString or kind is cst.Integer:
            return
        for name in _child_fields(kind):
            value = getattr(node, name)
            if _NODE in type(value).__mro__:
                self.scan(value)
            elif type(value) in (tuple, list):
                for item in value:
                    if _NODE in type(item).__mro__:
                        self.scan(item)

    def call(self, node: cst.Call) -> None:
        facts = self.walker.facts
        position = facts.position(node)
        facts.calls.append(CallSite(node, self.scope, position, self.path))
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            facts.actions.append(ObjectAction(func.value.value, "call", func.attr.value, node, self.scope,
                                              position, self.path))
        callee = dotted_name(func)
        for arg in node.args:
            if isinstance(arg.value, cst.Name) and not arg.star:
                facts.actions.append(ObjectAction(arg.value.value, "passed", callee, node, self.scope, position,
                                                  self.path))
        if isinstance(func, cst.Attribute) and func.attr.value == "add_argument":
            self.walker.record_argparse(node)

    def attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name):
            facts = self.walker.facts
            facts.actions.append(ObjectAction(node.value.value, "attribute", node.attr.value, node, self.scope,
                                              facts.position(node), self.path))


class _Walker:
    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self._ids = 0

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

    def scan(self, node: cst.CSTNode, scope: Scope, path: BranchPath) -> None:
        _ExpressionScanner(self, scope, path).scan(node)

    def bind_target(self, target: cst.BaseExpression, value: Optional[cst.BaseExpression], scope: Scope,
                    path: BranchPath, kind: str = "assign") -> None:
        position = self.facts.position(target)
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            self.facts.actions.append(ObjectAction(target.value.value, "set", target.attr.value, value or target,
                                                   scope, position, path))
            return
        for name, index in _target_names(target):
            bound_kind = kind if index != (-1,) else "other"
            scope.add(Binding(name, bound_kind, position, path, value, index if index != (-1,) else ()))

    def small_statement(self, stmt: cst.BaseSmallStatement, scope: Scope, path: BranchPath) -> None:
        self.scan(stmt, scope, path)
        if isinstance(stmt, cst.Assign):
            for target in stmt.targets:
                self.bind_target(target.target, stmt.value, scope, path)
        elif isinstance(stmt, cst.AnnAssign):
            if stmt.value is not None:
                self.bind_target(stmt.target, stmt.value, scope, path)
            if scope.kind == "class" and isinstance(stmt.target, cst.Name) and stmt.value is not None:
                default = stmt.value
                if isinstance(default, cst.Call) and dotted_name(default.func).endswith("field"):
                    default = next((a.value for a in default.args if a.keyword and a.keyword.value == "default"), None)
                if default is not None:
                    klass = self._class_of(scope)
                    if klass is not None:
                        klass.field_defaults[stmt.target.value] = default
        elif isinstance(stmt, cst.AugAssign):
            self.bind_target(stmt.target, None, scope, path, kind="other")
        elif isinstance(stmt, cst.Return) and stmt.value is not None:
            function = self._function_of(scope)
            if function is not None:
                function.returns.append((stmt.value, self.facts.position(stmt)))
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
                self.facts.imports.append(ImportInfo(module, "", local, alias, stmt))
            return
        module = _module_name(stmt.module, len(stmt.relative))
        if isinstance(stmt.names, cst.ImportStar):
            self.facts.star_modules.append(module)
            self.facts.imports.append(ImportInfo(module, "*", "*", stmt, stmt))
            return
        for alias in stmt.names:
            name = dotted_name(alias.name)
            local = alias.asname.name.value if alias.asname is not None else name
            scope.add(Binding(local, "import", position, path, qualname=f"{module}.{name}"))
            self.facts.imports.append(ImportInfo(module, name, local, alias, stmt))

    def _function_of(self, scope: Scope) -> Optional[FunctionInfo]:
        return getattr(scope, "function_info", None)

    def _class_of(self, scope: Scope) -> Optional[ClassInfo]:
        return getattr(scope, "class_info", None)

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
            self.scan(stmt.subject, scope, path)
            for i, case in enumerate(stmt.cases):
                self.block(case.body, scope, path + ((branch, f"case{i}"),))

    def if_statement(self, stmt: cst.If, scope: Scope, path: BranchPath) -> None:
        branch = self._branch()
        self.scan(stmt.test, scope, path)
        self.block(stmt.body, scope, path + ((branch, "body"),))
        orelse = stmt.orelse
        if isinstance(orelse, cst.If):
            self.if_statement(orelse, scope, path + ((branch, "else"),))
        elif isinstance(orelse, cst.Else):
            self.block(orelse.body, scope, path + ((branch, "else"),))

    def loop(self, stmt: Union[cst.For, cst.While], scope: Scope, path: BranchPath) -> None:
        if isinstance(stmt, cst.For):
            self.scan(stmt.iter, scope, path)
            self.bind_target(stmt.target, None, scope, path, "for")
            self._record_freeze_loop(stmt, scope, path)
        else:
            self.scan(stmt.test, scope, path)
        # Loop bodies are taken to run: setup code in a loop is rare and usually runs.
        self.block(stmt.body, scope, path)
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
            whole = dotted_name(iterated.func.value) == root.value
            self.facts.actions.append(ObjectAction(root.value, "freeze", "parameters" if whole else "some_parameters",
                                                   stmt, scope, self.facts.position(stmt), path))

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
        inner.function_info = info  # type: ignore[attr-defined]
        for name, default in params:
            inner.add(Binding(name, "param", self.facts.position(node), (), default))
        scope.add(Binding(node.name.value, "def", self.facts.position(node), path, function=info))
        self.facts.functions[id(node)] = info
        self.block(node.body, inner, ())

    def klass(self, node: cst.ClassDef, scope: Scope, path: BranchPath) -> None:
        inner = Scope("class", node.name.value, scope)
        info = ClassInfo(node.name.value, [arg.value for arg in node.bases], inner)
        inner.class_info = info  # type: ignore[attr-defined]
        self.facts.classes.append(info)
        scope.add(Binding(node.name.value, "class", self.facts.position(node), path, klass=info))
        self.block(node.body, inner, ())


def collect(module: cst.Module) -> ModuleFacts:
    facts = ModuleFacts(module=module, positions=Positions(module), root=Scope("module", "<module>", None))
    _Walker(facts).block(module.body, facts.root, ())
    return facts
