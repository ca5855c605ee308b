"""TRL's PPO API eras: which version speaks which API, and what each mistake raises there.

The facts come from ../shared/trl-ppo-facts.md (measured on real TRL releases).
"""

from __future__ import annotations

from typing import Optional

import packaging.version

from ..records import Record, record

NEWEST_WITH_PPO = "1.12.0"

# Era names, oldest first. Each is the first version of a range that behaves alike.
OLD = "old"  # <= 0.11: value-head wrapper, manual .step() loop
V012 = "0.12"  # policy=/ref_policy=/config=; value_model defaults to None
V013 = "0.13"  # args=/model=/ref_model=; 0.12 names still accepted with a warning
V015 = "0.15"  # 0.12 names are a TypeError
V018 = "0.18"  # value_model required
V026 = "0.26"  # moved to trl.experimental.ppo; trl.PPOTrainer warns
V029 = "0.29"  # trl.PPOTrainer is an ImportError
REMOVED = "1.13"  # PPO removed

_ERA_STARTS = (
    ("0.0.0", OLD),
    ("0.12.0", V012),
    ("0.13.0", V013),
    ("0.15.0", V015),
    ("0.18.0", V018),
    ("0.26.0", V026),
    ("0.29.0", V029),
    ("1.13.0", REMOVED),
)

# Constructor parameters in order (what a positional argument means).
OLD_ORDER = ("config", "model", "ref_model", "tokenizer", "dataset", "optimizer", "data_collator",
             "num_shared_layers", "lr_scheduler")
V012_ORDER = ("config", "processing_class", "policy", "ref_policy", "reward_model", "train_dataset",
              "value_model", "data_collator", "eval_dataset", "optimizers", "callbacks")
NEW_ORDER = ("args", "processing_class", "model", "ref_model", "reward_model", "train_dataset",
             "value_model", "data_collator", "eval_dataset", "optimizers", "callbacks", "peft_config")
PPOV2_ORDER = ("config", "tokenizer", "policy", "ref_policy", "reward_model", "train_dataset",
               "value_model", "data_collator", "eval_dataset", "optimizers", "callbacks")

# Every keyword any era accepts, mapped to the role it fills.
KEYWORD_ROLES = {
    "model": "policy",
    "policy": "policy",
    "ref_model": "reference",
    "ref_policy": "reference",
    "reward_model": "reward",
    "value_model": "value",
    "processing_class": "processing_class",
    "tokenizer": "processing_class",
    "args": "config",
    "config": "config",
    "train_dataset": "train_dataset",
    "dataset": "train_dataset",
    "eval_dataset": "eval_dataset",
    "peft_config": "peft_config",
    "data_collator": "data_collator",
}

# RLOOTrainer and GRPOTrainer (the reward_funcs classes), by keyword and in positional order: the positions
# every release of the table gives the same meaning (successors.json; tests/test_eras_table.py holds it to
# that). Later ones differ (trl 1.16 put quantization_config where peft_config stood), so they bind nothing.
GROUP_ORDER = ("model", "reward_funcs", "args", "train_dataset", "eval_dataset", "processing_class",
               "reward_processing_classes", "callbacks", "optimizers")
GROUP_KEYWORD_ROLES = {
    "model": "policy",
    "reward_funcs": "reward_funcs",
    "args": "config",
    "train_dataset": "train_dataset",
    "eval_dataset": "eval_dataset",
    "processing_class": "processing_class",
    "reward_processing_classes": "reward_processing_classes",
    "peft_config": "peft_config",
}


class InvalidVersion(ValueError):
    """Text that is not a PEP 440 version; str() says which text and what a version looks like."""


class Version(packaging.version.Version):
    """A PEP 440 release number (packaging's), printed with at least three release parts.

    Ordering is PEP 440's: 0.13.0.dev0 < 0.13.0rc1 < 0.13.0 < 0.13.0.post1. `major`, `minor` and
    `micro` are the release's first three parts (0 where absent). Eras and table entries are judged
    by `base` (the release without pre/post/dev parts): a pre-release or dev build of 0.13.0
    already has the 0.13 API, since TRL makes its API changes on main before the release.
    """

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> "Version":
        try:
            return cls(text)
        except packaging.version.InvalidVersion:
            raise InvalidVersion(f"{text!r} is not a version (PEP 440, e.g. 0.12.2 or 1.13.0rc1)") from None

    @property
    def base(self) -> "Version":
        """The release itself: 0.13.0 for 0.13.0rc1, 0.13.0.dev0 and 0.13.0.post1."""
        if self.is_prerelease or self.is_postrelease or self.local is not None:
            return Version(self.base_version)
        return self

    def __str__(self) -> str:
        # packaging's normal form, with the release padded to three parts (0.12 -> 0.12.0) as TRL
        # numbers its releases, so that messages read "trl 0.12.0" whatever was typed.
        release = (*self.release, 0, 0)[:max(3, len(self.release))]
        text = f"{self.epoch}!" if self.epoch else ""
        text += ".".join(map(str, release))
        if self.pre is not None:
            text += "".join(map(str, self.pre))
        if self.post is not None:
            text += f".post{self.post}"
        if self.dev is not None:
            text += f".dev{self.dev}"
        if self.local is not None:
            text += f"+{self.local}"
        return text


_ERA_VERSIONS = tuple((Version(start), name) for start, name in _ERA_STARTS)


def era_of(version: Version) -> str:
    """The era a version belongs to, judged by its base release (see Version)."""
    base = version.base
    era = OLD
    for start, name in _ERA_VERSIONS:
        if base >= start:
            era = name
    return era


def era_at_least(era: str, start: str) -> bool:
    names = [name for _start, name in _ERA_STARTS]
    return names.index(era) >= names.index(start)


ERA_RANGES = {
    OLD: "trl <= 0.11",
    V012: "trl 0.12",
    V013: "trl 0.13-0.14",
    V015: "trl 0.15-0.17",
    V018: "trl 0.18-0.25",
    V026: "trl 0.26-0.28",
    V029: "trl 0.29-1.12",
    REMOVED: "trl >= 1.13",
}


@record
class Target(Record):
    """The TRL version a script will meet, how that was decided, and the transformers beside it."""

    version: Version
    source: str  # "--trl-version", "trl-version in pyproject.toml", "installed in ...", a pin, "default"
    transformers: Optional[Version] = None
    transformers_source: str = ""
    # Where the target's trl / transformers is installed (the directory holding `trl/`), when it is
    # the installed one: a release the tables did not measure is read from there (installed_facts.py).
    trl_path: str = ""
    transformers_path: str = ""
    # The interpreter whose installed trl is the target (where trl_path is set): what else it has
    # (vllm, ...) is asked of it only when a rule needs to know (target.has_package).
    python: str = ""

    @property
    def installed_transformers(self) -> Optional[Version]:
        """The transformers the script will meet, where it was read (installed) rather than assumed."""
        if self.transformers is None or self.transformers_source.startswith("assumed"):
            return None
        return self.transformers

    @property
    def era(self) -> str:
        return era_of(self.version)

    @classmethod
    def default(cls) -> "Target":
        return cls(Version.parse(NEWEST_WITH_PPO), "default")

    @classmethod
    def of(cls, text: str, source: str = "--trl-version", transformers: Optional[str] = None,
           transformers_source: str = "") -> "Target":
        return cls(Version.parse(text), source, Version.parse(transformers) if transformers else None,
                   transformers_source)

    def describe(self, trl_note: str = "", transformers_note: str = "") -> str:
        """What the script is checked against; the notes (from coverage.py, "; ...") say with what data
        where no table measured a release."""
        if self.source == "default":
            text = f"trl {self.version} (assumed: the newest TRL with PPO; no version was given or found{trl_note})"
        else:
            text = f"trl {self.version} (from {self.source}{trl_note})"
        if self.transformers is not None:
            text += f", transformers {self.transformers} ({self.transformers_source}{transformers_note})"
        return text


def has_ppo(era: str) -> bool:
    return era != REMOVED


def new_trainer_api(era: str) -> bool:
    """True where PPOTrainer takes a separate value model (0.12 and later)."""
    return era_at_least(era, V012) and has_ppo(era)


def missing_value_model_error(era: str) -> Optional[str]:
    if not new_trainer_api(era):
        return None
    if era == V012:
        return "AttributeError: 'NoneType' object has no attribute 'modules'"
    if not era_at_least(era, V018):
        return "AttributeError: 'NoneType' object has no attribute 'base_model_prefix'"
    return "TypeError: PPOTrainer.__init__() missing 1 required positional argument: 'value_model'"


def none_value_model_error(era: str) -> Optional[str]:
    if not new_trainer_api(era):
        return None
    if era == V012:
        return "AttributeError: 'NoneType' object has no attribute 'modules'"
    return "AttributeError: 'NoneType' object has no attribute 'base_model_prefix'"


def positional_order(trainer: str, code_era: str) -> tuple[str, ...]:
    if trainer == "PPOv2Trainer":
        return PPOV2_ORDER
    if code_era == OLD:
        return OLD_ORDER
    if code_era == V012:
        return V012_ORDER
    return NEW_ORDER


def role_keyword(role: str, era: str) -> str:
    """The keyword the target era uses for a role (`policy` on 0.12, `model` from 0.13)."""
    if era == OLD:
        names = {"policy": "model", "reference": "ref_model", "processing_class": "tokenizer", "config": "config",
                 "train_dataset": "dataset"}
    elif era == V012:
        names = {"policy": "policy", "reference": "ref_policy", "config": "config"}
    else:
        names = {"policy": "model", "reference": "ref_model", "config": "args"}
    defaults = {"reward": "reward_model", "value": "value_model", "processing_class": "processing_class",
                "train_dataset": "train_dataset", "eval_dataset": "eval_dataset", "peft_config": "peft_config",
                "data_collator": "data_collator"}
    return names.get(role, defaults.get(role, role))


def range_of(era: str) -> str:
    return ERA_RANGES[era]
