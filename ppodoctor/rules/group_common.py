"""What the PPD6xx rules share: RLOOTrainer and GRPOTrainer calls (trl >= 1.0), their configs, reward
functions and datasets, as trl 1.12 and 1.16 (measured) read them."""

from __future__ import annotations

import inspect
from typing import Any, Optional

from ..setup.model import Origin, PPOSetup
from ..trl_api.eras import Version
from ..types import OriginKind, Role, TrainerKind
from .base import Example, RuleContext
from .common import config_value
from .dataset_shape import Columns, columns

GROUP_KINDS = (TrainerKind.RLOO, TrainerKind.GRPO)
FIRST_GROUP_RELEASE = Version.parse("1.0.0")  # the rules judge trl 1.x (measured in 1.16); 0.x GRPO is not judged
MEASURED = "trl 1.16 measured, 1.12 by its source"  # .venv's trl 1.12 cannot import GRPO (no `requests`)

# GRPOConfig / RLOOConfig defaults (trl 1.16's dataclasses; TrainingArguments' for the batch).
_DEFAULTS = {
    TrainerKind.GRPO: {"num_generations": 8},
    TrainerKind.RLOO: {"num_generations": 2},
}
BATCH_DEFAULTS = {"per_device_train_batch_size": 8, "gradient_accumulation_steps": 1,
                  "generation_batch_size": None, "steps_per_generation": None}
# The keywords every reward function is called with (trl 1.12 - 1.16, `_calculate_rewards`), besides the
# dataset's columns other than prompt/completion/completion_ids.
CALL_KEYWORDS = ("prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric")
NOT_PASSED_COLUMNS = frozenset({"prompt", "completion", "completion_ids"})


def trainer_word(setup: PPOSetup) -> str:
    return "GRPO" if setup.kind == TrainerKind.GRPO else "RLOO"


def applies(context: RuleContext) -> bool:
    """The target's RLOOTrainer/GRPOTrainer is the reward_funcs one (0.x's RLOOTrainer is another class)."""
    return context.target.version >= FIRST_GROUP_RELEASE


def group_config(setup: PPOSetup) -> Optional[Origin]:
    """The call's GRPOConfig(...)/RLOOConfig(...) when the source builds it (None: no config, or one the
    source does not show; TRL then builds its own defaults, which hold)."""
    binding = setup.role(Role.CONFIG)
    if binding is None:
        return None
    origin = binding.origin
    if origin.kind not in (OriginKind.CONSTRUCTOR, OriginKind.PARSED_ARGS):
        return None
    return origin if origin.class_name.rsplit(".", 1)[-1] in ("GRPOConfig", "RLOOConfig") else None


def config_field(setup: PPOSetup, origin: Origin, name: str) -> tuple[bool, Any]:
    """(known, value) of a config field: the literal the source sets, or the trainer's default."""
    default = _DEFAULTS[setup.kind].get(name, BATCH_DEFAULTS.get(name))
    return config_value(origin, name, default)


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def dataset_columns(setup: PPOSetup) -> Optional[Columns]:
    """The training dataset's columns when the source shows them all (rules/dataset_shape.py)."""
    binding = setup.role(Role.TRAIN_DATASET)
    return columns(binding.origin) if binding is not None else None


class ConfigChecked:
    """A rule whose failure is one of the config's own checks (`RLOOConfig`/`GRPOConfig.__post_init__`): the
    probe rebuilds the config in the target interpreter (probe/worker_group.py), and the finding reproduces
    when TRL's error there is the rule's own (its `known_errors`). The fixed setup passes when that error
    is gone; every other step must pass too (pipeline/verdicts.py), the config's others included."""

    probe_check = "RLOOConfig/GRPOConfig(...) rebuilt from the call's literal keywords in the target interpreter: " \
                  "its own __post_init__ checks raise the rule's error; fixed: they pass"
    extra_patterns: tuple[str, ...] = ()

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.group_facts import config_checks

        patterns = tuple(known.pattern for known in self.known_errors) + self.extra_patterns
        return config_checks(facts, diagnostic.setup_index, patterns)


def world_size(context: RuleContext) -> tuple[Optional[int], str]:
    """The processes a run spreads its batch over, and how that is known: the launch's (`ppodoctor check
    run.sh`, `check -- torchrun ...`), else 1 (`python train.py`); None where the launch does not say
    (accelerate without `--num_processes` starts one process per visible GPU): a batch rule is then silent,
    since more processes change what divides."""
    launch = context.launch
    if launch is None:
        return 1, ("× 1 process, assumed: no launch was read (`ppodoctor check run.sh` or `check -- <launch>` "
                   "judges the launch's world size, and more processes multiply the batch)")
    if launch.world_size is None:
        return None, launch.unknown("world size") or "the launch does not say how many processes it starts"
    size = launch.world_size
    return size, f"× {size} process{'es' if size != 1 else ''} of the launch"


def example(code: str) -> Example:
    """A rule example checked against trl 1.16 (the release `migrate` ports to)."""
    return Example(inspect.cleandoc(code) + "\n", "1.16.0")
