"""What the walk over a module records (scopes.py fills these in; resolve.py reads them).

These are the walk's working state, mutable and compared by identity (records.State: no method is
generated, so defining them costs no compile at import time).
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Optional

import libcst as cst
from libcst._position import CodeRange

from ..records import State, state
from ..types import StrEnum
from .positions import Positions

Position = tuple[int, int]
# A branch path: the (statement id, branch) pairs enclosing a node. A binding dominates a use
# when its path is a prefix of the use's path.
BranchPath = tuple[tuple[int, str], ...]
# Marks a return in a loop body (FunctionInfo.return_paths): no branch statement has the id -1, so
# whether it runs is never told.
IN_LOOP: BranchPath = ((-1, "loop"),)


class BindingKind(StrEnum):
    """How a name is bound in a scope (Binding.kind)."""

    ASSIGN = "assign"
    PARAM = "param"
    IMPORT = "import"
    DEF = "def"
    CLASS = "class"
    FOR = "for"
    WITH = "with"
    OTHER = "other"  # `with ... as x`, except handlers, walrus, starred targets


class ScopeKind(StrEnum):
    MODULE = "module"
    FUNCTION = "function"
    CLASS = "class"


class ActionKind(StrEnum):
    """What a statement does to an object (ObjectAction.kind)."""

    CALL = "call"
    SET = "set"
    FREEZE = "freeze"
    ATTRIBUTE = "attribute"
    PASSED = "passed"
    ITEM = "item"
    DELITEM = "delitem"


@state
class Binding(State):
    """A name bound in a scope: how, where, on which branch, and to what value."""

    name: str
    kind: BindingKind
    position: Position
    path: BranchPath
    value: Optional[cst.BaseExpression] = None
    index: tuple[int, ...] = ()  # element of a tuple-unpacking target
    qualname: str = ""  # for imports
    function: Optional["FunctionInfo"] = None
    klass: Optional["ClassInfo"] = None
    loop: Optional[cst.CSTNode] = None  # for a `for` target: the For statement


@state
class Scope(State):
    """A module, function or class body, with the bindings of each name in it."""

    kind: ScopeKind
    name: str
    parent: Optional["Scope"]
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    function_info: Optional["FunctionInfo"] = None
    class_info: Optional["ClassInfo"] = None

    def add(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)

    @property
    def lookup_parent(self) -> Optional["Scope"]:
        # Python skips class bodies when a method looks a name up.
        parent = self.parent
        while parent is not None and parent.kind == ScopeKind.CLASS:
            parent = parent.parent
        return parent


@state
class FunctionInfo(State):
    """A function defined in the file: its parameters and the values it returns.

    For a method, klass is its class and self_name its first parameter (empty for static and class
    methods, whose first parameter is not the instance).
    """

    name: str
    node: cst.FunctionDef
    scope: Scope
    params: list[tuple[str, Optional[cst.BaseExpression]]]
    returns: list[tuple[cst.BaseExpression, Position]] = field(default_factory=list)
    return_paths: list[BranchPath] = field(default_factory=list)  # the branch of each return, in step
    klass: Optional["ClassInfo"] = None
    self_name: str = ""


@state
class AttributeSite(State):
    """`self.name = value` in a method: an instance attribute's assignment."""

    name: str
    value: cst.BaseExpression
    index: tuple[int, ...]  # element of a tuple-unpacking target
    function: FunctionInfo
    position: Position
    path: BranchPath


@state
class ClassInfo(State):
    """A class defined in the file: its bases, methods, instance attributes and field defaults."""

    name: str
    bases: list[cst.BaseExpression]
    scope: Scope
    field_defaults: dict[str, cst.BaseExpression] = field(default_factory=dict)
    # `x: Section = field(default_factory=Section)`: the factory, called for each instance
    field_factories: dict[str, cst.BaseExpression] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)  # annotated fields, in order (a dataclass's __init__)
    field_types: dict[str, cst.BaseExpression] = field(default_factory=dict)  # a field's annotation
    methods: dict[str, FunctionInfo] = field(default_factory=dict)
    attributes: dict[str, list[AttributeSite]] = field(default_factory=dict)


@state
class ObjectAction(State):
    """A statement acting on the object an expression holds.

    subject is that expression (a name, `self.x`, `x["key"]`) and receiver the name it starts from.
    kind: call (`x.m(...)`), set (`x.attr = v`), freeze (a loop freezing its parameters), attribute
    (`x.attr` read), passed (given as an argument to a call, name is the callee), item (`x[key] = v`,
    key holds the key node) and delitem (`del x[key]`). loop: the innermost `for` around it in its scope.
    """

    receiver: str
    kind: ActionKind
    name: str
    node: cst.CSTNode
    scope: Scope
    position: Position
    path: BranchPath
    subject: Optional[cst.BaseExpression] = None
    key: Any = None
    loop: Optional[cst.For] = None


@state
class CallSite(State):
    """A call expression and the scope and branch it is evaluated in."""

    node: cst.Call
    scope: Scope
    position: Position
    path: BranchPath


@state
class ModuleFacts(State):
    """Everything the walk recorded about one module, with its node positions."""

    module: cst.Module
    positions: Positions
    root: Scope
    calls: list[CallSite] = field(default_factory=list)
    actions: list[ObjectAction] = field(default_factory=list)
    imports: list = field(default_factory=list)  # scopes.ImportInfo
    star_modules: list[str] = field(default_factory=list)
    argparse_defaults: dict[str, cst.BaseExpression] = field(default_factory=dict)
    # every add_argument call: (dest, option strings, its keyword arguments), for a launch's argv (argv.py)
    argparse_options: list[tuple[str, tuple[str, ...], dict[str, cst.BaseExpression]]] = field(default_factory=list)
    functions: dict[int, FunctionInfo] = field(default_factory=dict)
    classes: list[ClassInfo] = field(default_factory=list)
    branch_statements: dict[int, cst.CSTNode] = field(default_factory=dict)  # branch id → its If/Try (guards)

    def range(self, node: cst.CSTNode) -> CodeRange:
        return self.positions[node]

    def position(self, node: cst.CSTNode) -> Position:
        return self.positions.start(node)

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def text(self, node: cst.CSTNode) -> str:
        """The node's code, stripped."""
        return self.positions.text(node, self.module)

    def file_of(self, node: cst.CSTNode) -> str:
        """The file a node is in, as Span.file names it: "" (this file; project.ProjectFacts knows others)."""
        return ""


def dotted_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = dotted_name(node.value)
        return f"{inner}.{node.attr.value}" if inner else ""
    return ""
