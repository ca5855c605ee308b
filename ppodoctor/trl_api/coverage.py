"""What "Checked against" says about the data a target was checked with.

A release the tables measured needs no word. For a trl newer than every measured release, and for a
transformers the target does not say where it is installed, the line names the data the rules used
(its installed source, its minor series' measured release, the newest measured one) or says that its
TrainingArguments keywords were not checked. This sits above the tables and the installation reader,
which it asks; the `Target` record below them only formats what it is given.
"""

from __future__ import annotations

from . import config_fields, installed_facts, table
from .config_fields import FieldSource
from .eras import NEWEST_WITH_PPO, Target, Version

def describe(target: Target) -> str:
    """The target as "Checked against" shows it, with a note wherever no table measured a release."""
    trl_note = transformers_note = ""
    if target.version.base > Version(NEWEST_WITH_PPO) or (
            target.transformers is not None and not target.transformers_path
            and not target.transformers_source.startswith("assumed")):
        trl_note, transformers_note = coverage_notes(target)
    return target.describe(trl_note, transformers_note)

def coverage_notes(target: Target) -> tuple[str, str]:
    """("; ..." for trl, "; ..." for transformers): which data the rules use for a release newer than
    every measured one, and for a transformers the target does not say where it is installed (an
    installed one is what is read: "installed in ..." says so). The tables are loaded only for a trl
    newer than the newest with PPO or for such a transformers: a plain `check` pays nothing for this."""
    return _trl_note(target), _transformers_note(target)


def _trl_note(target) -> str:
    version = target.version
    if version.base <= Version(NEWEST_WITH_PPO):
        return ""  # the table measured releases above it: checked with its own minor's data or its own
    newest = max(table.known_versions())
    if version.base <= newest:
        return ""
    if installed_facts.location("trl", version, target.trl_path):
        return "; not measured: its facts are read from its installed source"
    return f"; not measured: checked with trl {newest}'s data, the newest measured"


def _transformers_note(target) -> str:
    installed = target.transformers
    if installed is None or target.transformers_path or target.transformers_source.startswith("assumed"):
        return ""
    kind, measured = config_fields.training_arguments_choice(installed)
    if kind is FieldSource.INSTALLED:
        return "; not measured: TrainingArguments read from the installation in the interpreter running ppodoctor"
    if kind is FieldSource.MINOR:
        return f"; not measured: checked with {measured}'s TrainingArguments"
    if kind is FieldSource.NEWEST:
        return f"; not measured: checked with {measured}'s TrainingArguments, the newest measured"
    if kind is FieldSource.NONE:
        return "; not measured: its TrainingArguments fields are not known, so PPOConfig keywords from them " \
               "are not checked"
    return ""
