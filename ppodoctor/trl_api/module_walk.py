"""One module's top level read with `ast` as Python would run it: which names it binds, how
surely, and the `_LazyModule` structure TRL's packages use instead (see module_names.py, which
walks a release's modules with this)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Bound:
    """One importable name: how the module binds it and where the object it holds comes from."""

    kind: str  # "def", "class", "assign", "import", "lazy" (a _LazyModule entry), "extra"
    conditional: bool
    source: str = ""  # "import"/"lazy": the module it is imported from
    original: str = ""  # "import"/"lazy": the name in that module ("" for a whole module)
    node: Optional[ast.AST] = None  # "def"/"class"/"assign": the defining statement


def warns_on_use(klass: ast.ClassDef) -> bool:
    """True when the class is a shim whose __init__ (or __post_init__) calls warnings.warn."""
    for init in klass.body:
        # A shim takes *args and warns unconditionally; a real class that warns about one
        # argument under an `if` is not a deprecated import path.
        if isinstance(init, ast.FunctionDef) and (init.name == "__post_init__" or init.args.vararg is not None):
            return any(isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                       and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "warn"
                       and any(isinstance(a, ast.Name) and a.id in ("FutureWarning", "DeprecationWarning")
                               for a in stmt.value.args)
                       for stmt in init.body)
    return False


def literal_assignment(node: ast.AST) -> bool:
    value = getattr(node, "value", None)
    try:
        ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return False
    return value is not None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _target_names(element)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []


def strings(node: ast.expr) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


class ModuleWalk:
    """One module's top level, run in the head: which names end up bound, and how surely."""

    def __init__(self, release, module: str) -> None:
        self.release, self.module = release, module
        self.package = module if release.is_package(module) else module.rpartition(".")[0]
        # _LazyModule bookkeeping: submodule key → [(name, conditional)], and whether it is used.
        self.structure: dict[str, list[tuple[str, bool]]] = {}
        self.lazy = False
        self.extra: list[str] = []
        self.own: dict[str, Bound] = {}

    def run(self, tree: ast.Module) -> "ModuleWalk":
        self.own = self.block(tree.body, inside=False)
        return self

    def names(self) -> dict[str, Bound]:
        bound = self.own
        if not self.lazy:
            if self._fragile(bound):
                # It surely imports a name another trl module binds only with an optional dependency
                # (0.12's alignprop_trainer needs trl.models' diffusers pipeline): all of it is conditional.
                return {name: _maybe(entry) for name, entry in bound.items()}
            return bound
        lazy: dict[str, Bound] = {}
        for key, entries in self.structure.items():
            source = f"{self.package}.{key}"
            if not self.release.module_path(source):
                continue  # listed, but the submodule is not in the wheel: an ImportError
            inner = self.release.bound(source)
            for name, conditional in entries:
                if name in inner:
                    lazy[name] = Bound("lazy", conditional or inner[name].conditional, source, name)
        for name in self.extra:
            lazy.setdefault(name, Bound("extra", False))
        return lazy

    def _fragile(self, bound: dict[str, Bound]) -> bool:
        for entry in bound.values():
            if entry.kind == "import" and not entry.conditional and entry.original and \
                    entry.source.split(".")[0] == "trl" and entry.source != self.module:
                inner = self.release.bound(entry.source).get(entry.original)
                if inner is not None and inner.conditional:
                    return True
        return False

    def resolve(self, level: int, module: Optional[str]) -> str:
        if not level:
            return module or ""
        parts = self.package.split(".")
        base = parts[: len(parts) - (level - 1)] if level > 1 else parts
        return ".".join(base + ([module] if module else []))

    def block(self, body: list[ast.stmt], inside: bool) -> dict[str, Bound]:
        """Names the statements bind; `conditional` says whether running `body` may leave one unbound.

        `inside` says whether `body` itself runs only on some paths (for `_import_structure` entries).
        """
        bound: dict[str, Bound] = {}
        for stmt in body:
            for name, entry in self.statement(stmt, inside).items():
                previous = bound.get(name)
                if previous is not None and entry.conditional and not previous.conditional:
                    continue  # surely bound already; a later maybe-rebinding keeps it bound
                bound[name] = entry
        return bound

    def statement(self, stmt: ast.stmt, inside: bool) -> dict[str, Bound]:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return {stmt.name: Bound("def", False, node=stmt)}
        if isinstance(stmt, ast.ClassDef):
            return {stmt.name: Bound("class", False, node=stmt)}
        if isinstance(stmt, ast.Import):
            found = {}
            for alias in stmt.names:
                if alias.asname:
                    found[alias.asname] = Bound("import", False, alias.name, "")
                else:
                    top = alias.name.split(".")[0]
                    found[top] = Bound("import", False, top, "")
            return found
        if isinstance(stmt, ast.ImportFrom):
            source = self.resolve(stmt.level, stmt.module)
            found = {}
            for alias in stmt.names:
                if alias.name == "*":
                    for name, entry in self.release.bound(source).items():
                        if not name.startswith("_"):
                            found[name] = Bound("import", entry.conditional, source, name)
                    continue
                found[alias.asname or alias.name] = Bound("import", False, source, alias.name)
            return found
        if isinstance(stmt, ast.Assign):
            self._structure_assign(stmt, inside)
            self._lazy_module(stmt)
            return {name: Bound("assign", False, node=stmt) for target in stmt.targets for name in _target_names(target)}
        if isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
                return {}  # an annotation alone binds nothing
            return {name: Bound("assign", False, node=stmt) for name in _target_names(stmt.target)}
        if isinstance(stmt, ast.Expr):
            self._structure_call(stmt.value, inside)
            return {}
        if isinstance(stmt, ast.If):
            if _is_type_checking(stmt.test):
                return self.block(stmt.orelse, inside)
            return _either(self.block(stmt.body, True), self.block(stmt.orelse, True))
        if isinstance(stmt, ast.Try):
            result = self.block(stmt.body + stmt.orelse, True)
            for handler in stmt.handlers:
                result = _either(result, self.block(handler.body, True))
            result.update(self.block(stmt.finalbody, inside))
            return result
        if isinstance(stmt, ast.With):
            found = {name: Bound("assign", False, node=stmt) for item in stmt.items
                     if item.optional_vars is not None for name in _target_names(item.optional_vars)}
            found.update(self.block(stmt.body, inside))
            return found
        if isinstance(stmt, (ast.For, ast.While)):
            found = self.block(stmt.body + stmt.orelse, True)
            if isinstance(stmt, ast.For):
                found.update({name: Bound("assign", False, node=stmt) for name in _target_names(stmt.target)})
            return {name: _maybe(entry) for name, entry in found.items()}
        return {}

    # --- _LazyModule ------------------------------------------------------------------------------
    def _structure_assign(self, stmt: ast.Assign, conditional: bool) -> None:
        for target in stmt.targets:
            if isinstance(target, ast.Name) and target.id == "_import_structure" and isinstance(stmt.value, ast.Dict):
                self.structure = {}
                for key, value in zip(stmt.value.keys, stmt.value.values):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        self.structure[key.value] = [(name, conditional) for name in strings(value)]
            elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                  and target.value.id == "_import_structure" and isinstance(target.slice, ast.Constant)):
                self.structure[target.slice.value] = [(name, conditional) for name in strings(stmt.value)]

    def _structure_call(self, call: ast.expr, conditional: bool) -> None:
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.args):
            return
        owner, method = call.func.value, call.func.attr
        if (isinstance(owner, ast.Subscript) and isinstance(owner.value, ast.Name)
                and owner.value.id == "_import_structure" and isinstance(owner.slice, ast.Constant)):
            entries = self.structure.setdefault(owner.slice.value, [])
            if method == "extend":
                entries.extend((name, conditional) for name in strings(call.args[0]))
            elif method == "append" and isinstance(call.args[0], ast.Constant):
                entries.append((call.args[0].value, conditional))
        elif isinstance(owner, ast.Name) and owner.id == "_import_structure" and method == "update" \
                and isinstance(call.args[0], ast.Dict):
            for key, value in zip(call.args[0].keys, call.args[0].values):
                if isinstance(key, ast.Constant):
                    self.structure[key.value] = [(name, conditional) for name in strings(value)]

    def _lazy_module(self, stmt: ast.Assign) -> None:
        # sys.modules[__name__] = _LazyModule(__name__, __file__, _import_structure, extra_objects={...})
        call = stmt.value
        if not (isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", "")) == "_LazyModule"):
            return
        if not any(isinstance(t, ast.Subscript) and ast.unparse(t.value) == "sys.modules" for t in stmt.targets):
            return
        self.lazy = True
        for keyword in call.keywords:
            if keyword.arg == "extra_objects" and isinstance(keyword.value, ast.Dict):
                self.extra = [k.value for k in keyword.value.keys if isinstance(k, ast.Constant)]


def _maybe(entry: Bound) -> Bound:
    return Bound(entry.kind, True, entry.source, entry.original, entry.node)


def _either(first: dict[str, Bound], second: dict[str, Bound]) -> dict[str, Bound]:
    """Bindings after one of two paths ran: sure only where both paths surely bind the name."""
    merged = {}
    for name in first.keys() | second.keys():
        a, b = first.get(name), second.get(name)
        chosen = a or b
        sure = a is not None and b is not None and not a.conditional and not b.conditional
        merged[name] = chosen if sure else _maybe(chosen)
    return merged
