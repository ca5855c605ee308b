"""The files of one release of a package, read as text: from its wheel (the data generators) or from
the directory it is installed in (what the script's interpreter has). Nothing is extracted, compiled
or imported; paths are the wheel's (`trl/trainer/ppo_config.py`), relative to the directory that
holds the package (the sys.path entry it was found in).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, Optional, Union

from .installed import _header, normalize


class SourceTree:
    """What the readers need: does a file exist, its text, every file of the package, its METADATA."""

    def exists(self, path: str) -> bool:
        raise NotImplementedError

    def read(self, path: str) -> str:
        raise NotImplementedError

    def names(self) -> Iterator[str]:
        raise NotImplementedError

    def metadata(self) -> str:
        raise NotImplementedError


class WheelTree(SourceTree):
    """A wheel, read with zipfile (imported here only: `check` never reads a wheel)."""

    def __init__(self, wheel: Union[str, Path]) -> None:
        import zipfile

        self.zip = zipfile.ZipFile(wheel)
        self._names = set(self.zip.namelist())

    def exists(self, path: str) -> bool:
        return path in self._names

    def read(self, path: str) -> str:
        return self.zip.read(path).decode("utf-8")

    def names(self) -> Iterator[str]:
        return iter(sorted(self._names))

    def metadata(self) -> str:
        for name in sorted(self._names):
            if name.endswith(".dist-info/METADATA"):
                return self.read(name)
        return ""


class DirectoryTree(SourceTree):
    """An installed package: `root` is the directory holding `<package>/` (and, for a plain install,
    its `<name>-<version>.dist-info`, whose METADATA is the one with `version`)."""

    def __init__(self, root: str, package: str, version: Optional[str] = None) -> None:
        self.root, self.package, self.version = root, package, version
        self._exists: dict[str, bool] = {}

    def _path(self, path: str) -> str:
        return os.path.join(self.root, *path.split("/"))

    def exists(self, path: str) -> bool:
        found = self._exists.get(path)
        if found is None:
            found = self._exists[path] = os.path.isfile(self._path(path))
        return found

    def read(self, path: str) -> str:
        with open(self._path(path), encoding="utf-8") as stream:
            return stream.read()

    def names(self) -> Iterator[str]:
        top = os.path.join(self.root, self.package)
        for directory, subdirectories, files in os.walk(top):
            subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
            relative = os.path.relpath(directory, self.root).replace(os.sep, "/")
            for name in sorted(files):
                yield f"{relative}/{name}"

    def metadata(self) -> str:
        """The METADATA beside the package whose Version is `version` ("" where there is none: an
        editable install keeps its metadata elsewhere)."""
        try:
            children = sorted(os.listdir(self.root))
        except OSError:
            return ""
        for child in children:
            if not child.endswith(".dist-info") or normalize(child[:-10].partition("-")[0]) != normalize(self.package):
                continue
            try:
                with open(os.path.join(self.root, child, "METADATA"), encoding="utf-8") as stream:
                    text = stream.read()
            except OSError:
                continue
            if self.version is None or _header(text, "version") == self.version:
                return text
        return ""
