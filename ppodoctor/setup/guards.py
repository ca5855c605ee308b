"""The `try`/`if` statements around an import: import shims and branches on the TRL version.

    try:                                           if version.parse(trl.__version__) >= version.parse("0.26"):
        from trl.experimental.ppo import PPOTrainer     from trl.experimental.ppo import PPOTrainer
    except ImportError:                            else:
        from trl import PPOTrainer                      from trl import PPOTrainer

Each import gets one ImportGuard per enclosing statement (model.py says what the fields mean). Only
plain forms count as a version test: `packaging.version.parse`/`Version` of `trl.__version__` or of
`importlib.metadata.version("trl")`, compared with the same of a string literal; or a tuple of ints
built from the version string (`tuple(map(int, trl.__version__.split(".")[:2]))`, `....release`)
compared with a tuple literal; either one directly or through a module-level name; `not` of one.
Anything else leaves the branch unknown.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from .model import ImportGuard
from .resolve import Context, Resolver
from .scopes import ImportInfo, ModuleFacts, dotted_name
from .facts import BindingKind
from ..types import GuardKind, ValueKind

_PARSERS = frozenset({"packaging.version.parse", "packaging.version.Version", "pkg_resources.parse_version"})
_METADATA = frozenset({"importlib.metadata.version", "importlib_metadata.version"})
_OPERATORS = {cst.LessThan: "<", cst.LessThanEqual: "<=", cst.GreaterThan: ">", cst.GreaterThanEqual: ">=",
              cst.Equal: "==", cst.NotEqual: "!="}
_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_BROAD = frozenset({"ImportError", "Exception", "BaseException"})


def import_guards(facts: ModuleFacts, info: ImportInfo, resolver: Resolver) -> tuple[ImportGuard, ...]:
    return statement_guards(facts, info.scope, info.path, info.statement, resolver)


def statement_guards(facts: ModuleFacts, scope, path, statement: cst.CSTNode,
                     resolver: Resolver) -> tuple[ImportGuard, ...]:
    """The try/if statements around any statement: an import's, or a trainer call's (PPOSetup.guards)."""
    guards = []
    for depth, (branch_id, label) in enumerate(path):
        node = facts.branch_statements.get(branch_id)
        span = resolver.span(node) if node is not None else None
        if isinstance(node, cst.Try):
            if label == "try" and node.orelse is not None and _inside(facts, node.orelse, statement):
                continue  # `else:` of a try runs after the body worked: its handlers do not guard it
            if label == "try":
                catches = _strongest([_caught(handler) for handler in node.handlers])
                guards.append(ImportGuard(GuardKind.TRY, span, "try", catches))
            elif label.startswith("except"):
                handler = node.handlers[int(label[len("except"):])]
                guards.append(ImportGuard(GuardKind.TRY, span, label, _caught(handler)))
        elif isinstance(node, cst.If):
            ctx = Context(scope, facts.position(node), path[:depth]) if scope else None
            test = _version_test(node.test, resolver, ctx) if ctx is not None else None
            compare, release, form = test or ("", "", "")
            guards.append(ImportGuard(GuardKind.IF, span, "body" if label == "body" else "else", "", compare, release, form))
    return tuple(guards)


def _inside(facts: ModuleFacts, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
    area, point = facts.range(outer), facts.range(inner).start
    return (area.start.line, area.start.column) <= (point.line, point.column) <= (area.end.line, area.end.column)


def _strongest(kinds: list[str]) -> str:
    if "ImportError" in kinds:
        return "ImportError"
    return "ModuleNotFoundError" if "ModuleNotFoundError" in kinds else ""


def _caught(handler: cst.ExceptHandler) -> str:
    if handler.type is None:
        return "ImportError"  # a bare `except:`
    types = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
    names = set()
    for element in types:
        value = element.value if isinstance(element, cst.Element) else element
        names.add(dotted_name(value).rsplit(".", 1)[-1])
    return _strongest(["ImportError" if names & _BROAD else "", "ModuleNotFoundError" if
                       "ModuleNotFoundError" in names else ""])


# --- version tests -----------------------------------------------------------------------------------
def _version_test(test: cst.BaseExpression, resolver: Resolver, ctx: Context) -> Optional[tuple[str, str, str]]:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _version_test(test.expression, resolver, ctx)
        return (_NEGATED[inner[0]], inner[1], inner[2]) if inner else None
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    operator = _OPERATORS.get(type(target.operator))
    if operator is None:
        return None
    left, right = test.left, target.comparator
    form = _trl_version(left, resolver, ctx)
    if form is None:
        form, left, right, operator = _trl_version(right, resolver, ctx), right, left, _MIRRORED[operator]
    if form is None:
        return None
    release = _literal_release(right, form, resolver, ctx)
    return (operator, release, form) if release else None


def _trl_version(node: cst.BaseExpression, resolver: Resolver, ctx: Context, depth: int = 0) -> Optional[str]:
    """"release" or "tuple" where `node` is the installed TRL's version in that form."""
    if depth > 3:
        return None
    if isinstance(node, cst.Name):
        binding, scope, ambiguous = resolver.lookup(node.value, ctx)
        if binding is None or ambiguous or binding.kind != BindingKind.ASSIGN or binding.value is None or binding.index:
            return None
        return _trl_version(binding.value, resolver, Context(scope, binding.position, binding.path), depth + 1)
    if isinstance(node, cst.Call) and resolver.qualname(node.func, ctx) in _PARSERS and len(node.args) == 1:
        return "release" if _trl_version_string(node.args[0].value, resolver, ctx) else None
    if isinstance(node, cst.Attribute) and node.attr.value == "release":
        return "tuple" if _trl_version(node.value, resolver, ctx, depth + 1) == "release" else None
    if isinstance(node, cst.Call) and dotted_name(node.func) == "tuple" and len(node.args) == 1:
        found = []

        class _Finder(cst.CSTVisitor):
            def on_visit(self, inner: cst.CSTNode) -> bool:
                if isinstance(inner, cst.BaseExpression) and _trl_version_string(inner, resolver, ctx):
                    found.append(inner)
                    return False
                return True

        node.args[0].value.visit(_Finder())
        return "tuple" if found else None
    return None


def _trl_version_string(node: cst.BaseExpression, resolver: Resolver, ctx: Context) -> bool:
    if isinstance(node, cst.Attribute) and node.attr.value == "__version__":
        return resolver.qualname(node, ctx) == "trl.__version__"
    if isinstance(node, cst.Call) and resolver.qualname(node.func, ctx) in _METADATA and len(node.args) == 1:
        return resolver.value(node.args[0].value, ctx).is_literal("trl")
    if isinstance(node, cst.Attribute) and node.attr.value == "version" and isinstance(node.value, cst.Call):
        call = node.value  # pkg_resources.get_distribution("trl").version
        return resolver.qualname(call.func, ctx) == "pkg_resources.get_distribution" and len(call.args) == 1 \
            and resolver.value(call.args[0].value, ctx).is_literal("trl")
    return False


def _literal_release(node: cst.BaseExpression, form: str, resolver: Resolver, ctx: Context) -> str:
    if form == "release":
        if isinstance(node, cst.Call) and resolver.qualname(node.func, ctx) in _PARSERS and len(node.args) == 1:
            value = resolver.value(node.args[0].value, ctx)
            if value.kind == ValueKind.LITERAL and isinstance(value.value, str) and _plain_release(value.value):
                return value.value
        return ""
    value = resolver.value(node, ctx)
    if value.kind == ValueKind.LITERAL and isinstance(value.value, tuple) and 1 <= len(value.value) <= 3 and \
            all(type(part) is int for part in value.value):
        return ".".join(str(part) for part in value.value)
    return ""


def _plain_release(text: str) -> bool:
    parts = text.split(".")
    return 1 <= len(parts) <= 3 and all(part.isdigit() for part in parts)
