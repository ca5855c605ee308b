"""What `from <trl module> import NAME` finds in one TRL release, read from its source with `ast`.

A module's importable names are the names its top level binds when Python runs it: functions,
classes, assignments, and everything it imports (`from .x import Y`, `import a.b as c`, external
imports included: `from trl.trainer.utils import torch` works too). Code under `if TYPE_CHECKING:`
never runs. A package that replaces itself with TRL's `_LazyModule`
(`sys.modules[__name__] = _LazyModule(..., _import_structure, extra_objects=...)`) exports only the
names of its `_import_structure` (each found in the submodule it names) and its `extra_objects`.
A name bound only on some paths (`if is_peft_available(): ...`, a `try` whose handler does not bind
it) is "conditional": it may or may not be there at run time. A package's submodules are always
importable from it (`from trl.trainer import utils`) and are not listed as names.

One reader for both uses: scripts/generate_trl_table.py reads every module of a wheel (`bound`) to
write table.json; `ppodoctor check` asks about single names of an installed release the table did
not measure (`lookup`, `status`), reading only the modules that decide them. Nothing is imported.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from .source_tree import SourceTree, WheelTree

# Private names the table records (the others it leaves out, and so does `status`).
KEPT_PRIVATE = ("__version__", "__all__")
_BUSY = object()  # a module whose walk is under way


@dataclass(frozen=True)
class Bound:
    """One importable name: how the module binds it and where the object it holds comes from."""

    kind: str  # "def", "class", "assign", "import", "lazy" (a _LazyModule entry), "extra"
    conditional: bool
    source: str = ""  # "import"/"lazy": the module it is imported from
    original: str = ""  # "import"/"lazy": the name in that module ("" for a whole module)
    node: Optional[ast.AST] = None  # "def"/"class"/"assign": the defining statement


class Release:
    """The source files of one release (a wheel, or an installed directory), read without importing."""

    def __init__(self, source: Union[SourceTree, str, Path]) -> None:
        self.source = source if isinstance(source, SourceTree) else WheelTree(source)
        self._trees: dict[str, Optional[ast.Module]] = {}
        self._bound: dict[str, dict[str, Bound]] = {}
        self._walks: dict[str, object] = {}

    def modules(self) -> list[str]:
        """Every `trl` module of the release, packages included."""
        found = []
        for name in sorted(self.source.names()):
            if name.startswith("trl/") and name.endswith(".py"):
                parts = name[:-3].split("/")
                if parts[-1] == "__init__":
                    parts.pop()
                found.append(".".join(parts))
        return found

    def module_path(self, module: str) -> Optional[str]:
        base = module.replace(".", "/")
        for candidate in (f"{base}.py", f"{base}/__init__.py"):
            if self.source.exists(candidate):
                return candidate
        return None

    def is_package(self, module: str) -> bool:
        return self.source.exists(f"{module.replace('.', '/')}/__init__.py")

    def tree(self, module: str) -> Optional[ast.Module]:
        if module not in self._trees:
            path = self.module_path(module)
            self._trees[module] = ast.parse(self.source.read(path)) if path else None
        return self._trees[module]

    def metadata(self) -> str:
        return self.source.metadata()

    # --- importable names ---------------------------------------------------------------------
    def bound(self, module: str) -> dict[str, Bound]:
        """Name → how `module` binds it; {} for a module the release does not have."""
        if module not in self._bound:
            if self._walks.get(module) is _BUSY:
                return {}  # a cycle reads as "nothing yet"
            self._bound[module] = {}  # likewise
            walk = self._walk(module)
            self._bound[module] = walk.names() if walk is not None else {}
        return self._bound[module]

    def _walk(self, module: str) -> Optional[_ModuleWalk]:
        """The module's own top level, walked once (its lazy structure not yet followed)."""
        if module not in self._walks:
            self._walks[module] = _BUSY
            try:
                tree = self.tree(module)
                self._walks[module] = _ModuleWalk(self, module).run(tree) if tree is not None else None
            finally:
                if self._walks[module] is _BUSY:
                    del self._walks[module]
        walk = self._walks.get(module)
        return None if walk is _BUSY else walk

    def lookup(self, module: str, name: str, depth: int = 0) -> Optional[Bound]:
        """`bound(module).get(name)` without reading every module `bound` reads: a lazy package's
        entry is followed into the one submodule that lists the name. The conditional flag may be
        less strict than `bound`'s (what a module imports is not searched for optional names)."""
        if module in self._bound:
            return self._bound[module].get(name)
        walk = self._walk(module) if depth <= 20 else None
        if walk is None:
            return None
        if not walk.lazy:
            return walk.own.get(name)
        found = None
        for key, entries in walk.structure.items():
            for listed, conditional in entries:
                source = f"{walk.package}.{key}"
                if listed == name and self.module_path(source):
                    inner = self.lookup(source, name, depth + 1)
                    if inner is not None:
                        found = Bound("lazy", conditional or inner.conditional, source, name)
        if found is None and name in walk.extra:
            found = Bound("extra", False)
        return found

    def status(self, module: str, name: str) -> Optional[str]:
        """What table.name_status says for a measured release: "ok", "deprecated" or None."""
        if name.startswith("_") and name not in KEPT_PRIVATE:
            present = False  # the table records no private name
        else:
            present = self.lookup(module, name) is not None
        if not present:
            return "ok" if self.module_path(f"{module}.{name}") else None
        klass = self.defining_class(module, name)
        return "deprecated" if klass is not None and warns_on_use(klass[1]) else "ok"

    def definition(self, module: str, name: str, depth: int = 0) -> Optional[tuple]:
        """What a name finally is: ("trl", defining module, ast dump) or ("external", module, name)."""
        entry = self.bound(module).get(name)
        if entry is None or depth > 20:
            return None
        if entry.kind in ("import", "lazy"):
            if entry.source.split(".")[0] != "trl":
                return ("external", entry.source, entry.original)
            if not entry.original:
                return ("module", entry.source, "")
            inner = self.definition(entry.source, entry.original, depth + 1)
            if inner is None and self.module_path(f"{entry.source}.{entry.original}"):
                return ("module", f"{entry.source}.{entry.original}", "")
            return inner
        if entry.node is None:
            return ("extra", module, name)
        if entry.kind == "assign" and not _literal_assignment(entry.node):
            # `logger = logging.get_logger(__name__)` reads the same everywhere and is not one object.
            return ("value", module, name)
        return ("trl", module, ast.dump(entry.node, include_attributes=False))

    def defining_class(self, module: str, name: str, depth: int = 0) -> Optional[tuple[str, ast.ClassDef]]:
        entry = self.lookup(module, name)
        if entry is None or depth > 20:
            return None
        if entry.kind in ("import", "lazy") and entry.source.startswith("trl") and entry.original:
            return self.defining_class(entry.source, entry.original, depth + 1)
        if entry.kind == "class" and isinstance(entry.node, ast.ClassDef):
            return module, entry.node
        return None


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


def _literal_assignment(node: ast.AST) -> bool:
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


def _strings(node: ast.expr) -> list[str]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


class _ModuleWalk:
    """One module's top level, run in the head: which names end up bound, and how surely."""

    def __init__(self, release: Release, module: str) -> None:
        self.release, self.module = release, module
        self.package = module if release.is_package(module) else module.rpartition(".")[0]
        # _LazyModule bookkeeping: submodule key → [(name, conditional)], and whether it is used.
        self.structure: dict[str, list[tuple[str, bool]]] = {}
        self.lazy = False
        self.extra: list[str] = []
        self.own: dict[str, Bound] = {}

    def run(self, tree: ast.Module) -> "_ModuleWalk":
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
                        self.structure[key.value] = [(name, conditional) for name in _strings(value)]
            elif (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                  and target.value.id == "_import_structure" and isinstance(target.slice, ast.Constant)):
                self.structure[target.slice.value] = [(name, conditional) for name in _strings(stmt.value)]

    def _structure_call(self, call: ast.expr, conditional: bool) -> None:
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.args):
            return
        owner, method = call.func.value, call.func.attr
        if (isinstance(owner, ast.Subscript) and isinstance(owner.value, ast.Name)
                and owner.value.id == "_import_structure" and isinstance(owner.slice, ast.Constant)):
            entries = self.structure.setdefault(owner.slice.value, [])
            if method == "extend":
                entries.extend((name, conditional) for name in _strings(call.args[0]))
            elif method == "append" and isinstance(call.args[0], ast.Constant):
                entries.append((call.args[0].value, conditional))
        elif isinstance(owner, ast.Name) and owner.id == "_import_structure" and method == "update" \
                and isinstance(call.args[0], ast.Dict):
            for key, value in zip(call.args[0].keys, call.args[0].values):
                if isinstance(key, ast.Constant):
                    self.structure[key.value] = [(name, conditional) for name in _strings(value)]

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


def star_names(release: Release, module: str) -> Optional[list[str]]:
    """`__all__` where the module spells it as a literal list; None where it has none."""
    tree = release.tree(module)
    for node in (tree.body if tree else ()):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return _strings(node.value)
    return None
