"""The script's own modules: imports of project files followed as local code.

A name imported from a module of the script's project (`from models import build`, `import models`
then `models.build(...)`, `from .models import build` inside a package) resolves in that module as
a local name does: its functions, constants and classes, with their parameters bound from the call
in the script. A project module is a file under the project root (the nearest folder upward holding
pyproject.toml, setup.py, setup.cfg or .git, else the script's folder), found from the script's
folder, the root, or the root's `src/`; relative imports from the importing file's package.
Installed packages and the standard library are never followed (only files under the root are), nor
the libraries whose names the rules read (a copy of `trl` in its own repository stays `trl`).

Each module is read and parsed once per run (the cache below, keyed by the file's size and mtime, is
shared by every file a run checks); nothing is imported or run. A module that cannot be read, is too
large, or is one too many stays an import, and its unknowns say why.
"""

from __future__ import annotations

import os
from typing import Optional, Union

import libcst as cst

from .context import Context
from .datafiles import DataFile, read_data_file
from .facts import Binding, BindingKind, ModuleFacts, Scope
from .scopes import collect

MAX_MODULES = 16  # the project modules one checked file may follow
MAX_BYTES = 512 * 1024  # a larger module is not parsed
MAX_CACHED = 256  # modules kept parsed across the files of a run (and an editor session)
MAX_HOPS = 8  # re-exports followed for one name (`pkg/__init__.py` importing from `.models`)
_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
# Libraries the rules know by name: their qualified names must stay theirs, even where a copy of one
# lies under the project root (TRL's own examples import trl from the repository).
_LIBRARIES = frozenset({"trl", "transformers", "peft", "torch", "datasets", "accelerate", "deepspeed",
                        "bitsandbytes", "tokenizers", "safetensors", "huggingface_hub", "numpy", "argparse",
                        "dataclasses", "copy", "functools", "typing", "os", "sys"})

# path → (size, mtime_ns, facts or the reason it cannot be followed): one parse per module per run.
_CACHE: dict[str, tuple[int, int, object]] = {}


def _root_of(folder: str) -> str:
    current = folder
    while True:
        if any(os.path.exists(os.path.join(current, marker)) for marker in _MARKERS):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return folder
        current = parent


def _parse(path: str, text: Optional[str] = None) -> object:
    """The module's facts, or the reason it is not followed. `text`: the module as a fix in progress
    has it (the fix engine's overlay), parsed instead of the file and not cached."""
    if text is not None:
        try:
            return collect(cst.parse_module(text))
        except (cst.ParserSyntaxError, RecursionError, ValueError):
            return f"`{os.path.basename(path)}` cannot be parsed"
    try:
        stat = os.stat(path)
    except OSError as error:
        return f"`{os.path.basename(path)}` cannot be read ({error.strerror})"
    cached = _CACHE.get(path)
    if cached is not None and cached[:2] == (stat.st_size, stat.st_mtime_ns):
        return cached[2]
    if stat.st_size > MAX_BYTES:
        found: object = f"`{os.path.basename(path)}` is larger than {MAX_BYTES // 1024} KB"
    else:
        try:
            with open(path, "rb") as handle:
                found = collect(cst.parse_module(handle.read()))
        except (OSError, UnicodeDecodeError, cst.ParserSyntaxError, RecursionError, ValueError):
            found = f"`{os.path.basename(path)}` cannot be parsed"
    if len(_CACHE) >= MAX_CACHED:  # a long-running server: the oldest entry goes
        del _CACHE[next(iter(_CACHE))]
    _CACHE[path] = (stat.st_size, stat.st_mtime_ns, found)
    return found


def _module_file(base: str, parts: list[str]) -> Optional[str]:
    if not parts or not all(part.isidentifier() for part in parts):
        return None
    stem = os.path.join(base, *parts)
    for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


class Project:
    """The project modules one checked file reaches, each with its facts and the path reports name."""

    def __init__(self, filename: str, facts: ModuleFacts, overlay: Optional[dict[str, str]] = None) -> None:
        self.filename = filename
        self.overlay = overlay or {}  # absolute path → the text a fix in progress gave that module
        self.path = os.path.abspath(filename)
        folder = os.path.dirname(self.path)
        self.root = _root_of(folder)
        roots = [folder, self.root, os.path.join(self.root, "src")]
        self.roots = [r for i, r in enumerate(roots) if r not in roots[:i] and os.path.isdir(r)]
        self.main = facts
        self.modules: list[tuple[ModuleFacts, str, str]] = []  # (facts, absolute path, shown path)
        self._files: dict[int, tuple[ModuleFacts, str]] = {id(facts.root): (facts, self.path)}
        self._located: dict[tuple[str, str], Optional[str]] = {}
        self.refused: dict[str, str] = {}  # an import's qualified name → why it is not followed
        self._stars: dict[int, list[ModuleFacts]] = {}
        self.data_files: list[DataFile] = []  # the JSON/YAML files the script reads, once each
        self._data: dict[tuple[str, str], Union[DataFile, str]] = {}

    def data_file(self, path: str, form: str) -> Union[DataFile, str]:
        """The data file `path` beside the script, read once a run, or why it is not read."""
        key = (path, form)
        if key not in self._data:
            found = self._data[key] = read_data_file(self.path, self.filename, self.root, path, form)
            if isinstance(found, DataFile):
                self.data_files.append(found)
        return self._data[key]

    # --- which file a module is -----------------------------------------------------------------
    def _locate(self, importer: str, dotted: str) -> Optional[str]:
        """The project file of module `dotted` (leading dots: relative to `importer`'s package)."""
        found = self._located.get((importer, dotted), False)
        if found is not False:
            return found
        level = len(dotted) - len(dotted.lstrip("."))
        parts = [part for part in dotted[level:].split(".") if part]
        if level:
            base = os.path.dirname(importer)
            for _ in range(level - 1):
                base = os.path.dirname(base)
            package = os.path.join(base, "__init__.py")
            found = _module_file(base, parts) if parts else (package if os.path.isfile(package) else None)
        elif not parts or parts[0] in _LIBRARIES:
            found = None
        else:
            found = next((f for f in (_module_file(root, parts) for root in self.roots) if f), None)
        if found is not None and not os.path.abspath(found).startswith(os.path.join(self.root, "")):
            found = None
        self._located[(importer, dotted)] = found
        return found

    def _load(self, path: str, qualname: str) -> Optional[ModuleFacts]:
        path = os.path.abspath(path)
        if path == self.path:
            return self.main  # the module imports the script back: it is the script's own facts
        for facts, module_path, _shown in self.modules:
            if module_path == path:
                return facts
        if len(self.modules) >= MAX_MODULES:
            self.refused[qualname] = f"more than {MAX_MODULES} project modules are followed"
            return None
        found = _parse(path, self.overlay.get(path))
        if isinstance(found, str):
            self.refused[qualname] = found
            return None
        shown = os.path.normpath(os.path.join(os.path.dirname(self.filename),
                                              os.path.relpath(path, os.path.dirname(self.path))))
        self.modules.append((found, path, shown))
        self._files[id(found.root)] = (found, path)
        return found

    def facts_of_scope(self, scope: Scope) -> Optional[ModuleFacts]:
        """The facts of the module (this script or a project module) a scope belongs to."""
        while scope.parent is not None:
            scope = scope.parent
        entry = self._files.get(id(scope))
        return entry[0] if entry is not None else None

    def file_of_scope(self, scope: Scope) -> str:
        while scope.parent is not None:
            scope = scope.parent
        entry = self._files.get(id(scope))
        return entry[1] if entry is not None else self.path

    # --- an import binding → the module or the name it stands for --------------------------------
    def module(self, qualname: str, importer: str) -> Optional[ModuleFacts]:
        """The facts of the project module `qualname` names (`import models`, `from pkg import sub`)."""
        dotted = qualname
        if qualname.startswith(".") and "." not in qualname.lstrip("."):
            dotted = qualname[1:]  # `from . import models` reads `..models`: one dot more than `.models`
        return self.module_named(dotted, importer, qualname)

    def module_named(self, dotted: str, importer: str, qualname: str = "") -> Optional[ModuleFacts]:
        """The facts of the project module `dotted` (leading dots: relative to `importer`)."""
        path = self._locate(importer, dotted)
        return self._load(path, qualname or dotted) if path is not None else None

    def stars(self, scope: Scope) -> list[ModuleFacts]:
        """The project modules that the module of `scope` star-imports (`from models import *`), last first."""
        while scope.parent is not None:
            scope = scope.parent
        found = self._stars.get(id(scope))
        if found is None:
            facts, path = self._files.get(id(scope), (None, ""))
            modules = [self.module_named(m, path) for m in reversed(facts.star_modules)] if facts is not None else []
            found = self._stars[id(scope)] = [m for m in modules if m is not None]
        return found

    def submodule(self, package: ModuleFacts, name: str) -> Optional[ModuleFacts]:
        """`pkg.models` read as an attribute of `import pkg`: the module next to pkg's __init__.py."""
        importer = self.file_of_scope(package.root)
        if os.path.basename(importer) != "__init__.py":
            return None
        path = self._locate(importer, "." + name)
        return self._load(path, name) if path is not None else None

    def name(self, qualname: str, importer: str) -> Optional[tuple[ModuleFacts, str]]:
        """(the module's facts, the name) for `from module import name`."""
        # `from .models import build` reads `.models.build`, `from . import build` `..build`.
        module, _dot, name = qualname.rpartition(".")
        if not module or not name:
            return None
        path = self._locate(importer, module)
        facts = self._load(path, qualname) if path is not None else None
        return (facts, name) if facts is not None else None


def module_binding(project: Project, binding: Binding, scope: Scope) -> Optional[ModuleFacts]:
    """The project module an import binding stands for, when it is one."""
    if binding.kind != BindingKind.IMPORT:
        return None
    return project.module(binding.qualname, project.file_of_scope(scope))


def follow_import(project: Project, binding: Binding, scope: Scope) -> Optional[tuple[Binding, Scope, bool]]:
    """What `from module import name` binds in the project module, through re-exports; None when the
    binding is not such an import (or the module is not followed: project.refused says why)."""
    seen: set = set()
    found = None
    for _hop in range(MAX_HOPS):
        if binding.kind != BindingKind.IMPORT or id(binding) in seen:
            break
        seen.add(id(binding))
        importer = project.file_of_scope(scope)
        if project.module(binding.qualname, importer) is not None:
            break  # a module, not a name in one: its attributes are followed where they are read
        target = project.name(binding.qualname, importer)
        if target is None:
            break
        facts, name = target
        candidates = facts.root.bindings.get(name)
        if not candidates:
            break
        last = candidates[-1]
        found = (last, facts.root, bool(last.path))  # bound in a branch of the module: ambiguous
        if found[2]:
            break
        binding, scope = last, facts.root
    return found


class ProjectFacts:
    """The checked file's facts, answering positions and text for the nodes of the project modules
    followed too (resolve.Resolver reads this once a module is followed); the rest is the file's."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def __getattr__(self, name: str):
        return getattr(self.project.main, name)

    def _owner(self, node: cst.CSTNode) -> tuple[ModuleFacts, str]:
        main = self.project.main
        if node in main.positions:
            return main, ""
        for facts, _path, shown in self.project.modules:
            if node in facts.positions:
                return facts, shown
        for data in self.project.data_files:
            if node in data.positions:
                return data, data.shown
        return main, ""

    def range(self, node: cst.CSTNode):
        return self._owner(node)[0].range(node)

    def position(self, node: cst.CSTNode):
        return self._owner(node)[0].position(node)

    def code(self, node: cst.CSTNode) -> str:
        return self._owner(node)[0].code(node)

    def text(self, node: cst.CSTNode) -> str:
        return self._owner(node)[0].text(node)

    def file_of(self, node: cst.CSTNode) -> str:
        return self._owner(node)[1]


def project_for(filename: str, facts: ModuleFacts, overlay: Optional[dict[str, str]] = None) -> Optional[Project]:
    """The project of a checked file on disk; None for text with no file (stdin, a rule's example).
    `overlay`: absolute path → text, for modules a fix has changed but not yet written."""
    if filename.startswith("<") or not os.path.isfile(filename):
        return None
    return Project(filename, facts, overlay)


class ProjectResolution:
    """The resolver's side (a mixin of resolve.Resolver): names imported from project modules."""

    project: Optional[Project] = None

    def follow_project(self, binding: Binding, scope: Scope):
        """lookup()'s answer for an import binding of a project module's name, or None."""
        found = self._project_names.get(id(binding), False)
        if found is False:
            found = self._project_names[id(binding)] = follow_import(self.project, binding, scope)
            self._project_used()
        return found

    def _project_used(self) -> None:
        if (self.project.modules or self.project.data_files) and not isinstance(self.facts, ProjectFacts):
            self.facts = ProjectFacts(self.project)

    def project_module(self, node: cst.BaseExpression, ctx) -> Optional[ModuleFacts]:
        """The project module `node` (`models`, `pkg.models`) names, when it names one."""
        if self.project is None:
            return None
        if isinstance(node, cst.Name):
            binding, scope, ambiguous = self.lookup(node.value, ctx)
            if binding is None or ambiguous or binding.kind != BindingKind.IMPORT:
                return None
            found = module_binding(self.project, binding, scope)
        elif isinstance(node, cst.Attribute):
            outer = self.project_module(node.value, ctx)
            if outer is None:
                return None
            name = node.attr.value
            candidates = outer.root.bindings.get(name)
            if candidates:
                binding = candidates[-1]
                found = module_binding(self.project, binding, outer.root) if not binding.path else None
            else:
                found = self.project.submodule(outer, name)
        else:
            return None
        self._project_used()
        return found

    def project_member(self, node: cst.Attribute, ctx):
        """The context in which `module.name` reads `name`, when `module` is a project module."""
        module = self.project_module(node.value, ctx) if self.project is not None else None
        if module is None or node.attr.value not in module.root.bindings:
            return None
        return Context(module.root, None)

    def star_name(self, name: str, scope: Scope):
        """lookup()'s answer for a name no scope binds: a star-imported project module's, or none."""
        root = scope
        while root.parent is not None:
            root = root.parent
        if not self.project.main.star_modules and root is self.project.main.root:
            return None, None, False  # the usual case (a builtin, a name never bound): no star import
        for module in self.project.stars(root):
            candidates = module.root.bindings.get(name)
            if candidates:
                self._project_used()
                last = candidates[-1]
                return last, module.root, bool(last.path)
        return None, None, False

    def import_note(self, qualname: str) -> str:
        """Why an import of the project is not followed, when it is one that is not."""
        why = self.project.refused.get(qualname, "") if self.project is not None else ""
        return f" (not followed: {why})" if why else ""
