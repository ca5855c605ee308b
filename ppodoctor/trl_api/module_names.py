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
from pathlib import Path
from typing import Optional, Union

from .module_walk import Bound, ModuleWalk, literal_assignment, strings, warns_on_use  # noqa: F401  (warns_on_use: for the generators)
from .source_tree import SourceTree, WheelTree

# Private names the table records (the others it leaves out, and so does `status`).
KEPT_PRIVATE = ("__version__", "__all__")
_BUSY = object()  # a module whose walk is under way


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

    def _walk(self, module: str) -> Optional[ModuleWalk]:
        """The module's own top level, walked once (its lazy structure not yet followed)."""
        if module not in self._walks:
            self._walks[module] = _BUSY
            try:
                tree = self.tree(module)
                self._walks[module] = ModuleWalk(self, module).run(tree) if tree is not None else None
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
        if entry.kind == "assign" and not literal_assignment(entry.node):
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


def star_names(release: Release, module: str) -> Optional[list[str]]:
    """`__all__` where the module spells it as a literal list; None where it has none."""
    tree = release.tree(module)
    for node in (tree.body if tree else ()):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return strings(node.value)
    return None
