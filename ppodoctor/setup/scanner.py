"""The calls and object actions inside one statement, found by reading libcst's node fields directly.

libcst's own visitor rebuilds every node it passes and costs several times more; this reads the
dataclass fields in libcst's visiting order (parents first, fields in source order) and skips the
fields that can only hold whitespace and punctuation.
"""

from __future__ import annotations

from typing import Callable, Iterator, Optional

import libcst as cst

from .facts import BranchPath, CallSite, ModuleFacts, ObjectAction, Scope, dotted_name
from .literals import NOT_LITERAL, subscript_key

# Fields that hold only whitespace and punctuation: no call or attribute can sit in them.
_PUNCTUATION_FIELDS = frozenset({
    "lpar", "rpar", "comma", "colon", "dot", "equal", "semicolon", "operator", "star", "lbrace", "rbrace",
    "lbracket", "rbracket", "leading_lines", "lines_after_decorators", "trailing_whitespace", "header", "footer",
    "first_colon", "second_colon", "asynchronous", "newline", "separator", "empty_lines", "comment", "indent",
    "trailing_comma", "default_indent", "default_newline", "encoding", "has_trailing_newline", "relative",
    "posonly_ind", "conversion"})
# Where the declaration order is not the source order, libcst visits in source order.
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {cst.IfExp: ("body", "test", "orelse")}
_LEAVES = (cst.Lambda, cst.Name, cst.SimpleString, cst.Integer, cst.Float)
# Trainer attributes that only the old (<= 0.11) API has, read without a call: the only attribute
# reads anything asks about.
TRAINER_ATTRIBUTES = frozenset({"dataloader"})
# Callees that read their arguments and never change them: handing an object to them is no action.
_READ_ONLY_CALLEES = frozenset({
    "print", "len", "str", "repr", "int", "float", "bool", "isinstance", "issubclass", "type", "id", "hash",
    "range", "enumerate", "zip", "sorted", "reversed", "list", "tuple", "set", "frozenset", "min", "max", "sum",
    "any", "all", "format", "hasattr", "getattr", "iter", "next", "abs", "round", "vars", "dir", "callable",
    "os.path.join", "os.path.exists", "os.path.isdir", "os.makedirs", "os.path.basename", "os.path.dirname"})
_LOGGING_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
_NODE = cst.CSTNode


def child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node type that may hold other nodes (not whitespace or punctuation)."""
    names = _CHILD_FIELDS.get(kind)
    if names is None:
        names = tuple(name for name in kind.__dataclass_fields__
                      if name not in _PUNCTUATION_FIELDS and not name.startswith("whitespace"))
        _CHILD_FIELDS[kind] = names
    return names


def descendants(root: cst.CSTNode, prune: tuple[type, ...] = ()) -> Iterator[cst.CSTNode]:
    """`root` and every node below it (depth first, child_fields only), not entering the kinds in
    `prune` (they are yielded, their insides are not)."""
    pending = [root]
    while pending:
        node = pending.pop()
        yield node
        kind = type(node)
        if kind in prune:
            continue
        for name in child_fields(kind):
            value = getattr(node, name)
            if isinstance(value, (tuple, list)):
                pending.extend(item for item in value if isinstance(item, _NODE))
            elif isinstance(value, _NODE):
                pending.append(value)


def _builds_object(call: cst.Call) -> bool:
    name = dotted_name(call.func).rsplit(".", 1)[-1]
    return name in ("from_pretrained", "from_config") or name[:1].isupper()


def subject_root(node: cst.BaseExpression) -> Optional[str]:
    """The name an acted-on expression starts from: `x`, `x.attr`, `x["key"]`, `x.attr["key"]`.

    Longer chains and computed subscripts are not followed (their objects cannot be told apart).
    """
    if isinstance(node, cst.Subscript):
        if subscript_key(node) is NOT_LITERAL:
            return None
        node = node.value
    if isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


class ExpressionScanner:
    """Collects calls and object actions inside one statement (not inside lambdas or nested defs)."""

    def __init__(self, facts: ModuleFacts, scope: Scope, path: BranchPath, loop: Optional[cst.For],
                 on_argument: Callable[[cst.Call], None],
                 on_named: Optional[Callable[..., None]] = None) -> None:
        self.facts, self.scope, self.path, self.loop, self.on_argument = facts, scope, path, loop, on_argument
        self.on_named = on_named

    def scan(self, node: cst.CSTNode) -> None:
        kind = type(node)
        if kind is cst.Call:
            self.call(node)
        elif kind is cst.Attribute:
            self.attribute(node)
        elif kind is cst.NamedExpr and self.on_named is not None:
            self.on_named(node.target, node.value, self.scope, self.path)  # `(x := v)` binds x as `x = v` does
        elif kind in _LEAVES:
            return
        for name in child_fields(kind):
            value = getattr(node, name)
            if _NODE in type(value).__mro__:
                self.scan(value)
            elif type(value) in (tuple, list):
                for item in value:
                    if _NODE in type(item).__mro__:
                        self.scan(item)

    def action(self, subject: cst.BaseExpression, kind: str, name: str, node: cst.CSTNode, position,
               key=None) -> None:
        root = subject_root(subject)
        if root is not None:
            self.facts.actions.append(ObjectAction(root, kind, name, node, self.scope, position, self.path, subject,
                                                   key, self.loop))

    def call(self, node: cst.Call) -> None:
        facts = self.facts
        position = facts.position(node)
        facts.calls.append(CallSite(node, self.scope, position, self.path))
        func = node.func
        if isinstance(func, cst.Attribute):
            self.action(func.value, "call", func.attr.value, node, position)
        callee = dotted_name(func)
        if callee not in _READ_ONLY_CALLEES and not (isinstance(func, cst.Attribute)
                                                     and func.attr.value in _LOGGING_METHODS):
            for arg in node.args:
                if arg.star:
                    continue
                if isinstance(arg.value, (cst.Name, cst.Attribute, cst.Subscript)):
                    self.action(arg.value, "passed", callee, node, position)
                elif isinstance(arg.value, cst.Call) and _builds_object(arg.value):
                    # `prepare(AutoTokenizer.from_pretrained(path))`: the new object is handed over.
                    self.facts.actions.append(ObjectAction("", "passed", callee, node, self.scope, position,
                                                           self.path, arg.value, None, self.loop))
        if isinstance(func, cst.Attribute) and func.attr.value == "add_argument":
            self.on_argument(node)

    def attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in TRAINER_ATTRIBUTES:
            self.action(node.value, "attribute", node.attr.value, node, self.facts.position(node))
