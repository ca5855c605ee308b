"""Every keyword a release's PPOConfig takes, or None where the data cannot say.

Up to 0.11 PPOConfig is a plain dataclass: its own fields are the whole set (table.json). From 0.12
it subclasses transformers.TrainingArguments and takes every field of the transformers it runs with
too (training_arguments.json, read once, on demand, only when a keyword is not one of TRL's own).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Optional

from . import table
from .eras import Version

_PATH = Path(__file__).with_name("training_arguments.json")


@lru_cache(maxsize=1)
def _measured() -> dict[Version, frozenset[str]]:
    data = json.loads(_PATH.read_text(encoding="utf-8"))["versions"]
    return {Version.parse(version): frozenset(fields) for version, fields in data.items()}


def training_arguments_fields(requirement: str, installed: Optional[Version] = None) -> Optional[frozenset[str]]:
    """TrainingArguments' keywords beside a TRL whose metadata asks for `requirement` of transformers.

    With a known installed transformers: its minor release's measured set (TrainingArguments gains and
    loses fields in minor releases only), None when that minor was not measured. Without: the union of
    every measured release the requirement allows, so that no release the user may have is accused
    of lacking a field it has; None when no measured release fits.
    """
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    measured = _measured()
    if installed is not None:
        same = [fields for version, fields in measured.items()
                if (version.major, version.minor) == (installed.major, installed.minor)]
        return same[0] if same else None
    try:
        allowed = SpecifierSet(requirement)
    except InvalidSpecifier:
        return None
    fitting = [fields for version, fields in measured.items() if allowed.contains(version, prereleases=True)]
    return frozenset().union(*fitting) if fitting else None


def accepted_config_fields(version: Version, installed_transformers: Optional[Version] = None
                           ) -> Optional[frozenset[str]]:
    """The keywords PPOConfig.__init__ takes in `version`; None where the data does not cover it: no
    PPO there, a minor release the table did not measure (its fields may differ from the neighbour's),
    or a transformers whose TrainingArguments was not measured."""
    measured = table.measured(version)
    if not table.has_ppo(version) or (measured.major, measured.minor) != (version.major, version.minor):
        return None
    entry = table.facts(version)
    own = frozenset(entry["config_fields"])
    if not entry["config_inherits_training_arguments"]:
        return own
    inherited = training_arguments_fields(entry["requires_transformers"], installed_transformers)
    return None if inherited is None else own | inherited
