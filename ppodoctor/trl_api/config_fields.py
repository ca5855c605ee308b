"""Every keyword a release's PPOConfig takes, or None where the data cannot say.

Up to 0.11 PPOConfig is a plain dataclass: its own fields are the whole set (table.json). From 0.12
it subclasses transformers.TrainingArguments and takes every field of the transformers it runs with
too (training_arguments.json, read once, on demand, only when a keyword is not one of TRL's own; a
transformers release it does not list is read from its installation, see installed_facts.py).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Optional

from ..types import StrEnum
from . import installed_facts, table
from .eras import Version

_PATH = Path(__file__).with_name("training_arguments.json")


@lru_cache(maxsize=1)
def _measured() -> dict[Version, frozenset[str]]:
    data = json.loads(_PATH.read_text(encoding="utf-8"))["versions"]
    return {Version.parse(version): frozenset(fields) for version, fields in data.items()}


class FieldSource(StrEnum):
    """Which data gives TrainingArguments' keywords for a transformers release."""

    MEASURED = "measured"  # training_arguments.json lists the release
    INSTALLED = "installed"  # read from its installation's source
    MINOR = "minor"  # the measured release of its minor series
    NEWEST = "newest"  # newer than every measured release: the newest measured
    NONE = "none"  # a minor release between measured ones: not known


def training_arguments_choice(installed: Version, root: str = "") -> tuple[FieldSource, Optional[Version]]:
    """Which data gives TrainingArguments' keywords for the transformers `installed`:
    ("measured", it) for a release training_arguments.json lists; ("installed", it) for one installed
    where the target says (`root`) or in the interpreter running ppodoctor, read from its source;
    ("minor", release) for the measured release of its minor series (TrainingArguments gains and
    loses fields in minor releases only); ("newest", release) for one newer than every measured
    release: the newest, said so in "Checked against"; ("none", None) for a minor release between
    measured ones, whose fields may differ from either neighbour's."""
    measured = _measured()
    if installed in measured:
        return FieldSource.MEASURED, installed
    if installed_facts.location("transformers", installed, root):
        return FieldSource.INSTALLED, installed
    return _below(installed)


def training_arguments_fields(requirement: str, installed: Optional[Version] = None,
                              root: str = "") -> Optional[frozenset[str]]:
    """TrainingArguments' keywords beside a TRL whose metadata asks for `requirement` of transformers.

    With a known installed transformers: the data `training_arguments_choice` picks, None where none
    fits. Without: the union of every measured release the requirement allows, so that no release
    the user may have is accused of lacking a field it has; None when no measured release fits.
    """
    measured = _measured()
    if installed is not None:
        kind, release = training_arguments_choice(installed, root)
        if kind is FieldSource.INSTALLED:
            fields = installed_facts.training_arguments(installed, root)
            if fields is not None:
                return fields
            release = _below(installed)[1]  # an installation whose source cannot be read
        return None if release is None else measured[release]
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        allowed = SpecifierSet(requirement)
    except InvalidSpecifier:
        return None
    fitting = [fields for version, fields in measured.items() if allowed.contains(version, prereleases=True)]
    return frozenset().union(*fitting) if fitting else None


def _below(installed: Version) -> tuple[FieldSource, Optional[Version]]:
    measured = _measured()
    same = [version for version in measured if (version.major, version.minor) == (installed.major, installed.minor)]
    if same:
        return FieldSource.MINOR, max(same)
    newest = max(measured)
    return (FieldSource.NEWEST, newest) if installed.base > newest else (FieldSource.NONE, None)


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
