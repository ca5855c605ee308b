"""The version of an installed distribution, read from its metadata directory on sys.path.

`importlib.metadata.version` gives the same answer but costs ~25 ms to import (email, zipfile,
csv...), a sixth of a whole `ppodoctor check`. For the plain layout (directories on sys.path holding
`<name>-<version>.dist-info` or `.egg-info`), this follows its search exactly: entries in sys.path
order, the first directory whose normalized name matches wins, the version is the `Version:` header
of METADATA, else PKG-INFO. Layouts it does not read (zip files and `.egg` directories on the path,
finders with their own distributions) are handed to importlib.metadata.

`installations` also says where the import package of each distribution lives: the directory
holding `<name>/__init__.py` beside the metadata directory that gave the version (for an editable
install, the project its direct_url.json names), so that installed_facts.py can read its source.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Iterable, Optional

_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503 name comparison as importlib.metadata does it: lower case, `-_.` runs → `_`."""
    return _SEPARATORS.sub("_", name).lower()


def version(name: str, path: Optional[Iterable[str]] = None) -> Optional[str]:
    """The installed version of distribution `name` (None when it is not installed)."""
    return versions((name,), path)[name]


def versions(names: Iterable[str], path: Optional[Iterable[str]] = None) -> dict[str, Optional[str]]:
    """{name: installed version or None}, listing each sys.path directory once for all names."""
    return {name: found[0] for name, found in installations(names, path).items()}


def installations(names: Iterable[str], path: Optional[Iterable[str]] = None
                  ) -> dict[str, tuple[Optional[str], str]]:
    """{name: (installed version or None, the directory holding its import package `name/`, or "")}."""
    names = tuple(names)
    entries = list(sys.path if path is None else path)
    found = _search({normalize(name): name for name in names}, entries) if not _other_finders() else None
    if found is None:
        return {name: _importlib_installation(name, entries) for name in names}
    return found


def _other_finders() -> bool:
    # A meta-path finder other than the standard PathFinder may supply distributions of its own,
    # ahead of sys.path; only importlib.metadata knows how to ask it.
    from importlib.machinery import PathFinder

    return any(finder is not PathFinder and hasattr(finder, "find_distributions") for finder in sys.meta_path)


def _search(wanted: dict[str, str], entries: list) -> Optional[dict[str, tuple[Optional[str], str]]]:
    """{name: (version or None, package root)}; None when an entry is read only by importlib.metadata."""
    found: dict[str, tuple[Optional[str], str]] = {}
    for entry in entries:
        if len(found) == len(wanted):
            break
        try:
            root = os.fspath(entry)
        except TypeError:
            return None
        if os.path.basename(root).lower().endswith(".egg") or os.path.isfile(root):
            return None  # an egg or a zip: importlib.metadata reads those
        try:
            children = os.listdir(root or ".")
        except OSError:
            continue  # importlib.metadata skips entries it cannot list, and so do we
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")):
                name = wanted.get(normalize(low.rpartition(".")[0].partition("-")[0]))
                if name is not None and name not in found:  # the first one found wins
                    info = os.path.join(root or ".", child)
                    found[name] = (_version_of(info), package_root(root or ".", info, name))
    # Every entry up to the last needed was read: what is not found is not installed.
    return {name: found.get(name, (None, "")) for name in wanted.values()}


def package_root(root: str, info: str, name: str) -> str:
    """The directory holding the import package `name` of the distribution whose metadata is `info`
    in sys.path entry `root`: `root` itself for a plain install; for an editable one, its project
    (or the project's src/) as direct_url.json names it; "" where the package is not found."""
    package = name.replace("-", "_")
    if os.path.isfile(os.path.join(root, package, "__init__.py")):
        return root
    try:
        with open(os.path.join(info, "direct_url.json"), encoding="utf-8") as stream:
            text = stream.read()
    except OSError:
        return ""
    return editable_root(text, package)


def editable_root(direct_url: str, package: str) -> str:
    import json

    try:
        data = json.loads(direct_url)
        url = data["url"] if data.get("dir_info", {}).get("editable") else ""
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""
    if not url.startswith("file://"):
        return ""
    from urllib.parse import unquote, urlparse

    project = unquote(urlparse(url).path)
    for candidate in (project, os.path.join(project, "src")):
        if os.path.isfile(os.path.join(candidate, package, "__init__.py")):
            return candidate
    return ""


def _version_of(info: str) -> Optional[str]:
    """The Version header of a metadata directory (or of an old single-file egg-info)."""
    for candidate in (os.path.join(info, "METADATA"), os.path.join(info, "PKG-INFO"), info):
        try:
            with open(candidate, encoding="utf-8") as stream:
                text = stream.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            continue
        if not text:
            continue
        return _header(text, "version") or _from_directory_name(info)
    return _from_directory_name(info)


def _header(text: str, wanted: str) -> Optional[str]:
    for line in text.splitlines():
        if not line.strip():
            return None  # the headers end at the first blank line
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() == wanted:
            return value.strip()
    return None


def _from_directory_name(info: str) -> Optional[str]:
    stem = os.path.basename(info).rpartition(".")[0]
    _name, dash, rest = stem.partition("-")
    return rest.partition("-")[0] or None if dash else None


def _importlib_installation(name: str, entries: list) -> tuple[Optional[str], str]:
    import importlib.metadata

    try:
        found = next(iter(importlib.metadata.distributions(name=name, path=entries)))
    except StopIteration:
        return None, ""
    package, root = name.replace("-", "_"), ""
    try:
        where = str(found.locate_file(""))
        if os.path.isfile(os.path.join(where, package, "__init__.py")):
            root = where
        else:
            root = editable_root(found.read_text("direct_url.json") or "", package)
    except (OSError, ValueError, TypeError, NotImplementedError):
        root = ""
    return found.version, root
