"""Small helpers the rules share."""

from __future__ import annotations

from typing import Optional

from ..setup import kinds
from ..setup.model import POLICY, PPOSetup, RoleBinding
from ..trl_api import eras
from .base import RuleContext


def new_api_applies(setup: PPOSetup, context: RuleContext) -> bool:
    """True where the trainer takes a separate reward and value model in the target TRL."""
    if setup.trainer == "PPOv2Trainer":
        return True
    return eras.new_trainer_api(context.target.era) and setup.code_era != eras.OLD


def versions(context: RuleContext) -> str:
    return f"{eras.range_of(context.target.era)}, target {context.target.version}"


def describe(binding: RoleBinding) -> str:
    origin = binding.origin
    if origin.class_name and origin.kind in ("from_pretrained", "from_config", "constructor"):
        return f"`{binding.text}` ({origin.class_name.rsplit('.', 1)[-1]})"
    return f"`{binding.text}`"


def is_policy_object(setup: PPOSetup, binding: Optional[RoleBinding]) -> bool:
    return binding is not None and kinds.same_object(binding.origin, setup.origin(POLICY))


# Trainer methods and attributes only the old (<= 0.11) API has: the hand-written rollout loop.
OLD_LOOP_NAMES = ("generate", "step", "log_stats", "dataloader")


def target_has_ppo(context: RuleContext) -> bool:
    return eras.has_ppo(context.target.era)


def old_loop_usages(setup: PPOSetup):
    return tuple(usage for usage in setup.usages if usage.name in OLD_LOOP_NAMES)


def is_old_era_script(setup: PPOSetup, context: RuleContext) -> bool:
    """A script written whole for TRL <= 0.11 (value-head wrapper or `.step()` loop) on a newer TRL."""
    if setup.code_era != eras.OLD or not eras.new_trainer_api(context.target.era):
        return False
    wrapper = context.file.mentions_value_head or any(
        kinds.model_kind(binding.origin) == kinds.VALUE_HEAD for binding in setup.roles)
    return wrapper or bool(old_loop_usages(setup))


def replace_fix(description: str, edits, applicability: str = "safe"):
    from .base import Fix

    return Fix("replace", description, applicability, (("edits", tuple(edits)),))
