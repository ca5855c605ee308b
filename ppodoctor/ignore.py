"""Which paths .gitignore files exclude from a directory walk, as git decides it.

Each .gitignore speaks for its own directory and below, in paths relative to itself; the deepest file
with a matching pattern decides (and within one file the last matching pattern), and a directory it
excludes is never entered, so nothing under it can be re-included. Above the walk root, the
.gitignore files up to the repository's top (the directory holding .git) and .git/info/exclude count
too. pathspec is imported only when a walk meets an ignore file (it costs ~20 ms of start-up).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional


@dataclass(frozen=True)
class _Layer:
    spec: Any  # pathspec.GitIgnoreSpec
    prefix: str  # the walk root's path relative to the ignore file's directory, with a trailing "/"
    cut: int  # characters of a walk-relative path that lie above the ignore file's directory


@dataclass(frozen=True)
class Ignores:
    layers: tuple[_Layer, ...] = ()

    @classmethod
    def above(cls, root: Path) -> Optional["Ignores"]:
        """The ignore files above the walk root that apply inside it; None when there are none."""
        try:
            resolved = root.resolve()
        except (OSError, RuntimeError):
            return None
        chain = [resolved, *resolved.parents]
        top = next((directory for directory in chain if os.path.exists(directory / ".git")), None)
        if top is None:
            return None
        layers = []
        candidates = [top / ".git" / "info" / "exclude"]
        candidates += [directory / ".gitignore" for directory in reversed(chain[1:chain.index(top) + 1])]
        for candidate in candidates:
            base = top if candidate.name == "exclude" else candidate.parent
            spec = _load(candidate)
            if spec is not None:
                relative = resolved.relative_to(base).as_posix()
                layers.append(_Layer(spec, "" if relative == "." else relative + "/", 0))
        return cls(tuple(layers)) if layers else None

    def below(self, directory: Path, inner: str) -> "Ignores":
        """These rules plus `directory`/.gitignore, for a directory at walk-relative path `inner`."""
        spec = _load(directory / ".gitignore")
        if spec is None:
            return self
        return Ignores(self.layers + (_Layer(spec, "", len(inner) + 1 if inner else 0),))

    def ignored(self, relative: str, is_directory: bool) -> bool:
        """Whether the walk-relative path `relative` (posix separators) is ignored."""
        suffix = "/" if is_directory else ""
        for layer in reversed(self.layers):
            verdict = layer.spec.check_file(layer.prefix + relative[layer.cut:] + suffix).include
            if verdict is not None:
                return verdict
        return False


def _load(path: Path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None  # unreadable or absent: git ignores it too
    if not any(line.strip() and not line.lstrip().startswith("#") for line in lines):
        return None
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)
