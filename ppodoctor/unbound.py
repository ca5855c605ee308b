"""Names a program reads that nothing binds: the guard every written fix and port passes.

A fix or a port may write a name (a new value model, an imported class, the tokenizer a port hands
to the new trainer); the guard is that the new text reads no global name the old text did not
already read unbound. Python's own `symtable` says, for every scope, which names are read as
globals; one is bound when the module binds it (assignment, import, def, class, a `global` write),
it is a builtin, or the module imports `*` (then it cannot be told: nothing is claimed). Written by
hand on the standard library, not with pyflakes: the guard needs one question answered the way
the compiler answers it, without a dependency for it.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
import warnings
from functools import lru_cache
from typing import Optional

# Bound in every module by the import system or the interpreter, though no statement binds them.
_MODULE_NAMES = frozenset({"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__",
                           "__builtins__", "__path__", "__cached__", "__annotations__"})
_STAR_IMPORT = re.compile(r"^[ \t]*from[ \t]+[\w.]+[ \t]+import[ \t]+\*", re.MULTILINE)
# IPython binds these in a notebook's namespace.
_NOTEBOOK_NAMES = frozenset({"get_ipython", "display", "In", "Out", "exit", "quit"})


@lru_cache(maxsize=8)  # a file's previews and fix rounds ask about the same original text again
def unbound_names(text: str, notebook: bool = False) -> Optional[frozenset[str]]:
    """The global names `text` reads that nothing binds; None when it cannot be told (the text does
    not compile, or it imports `*`)."""
    if _STAR_IMPORT.search(text):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = symtable.symtable(text, "<guard>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    bound = set(_builtin_names(notebook))
    for symbol in table.get_symbols():
        if symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace():
            bound.add(symbol.get_name())
    read: set[str] = set()
    pending = [table]
    while pending:
        scope = pending.pop()
        pending.extend(scope.get_children())
        for symbol in scope.get_symbols():
            if symbol.is_global() and symbol.is_assigned():
                bound.add(symbol.get_name())  # `global x; x = ...` inside a function binds it
            if symbol.is_referenced() and (scope is table or symbol.is_global()):
                read.add(symbol.get_name())
    return frozenset(read - bound)


@lru_cache(maxsize=8)
def read_too_early(text: str, notebook: bool = False) -> Optional[frozenset[str]]:
    """Names the module's top level reads, as it runs, before any statement above binds them (a
    NameError when the script runs, though something below binds them; builtins are bound from the
    start). Function and lambda bodies run later and are left out; a binding on any branch counts
    (leniently: it may have run)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    bound: set[str] = set(_builtin_names(notebook))
    early: set[str] = set()
    for statement in tree.body:
        reads, binds = _top_level_names(statement)
        early |= reads - bound
        bound |= binds
    return frozenset(early)


def _top_level_names(statement: ast.stmt) -> tuple[set[str], set[str]]:
    """(names read, names bound) by one statement as the module runs it."""
    reads: set[str] = set()
    binds: set[str] = set()
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            binds.add(node.name)
            pending.extend(node.decorator_list)
            if isinstance(node, ast.ClassDef):
                pending.extend(node.bases)
            else:
                pending.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, ast.Lambda):
            pending.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            pending.append(node.generators[0].iter)  # the rest reads the comprehension's own names
            continue
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else binds).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            binds.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            binds.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            binds.update(node.names)
        pending.extend(ast.iter_child_nodes(node))
    return reads - binds if isinstance(statement, (ast.For, ast.While, ast.If, ast.Try, ast.With)) else reads, binds


def new_unbound(before: str, after: str, notebook: bool = False) -> frozenset[str]:
    """The names `after` reads where nothing binds them (anywhere, or above the read at the top
    level) that `before` did not; nothing when either text cannot be told."""
    found: frozenset[str] = frozenset()
    for names in (unbound_names, read_too_early):
        old, new = names(before, notebook), names(after, notebook)
        if old is not None and new is not None:
            found |= new - old
    return found


def why_unbound(before: str, after: str, notebook: bool = False) -> str:
    """"would read `x` where nothing binds it" when `after` reads names `before` did not read unbound
    (new_unbound); "" when it reads none: the one wording of the guard for fixes and ports."""
    unbound = new_unbound(before, after, notebook)
    if not unbound:
        return ""
    return "would read " + ", ".join(f"`{name}`" for name in sorted(unbound)) + " where nothing binds it"


@lru_cache(maxsize=2)
def _builtin_names(notebook: bool) -> frozenset[str]:
    return frozenset(dir(builtins)) | _MODULE_NAMES | (_NOTEBOOK_NAMES if notebook else frozenset())
