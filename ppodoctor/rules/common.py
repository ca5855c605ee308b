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
