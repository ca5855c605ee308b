"""The era table (table.json, generated from real TRL releases): plain JSON, loaded once, on demand."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Optional

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
    chosen = known_versions()[0]
    for known in known_versions():
        if known <= version or (known.major, known.minor) == (version.major, version.minor):
            chosen = known
    return str(chosen)


def facts(version: Version) -> dict:
    """The table entry describing `version`: the newest measured release at or below it.

    A patch release reads like its minor release (0.12.0 like 0.12.2): TRL changed PPO's API only
    in minor releases.
    """
    return load()["versions"][_entry_key(version)]


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


def every_config_field() -> frozenset[str]:
    names = set(load()["training_arguments_overlap"])
    for entry in load()["versions"].values():
        names.update(entry["config_fields"])
    return frozenset(names)


def config_renames() -> dict[str, str]:
    return dict(load()["config_renames"])


def tracked_names() -> frozenset[str]:
    return frozenset(load()["tracked_names"])


def module_exists(module: str, version: Version) -> bool:
    return module in facts(version)["modules"]


def name_status(module: str, name: str, version: Version) -> Optional[str]:
    """"ok", "deprecated" (importable, warns when used) or None (ImportError)."""
    return facts(version)["names"].get(module, {}).get(name)


def home_of(name: str, version: Version) -> Optional[str]:
    """The best module to import `name` from in `version`: a public package where it is "ok"."""
    for module in ("trl.experimental.ppo", "trl", "trl.models", "trl.core", "trl.trainer"):
        if name_status(module, name, version) == "ok":
            return module
    return None


def first_version_without(module: str) -> Optional[Version]:
    seen = False
    for known in known_versions():
        present = module in load()["versions"][str(known)]["modules"]
        seen = seen or present
        if seen and not present:
            return known
    return None


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


def ppo_config_defaults(version: Version) -> dict:
    """PPOConfig's literal defaults in `version` (TRL's own fields; TrainingArguments' are not listed)."""
    return dict(_successor_entry(version)["ppo_config_defaults"])
