"""The era table's "imports" section: what every trl module lets a script import, release by release.

Per release (`describe`): every module of the wheel, and for each one the names it binds (see
trl_import_names.py), which of them are conditional, which are deprecated shims (a class whose
__init__ warns with a FutureWarning/DeprecationWarning), its `__all__`, and a fingerprint of what
each name finally is (its defining statement, or the external object it imports), so that a name
found in another module of another release can be told to be the same object or not.

Across releases (`encode`): masks, bit i for the i-th release in `versions`, as hex strings; one
string per module so that ppodoctor decodes only the modules a script imports from:
  modules:     {module: mask}                      where the module exists
  names:       {module: "a b c|x:mask y:mask"}     names present wherever the module is, then the rest;
                                                   a module without a row is not covered
  conditional: {module: "x:mask ..."}              bound only on some paths (optional dependencies)
  deprecated:  {module: "x:mask ..."}              importable, warns when used
  star:        {module: "x:mask ..."}              listed in the module's literal `__all__`
  moves:       {module: "x:mask:home:same ..."}    where a name the module lacks lives in those
                                                   releases; same=1 when it is the same object
Every module is listed in `modules`; names are recorded for the modules a script imports from
(`covered`): not for the command-line entry points (trl.cli, trl.commands.scripts, trl.scripts.*
other than trl.scripts.utils) nor the inner modules of experimental trainers other than PPO
(`trl.experimental.gold.gold_trainer`; their package `trl.experimental.gold` is covered).
Private names (a leading underscore) are left out, except `__version__` and `__all__`.

The module reader is ppodoctor's (ppodoctor/trl_api/module_names.py), shared with `ppodoctor check`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Optional

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ppodoctor.trl_api.module_names import KEPT_PRIVATE, Release, star_names, warns_on_use  # noqa: E402


def _wanted(name: str) -> bool:
    return not name.startswith("_") or name in KEPT_PRIVATE


def covered(module: str) -> bool:
    parts = module.split(".")
    if parts[1:2] == ["cli"] or parts[1:3] == ["commands", "scripts"]:
        return False
    if parts[1:2] == ["scripts"] and len(parts) > 2 and parts[2] != "utils":
        return False
    return not (parts[1:2] == ["experimental"] and len(parts) > 3 and parts[2] != "ppo")


def _public_module(module: str) -> bool:
    return not any(part.startswith("_") for part in module.split("."))


@dataclass
class ReleaseImports:
    modules: list[str]
    names: dict[str, dict[str, str]]  # module → name → "ok" | "maybe" | "deprecated"
    star: dict[str, list[str]]
    fingerprints: dict[tuple[str, str], str] = field(default_factory=dict)  # (module, name) → object id
    exported: set[tuple[str, str]] = field(default_factory=set)  # names a module offers, not just uses

    def view(self) -> dict:
        return {"modules": sorted(self.modules), "names": {m: row for m, row in self.names.items() if row},
                "star": self.star}


def describe(release: Release) -> ReleaseImports:
    modules = release.modules()
    names: dict[str, dict[str, str]] = {}
    star: dict[str, list[str]] = {}
    fingerprints: dict[tuple[str, str], str] = {}
    exported: set[tuple[str, str]] = set()
    for module in filter(covered, modules):
        bound = release.bound(module)
        listed = star_names(release, module)
        if listed is not None:
            star[module] = sorted(listed)
        entries = {}
        for name, entry in bound.items():
            if not _wanted(name):
                continue
            status = "maybe" if entry.conditional else "ok"
            klass = release.defining_class(module, name)
            if klass is not None and warns_on_use(klass[1]):
                status = "deprecated"
            entries[name] = status
            definition = release.definition(module, name)
            if definition is not None and definition[0] in ("trl", "external"):
                # "t…" for trl's own objects, "x…" for what trl imports from elsewhere.
                digest = hashlib.sha1(repr((definition[0], definition[2])).encode()).hexdigest()[:12]
                fingerprints[(module, name)] = definition[0][0].replace("e", "x") + digest
            if entry.kind != "import" or release.is_package(module) or (listed and name in listed):
                exported.add((module, name))
        names[module] = dict(sorted(entries.items()))  # an empty row still says "covered"
    return ReleaseImports(modules, names, star, fingerprints, exported)


def _hex(mask: int) -> str:
    return format(mask, "x")


def _pairs(masks: dict[str, int]) -> str:
    return " ".join(f"{name}:{_hex(mask)}" for name, mask in sorted(masks.items()))


def encode(versions: list[str], releases: list[ReleaseImports]) -> dict:
    modules: dict[str, int] = {}
    names: dict[str, dict[str, int]] = {}
    conditional: dict[str, dict[str, int]] = {}
    deprecated: dict[str, dict[str, int]] = {}
    star: dict[str, dict[str, int]] = {}
    for index, release in enumerate(releases):
        bit = 1 << index
        for module in release.modules:
            modules[module] = modules.get(module, 0) | bit
        for module, entries in release.names.items():
            for name, status in entries.items():
                for table, wanted in ((names, True), (conditional, status == "maybe"),
                                      (deprecated, status == "deprecated")):
                    if wanted:
                        row = table.setdefault(module, {})
                        row[name] = row.get(name, 0) | bit
        for module, listed in release.star.items():
            row = star.setdefault(module, {})
            for name in listed:
                row[name] = row.get(name, 0) | bit
    encoded_names = {}
    for module in sorted({m for release in releases for m in release.names}):
        row = names.get(module, {})
        everywhere = " ".join(sorted(n for n, mask in row.items() if mask == modules[module]))
        encoded_names[module] = everywhere + "|" + _pairs({n: m for n, m in row.items() if m != modules[module]})
    moves = _moves(versions, releases, names)
    return {
        "versions": list(versions),
        "modules": {module: _hex(mask) for module, mask in sorted(modules.items())},
        "names": encoded_names,
        "conditional": {m: _pairs(row) for m, row in sorted(conditional.items())},
        "deprecated": {m: _pairs(row) for m, row in sorted(deprecated.items())},
        "star": {m: _pairs(row) for m, row in sorted(star.items())},
        "moves": moves,
    }


def _moves(versions: list[str], releases: list[ReleaseImports], names: dict[str, dict[str, int]]) -> dict:
    """For each (module, name) in the releases that lack it: the best other module that has it."""
    providers: list[dict[str, list[str]]] = []
    for release in releases:
        index: dict[str, list[str]] = {}
        for module, entries in release.names.items():
            if not _public_module(module):
                continue
            for name, status in entries.items():
                if status != "maybe":
                    index.setdefault(name, []).append(module)
        providers.append(index)
    moves: dict[str, str] = {}
    for module, row in sorted(names.items()):
        groups: dict[tuple[str, int], int] = {}
        for name, mask in sorted(row.items()):
            if name.startswith("_"):
                continue
            for index, release in enumerate(releases):
                if mask >> index & 1:
                    continue
                reference = _nearest(mask, index, len(releases))
                fingerprint = releases[reference].fingerprints.get((module, name))
                if fingerprint is None or fingerprint.startswith("x") or (module, name) not in releases[reference].exported:
                    continue  # only what trl itself offers moves, not `torch` or a helper a trainer imports
                home = _best_home(release, providers[index].get(name, ()), name, fingerprint)
                if home is not None:
                    key = (name, home[0], int(home[1]))
                    groups[key] = groups.get(key, 0) | 1 << index
        if groups:
            moves[module] = " ".join(f"{name}:{_hex(mask)}:{home}:{same}"
                                     for (name, home, same), mask in sorted(groups.items()))
    return moves


def _nearest(mask: int, index: int, count: int) -> int:
    """The release closest to `index` that has the name: the last one before it, else the first after."""
    for other in range(index - 1, -1, -1):
        if mask >> other & 1:
            return other
    return next(other for other in range(index + 1, count) if mask >> other & 1)


def _best_home(release: ReleaseImports, candidates, name: str, fingerprint: str) -> Optional[tuple[str, bool]]:
    offered = [m for m in candidates if (m, name) in release.exported
               and release.fingerprints.get((m, name), "").startswith("t")]
    ranked = sorted(offered, key=lambda m: (release.fingerprints.get((m, name)) != fingerprint, m.count("."), m))
    if not ranked:
        return None
    home = ranked[0]
    return home, release.fingerprints.get((home, name)) == fingerprint
