"""Paths a script builds from where it lives: `__file__`, pathlib's `.resolve()`, `.absolute()`,
`.parent`, `.name`, `.joinpath(...)` and `os.path.dirname` / `abspath` / `realpath` / `normpath` /
`basename` of paths the source shows (a mixin of values.ValueResolution, so of resolve.Resolver).

`__file__` is the path of the file being checked (of a project module followed, that module's), as
Python sets it for a script it runs; a text with no file (stdin, a rule's example) and a notebook
(which has no `__file__`) leave it unknown. A path is a string here, as `Path(x)` is (values.py).
Making a relative path absolute depends on the directory the run starts in, which the source does
not show: unknown. `.resolve()` of an absolute path follows symbolic links on this machine, the one
the run starts from, as the script's own `.resolve()` will.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import PurePosixPath

import libcst as cst

from ..types import UNKNOWN, ValueKind
from .context import Context
from .facts import BindingKind
from .built import PATH_CLASSES
from .model import Value

# pathlib properties of a path that are paths or names again
_PROPERTIES = {"parent": lambda p: str(PurePosixPath(p).parent), "name": lambda p: PurePosixPath(p).name,
               "stem": lambda p: PurePosixPath(p).stem, "suffix": lambda p: PurePosixPath(p).suffix}
_ABSOLUTE = {"resolve": os.path.realpath, "absolute": lambda p: p}  # of a path already absolute
_OS_PATH = {"os.path.dirname": posixpath.dirname, "os.path.basename": posixpath.basename,
            "os.path.normpath": posixpath.normpath, "os.path.abspath": posixpath.normpath,
            "os.path.realpath": os.path.realpath}
_NEEDS_ABSOLUTE = frozenset({"os.path.abspath", "os.path.realpath"})
_PATH_METHODS = frozenset({"resolve", "absolute", "joinpath", "with_name", "with_suffix", "expanduser"})


def _known(value) -> bool:
    return value.kind == ValueKind.LITERAL and isinstance(value.value, str)


class PathValues:
    def script_file(self, ctx: Context, text: str):
        """`__file__` where no assignment binds it: the path of the module `ctx` is in."""
        scope = ctx.scope
        found = self.project.file_of_scope(scope) if self.project is not None and scope is not None else None
        if found is None:
            return Value(UNKNOWN, None, text, "`__file__`: the text checked has no file (stdin or a text)")
        if found.endswith(".ipynb"):
            return Value(UNKNOWN, None, text, "a notebook has no `__file__`")
        return Value(ValueKind.LITERAL, found, text)

    def is_path(self, node: cst.BaseExpression, ctx: Context, depth: int = 0) -> bool:
        """Whether `node` visibly holds a pathlib path: `Path(...)`, a path's `/`, `.parent` or path
        method, or a name one assignment binds to such."""
        if depth > 24:
            return False
        if isinstance(node, cst.Call):
            if self.qualname(node.func, ctx) in PATH_CLASSES:
                return True
            return isinstance(node.func, cst.Attribute) and node.func.attr.value in _PATH_METHODS \
                and self.is_path(node.func.value, ctx, depth + 1)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            return True  # `/` of two strings raises: the one that runs makes a path
        if isinstance(node, cst.Attribute) and node.attr.value == "parent":
            return self.is_path(node.value, ctx, depth + 1)
        if isinstance(node, cst.Name):
            binding, scope, ambiguous = self.lookup(node.value, ctx)
            if binding is not None and not ambiguous and binding.kind == BindingKind.ASSIGN \
                    and binding.value is not None and not binding.index:
                return self.is_path(binding.value, self.context_for(binding, scope, ctx), depth + 1)
        return False

    def path_attribute(self, node: cst.Attribute, ctx: Context, text: str, depth: int):
        """`.parent`, `.name`, `.stem`, `.suffix` of a known pathlib path; None for other attributes."""
        prop = _PROPERTIES.get(node.attr.value)
        if prop is None or not self.is_path(node.value, ctx):
            return None
        base = self.value(node.value, ctx, depth + 1)
        if not _known(base):
            return Value(UNKNOWN, None, text, base.reason or f"`{self.text(node.value)}` is not known")
        return Value(ValueKind.LITERAL, prop(base.value), text)

    def path_call(self, node: cst.Call, ctx: Context, callee: str, text: str, depth: int):
        """A path method of a known path, or an `os.path` function of a known string; None for other calls."""
        if any(a.star for a in node.args):
            return None
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
        if callee in _OS_PATH and len(node.args) == 1 and not node.args[0].keyword:
            base, name, change = self.value(node.args[0].value, ctx, depth + 1), callee, _OS_PATH[callee]
        elif (method in _ABSOLUTE or method == "joinpath") and self.is_path(node.func.value, ctx):
            base, name, change = self.value(node.func.value, ctx, depth + 1), method, _ABSOLUTE.get(method)
        else:
            return None
        if not _known(base):
            return Value(UNKNOWN, None, text, base.reason or f"the path in `{text}` is not known")
        if name == "joinpath":
            parts = [self.value(a.value, ctx, depth + 1) for a in node.args]
            if node.args and not any(a.keyword for a in node.args) and all(_known(p) for p in parts):
                return Value(ValueKind.LITERAL, posixpath.join(base.value, *(p.value for p in parts)), text)
            return Value(UNKNOWN, None, text, f"a part of `{text}` is not known")
        if node.args and name in _ABSOLUTE:
            return None  # `.resolve(strict=True)` and the like: left as a call
        if (name in _ABSOLUTE or name in _NEEDS_ABSOLUTE) and not posixpath.isabs(base.value):
            return Value(UNKNOWN, None, text, f"`{text}` depends on the directory the run starts in")
        return Value(ValueKind.LITERAL, change(base.value), text)

    def path_reason(self, node: cst.BinaryOperation, ctx: Context, depth: int) -> str:
        """Why a path joined with `/` is not known: its first part that is not."""
        for side in (node.left, node.right):
            part = self.value(side, ctx, depth + 1)
            if not _known(part):
                return part.reason or f"`{self.text(side)}` is not known"
        return f"`{self.text(node)}` is computed at run time"
