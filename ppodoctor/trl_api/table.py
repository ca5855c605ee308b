"""The era table (table.json, generated from real TRL releases): plain JSON, loaded once, on demand.

For an installed TRL release the table did not measure, the target's own, the answers about that
release (its trainer, its config, its modules' names) come from its source instead
(installed_facts.py: read on the first question, once per run).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Optional

from . import installed_facts
from .eras import Version

TABLE_PATH = Path(__file__).with_name("table.json")
# Names TRL renamed rather than moved: PPOv2Trainer became PPOTrainer in 0.12.
RENAMED_NAMES = {"PPOv2Trainer": "PPOTrainer", "PPOv2Config": "PPOConfig"}


@lru_cache(maxsize=1)
def load() -> dict:
    return json.loads(TABLE_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def known_versions() -> tuple[Version, ...]:
    return tuple(sorted(Version.parse(v) for v in load()["versions"]))


@lru_cache(maxsize=64)
def _entry_key(version: Version) -> str:
    base = version.base
    chosen = known_versions()[0]
    for known in known_versions():
        if known <= base or (known.major, known.minor) == (base.major, base.minor):
            chosen = known
    return str(chosen)


def _installed_entry(version: Version) -> Optional[dict]:
    """`version`'s entry read from its installation, for a release the table did not measure."""
    if not installed_facts.registered("trl") or version in known_versions():
        return None
    return installed_facts.trl_entry(version)


def _ask_installed(version: Version, question) -> object:
    """question(release) of the installed release answering for `version`, else UNREADABLE."""
    if _installed_entry(version) is None:
        return installed_facts.UNREADABLE
    return installed_facts.ask(version, question)


def measured(version: Version) -> Version:
    """The measured release whose entry describes `version` (itself, for one read from its installation)."""
    if _installed_entry(version) is not None:
        return version
    return Version.parse(_entry_key(version))


def facts(version: Version) -> dict:
    """The table entry describing `version`: the newest measured release at or below it, or for an
    installed release the table did not measure, the same facts read from its source.

    A patch release reads like its minor release (0.12.0 like 0.12.2): TRL changed PPO's API only
    in minor releases. A pre-release reads like its release (0.13.0rc1 like 0.13.0), as eras do.
    """
    entry = _installed_entry(version)
    return entry if entry is not None else load()["versions"][_entry_key(version)]


def has_ppo(version: Version) -> bool:
    return bool(facts(version)["has_ppo"])


def trainer_parameters(version: Version) -> tuple[str, ...]:
    return tuple(p["name"] for p in facts(version)["trainer_params"])


def required_parameters(version: Version) -> tuple[str, ...]:
    return tuple(p["name"] for p in facts(version)["trainer_params"] if p["required"])


def deprecated_keywords(version: Version) -> dict[str, str]:
    """Old keyword → new keyword, for keywords the trainer still accepts with a warning."""
    return {old: info["new"] for old, info in facts(version)["deprecated_keywords"].items()}


def config_fields(version: Version) -> frozenset[str]:
    """Keywords PPOConfig accepts in `version` (its TRL fields and, from 0.12, TrainingArguments')."""
    entry = facts(version)
    fields = set(entry["config_fields"])
    if entry["config_inherits_training_arguments"]:
        fields.update(load()["training_arguments_overlap"])
    return frozenset(fields)


@lru_cache(maxsize=1)
def every_config_field() -> frozenset[str]:
    names = set(load()["training_arguments_overlap"])
    for entry in load()["versions"].values():
        names.update(entry["config_fields"])
    return frozenset(names)


def config_renames() -> dict[str, str]:
    return dict(load()["config_renames"])


def tracked_names() -> frozenset[str]:
    return frozenset(load()["tracked_names"])


# --- imports: what each trl module lets a script import, release by release ----------------------
@lru_cache(maxsize=1)
def imports() -> "ImportTable":
    return ImportTable(load()["imports"])


def module_state(module: str, version: Version) -> Optional[bool]:
    """True: `module` exists in `version`; False: it does not; None: no measured release has it."""
    answer = _ask_installed(version, lambda release: release.module_path(module) is not None)
    if answer is not installed_facts.UNREADABLE:
        return answer
    return imports().module_state(module, _entry_key(version))


def module_exists(module: str, version: Version) -> bool:
    return module_state(module, version) is True


def name_status(module: str, name: str, version: Version) -> Optional[str]:
    """"ok", "deprecated" (importable, warns when used) or None (ImportError).

    "ok" includes names bound only where an optional dependency is installed, and submodules
    (`from trl.trainer import utils`).
    """
    answer = _ask_installed(version, lambda release: release.status(module, name))
    if answer is not installed_facts.UNREADABLE:
        return answer
    return imports().status(module, name, _entry_key(version))


def covered(module: str) -> bool:
    """Whether the table records `module`'s names (it lists every module, but not every one's names)."""
    return imports().covered(module)


def name_known(module: str, name: str) -> bool:
    """Whether any measured release has `name` in `module` (as a name or a submodule)."""
    return imports().known(module, name)


def is_ppo_module(module: str) -> bool:
    """A module of PPO's own (trainer, config, value-head wrappers, the old `trl.core` helpers)."""
    last = module.rsplit(".", 1)[-1]
    return module.startswith("trl.experimental.ppo") or module == "trl.core" or last.startswith("ppo") \
        or last == "modeling_value_head"


def home_of(name: str, version: Version) -> Optional[str]:
    """The best module to import `name` from in `version`: a public package where it is "ok"."""
    for module in ("trl.experimental.ppo", "trl", "trl.models", "trl.core", "trl.trainer"):
        if name_status(module, name, version) == "ok":
            return module
    return None


def moved_to(module: str, name: str, version: Version) -> Optional[tuple[str, bool]]:
    """Where `version` keeps a `name` that `module` lacks there, and whether it is the same object.
    For an installed release: the move of the measured release at or below it, where it still has
    the name there."""
    moved = imports().moved_to(module, name, _entry_key(version))
    if moved is not None and _installed_entry(version) is not None \
            and _ask_installed(version, lambda release: release.status(moved[0], name)) is None:
        return None
    return moved


def history(module: str, name: str = "") -> tuple[tuple[Version, bool], ...]:
    """(release, present) for every measured release: the module's, or one name's in it."""
    table = imports()
    return tuple((Version.parse(v), table.present(module, name, v)) for v in table.versions)


def first_version_without(module: str) -> Optional[Version]:
    seen = False
    for known, present in history(module):
        seen = seen or present
        if seen and not present:
            return known
    return None


def star_names(module: str, version: Version) -> frozenset[str]:
    """What `from module import *` binds: its `__all__`, or its public names."""
    answer = _ask_installed(version, lambda release: _installed_star_names(release, module))
    if answer is not installed_facts.UNREADABLE:
        return answer
    return imports().star_names(module, _entry_key(version))


def _installed_star_names(release, module: str) -> frozenset[str]:
    # the source reader loads only for an unmeasured installed release: off check's start-up
    from .module_names import star_names

    if release.lookup(module, "__all__") is not None:
        return frozenset(star_names(release, module) or ())
    return frozenset(name for name in release.bound(module) if not name.startswith("_"))


class ImportTable:
    """table.json's "imports" section (written by scripts/trl_import_table.py), decoded per module.

    Masks are hex strings, bit i for the i-th release of `versions`; a module's row is decoded the
    first time a script imports from it.
    """

    def __init__(self, section: dict) -> None:
        self.section = section
        self.versions: list[str] = section["versions"]
        self._bits = {v: i for i, v in enumerate(self.versions)}
        self._rows: dict[tuple[str, str], dict] = {}

    def _row(self, kind: str, module: str) -> dict[str, int]:
        cached = self._rows.get((kind, module))
        if cached is None:
            text = self.section[kind].get(module, "")
            cached = {}
            if kind == "names":
                everywhere, _bar, text = text.partition("|")
                every = int(self.section["modules"].get(module, "0"), 16)
                cached = dict.fromkeys(everywhere.split(), every)
            for pair in text.split():
                name, _colon, mask = pair.partition(":")
                cached[name] = int(mask, 16)
            self._rows[(kind, module)] = cached
        return cached

    def _has(self, kind: str, module: str, name: str, version: str) -> bool:
        return bool(self._row(kind, module).get(name, 0) >> self._bits[version] & 1)

    def module_state(self, module: str, version: str) -> Optional[bool]:
        mask = self.section["modules"].get(module)
        return None if mask is None else bool(int(mask, 16) >> self._bits[version] & 1)

    def present(self, module: str, name: str, version: str) -> bool:
        if not name:
            return bool(self.module_state(module, version))
        return self._has("names", module, name, version) or bool(self.module_state(f"{module}.{name}", version))

    def status(self, module: str, name: str, version: str) -> Optional[str]:
        if not self.present(module, name, version):
            return None
        return "deprecated" if self._has("deprecated", module, name, version) else "ok"

    def conditional(self, module: str, name: str, version: str) -> bool:
        return self._has("conditional", module, name, version)

    def covered(self, module: str) -> bool:
        return module in self.section["names"]

    def known(self, module: str, name: str) -> bool:
        return name in self._row("names", module) or f"{module}.{name}" in self.section["modules"]

    def star_names(self, module: str, version: str) -> frozenset[str]:
        if self._has("names", module, "__all__", version):
            return frozenset(n for n, mask in self._row("star", module).items() if mask >> self._bits[version] & 1)
        return frozenset(n for n, mask in self._row("names", module).items()
                         if not n.startswith("_") and mask >> self._bits[version] & 1)

    def moved_to(self, module: str, name: str, version: str) -> Optional[tuple[str, bool]]:
        bit = self._bits[version]
        for entry in self.section["moves"].get(module, "").split():
            moved, mask, home, same = entry.split(":")
            if moved == name and int(mask, 16) >> bit & 1:
                return home, same == "1"
        return None

    def view(self, version: str) -> dict:
        """One release as the generator describes it (scripts/trl_import_table.py: ReleaseImports.view)."""
        bit = self._bits[version]
        modules = sorted(m for m, mask in self.section["modules"].items() if int(mask, 16) >> bit & 1)
        names: dict[str, dict[str, str]] = {}
        for module in self.section["names"]:
            row = {}
            for name, mask in sorted(self._row("names", module).items()):
                if mask >> bit & 1:
                    row[name] = ("deprecated" if self._has("deprecated", module, name, version)
                                 else "maybe" if self.conditional(module, name, version) else "ok")
            if row:
                names[module] = row
        star = {}
        for module in self.section["star"]:
            listed = sorted(n for n, mask in self._row("star", module).items() if mask >> bit & 1)
            if listed or self._has("names", module, "__all__", version):
                star[module] = listed
        return {"modules": modules, "names": names, "star": star}


def requires_transformers(version: Version) -> str:
    return facts(version)["requires_transformers"]


# --- successors.json: the trainers PPO scripts are ported to, and PPOConfig's defaults --------------
# A separate file, read only by `ppodoctor migrate`: `check` never parses it.
SUCCESSORS_PATH = Path(__file__).with_name("successors.json")


@lru_cache(maxsize=1)
def _successor_table() -> dict:
    return json.loads(SUCCESSORS_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def successor_versions() -> tuple[Version, ...]:
    return tuple(sorted(Version.parse(v) for v in _successor_table()["versions"]))


def _successor_entry(version: Version) -> dict:
    chosen = successor_versions()[0]
    for known in successor_versions():
        if known <= version or (known.major, known.minor) == (version.major, version.minor):
            chosen = known
    return _successor_table()["versions"][str(chosen)]


def successor(trainer: str, version: Version) -> Optional[dict]:
    """RLOOTrainer / GRPOTrainer in `version` (its parameters, config and config fields), or None."""
    return _successor_entry(version)["successors"].get(trainer)


def successor_parameters(trainer: str, version: Version) -> tuple[str, ...]:
    entry = successor(trainer, version)
    return tuple(p["name"] for p in entry["params"]) if entry else ()


def successor_required(trainer: str, version: Version) -> tuple[str, ...]:
    entry = successor(trainer, version)
    return tuple(p["name"] for p in entry["params"] if p["required"]) if entry else ()


def successor_config_fields(trainer: str, version: Version) -> dict[str, dict]:
    """The new config's own fields (TRL's, not TrainingArguments'): name → {"default": v} or {"expr": text}."""
    entry = successor(trainer, version)
    return dict(entry["config_fields"]) if entry else {}


def first_successor_version(trainer: str) -> Optional[Version]:
    for known in successor_versions():
        if trainer in _successor_table()["versions"][str(known)]["successors"]:
            return known
    return None


def bracketed_ppo_config_defaults(version: Version, names: tuple[str, ...]) -> Optional[dict]:
    """PPOConfig's defaults of `names` in `version`, where the data vouches for them: `version` is a
    measured release, or the measured releases on either side of it agree on every name. None
    otherwise: defaults change inside a minor series (0.7.1-0.7.10 had batch_size=256 and
    mini_batch_size=1, 0.7.11 has 128 and 128), so a neighbour's defaults are not a release's."""
    measured = successor_versions()
    below = [v for v in measured if v <= version.base]
    above = [v for v in measured if v >= version.base]
    if not below or not above:
        return None
    low, high = (_successor_table()["versions"][str(v)]["ppo_config_defaults"] for v in (below[-1], above[0]))
    if any(name not in low or name not in high or low[name] != high[name] for name in names):
        return None
    return {name: low[name] for name in names}


def ppo_config_defaults(version: Version) -> dict:
    """PPOConfig's literal defaults in `version` (TRL's own fields; TrainingArguments' are not listed)."""
    return dict(_successor_entry(version)["ppo_config_defaults"])
