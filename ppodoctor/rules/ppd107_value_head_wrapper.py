from __future__ import annotations

from ..setup import kinds
from ..setup.model import POLICY, REFERENCE, REWARD, VALUE
from .base import ERROR, UNSAFE, Fix, Rule
from .common import new_api_applies, versions

_ERRORS = {
    POLICY: "AttributeError: ... object has no attribute 'generation_config'",
    VALUE: "AttributeError: ... object has no attribute 'base_model_prefix'",
    REFERENCE: "an AttributeError on the wrapper",
    REWARD: "an AttributeError on the wrapper",
}


class ValueHeadWrapper(Rule):
    """A value-head wrapper (`AutoModelForCausalLMWithValueHead`) is given to the new-era trainer.

    Why it breaks: up to TRL 0.11 the policy was a `PreTrainedModelWrapper` that carried its own
    value head. From 0.12 the trainer takes plain transformers models and a separate value model;
    the wrapper lacks their attributes: as the policy it fails with `no attribute
    'generation_config'`, as the value model with `no attribute 'base_model_prefix'` (trl 1.12),
    both in `__init__`.

    Fix: load the policy with `AutoModelForCausalLM` from the same path and arguments, and pass a
    separate single-logit `AutoModelForSequenceClassification` as the value model. If the whole
    script is written for TRL <= 0.11 (a `.step()` loop), pin `trl<=0.11.4` instead.
    Fix safety: unsafe; the model class changes.
    """

    code = "PPD107"
    name = "value-head-wrapper"
    severity = ERROR
    summary = "a value-head wrapper is given to the new-era PPOTrainer"
    fixable = True
    invalid = ('''
        from trl.experimental.ppo import AutoModelForCausalLMWithValueHead, PPOTrainer
        policy = AutoModelForCausalLMWithValueHead.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)
    valid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)

    def check_setup(self, setup, context):
        if not new_api_applies(setup, context):
            return
        for role in (POLICY, VALUE, REFERENCE, REWARD):
            binding = setup.role(role)
            if binding is None or kinds.model_kind(binding.origin) != kinds.VALUE_HEAD:
                continue
            fix = None
            if role == POLICY:
                fix = Fix("policy_causal_lm", "Load the policy with AutoModelForCausalLM", UNSAFE)
            elif role == VALUE:
                fix = Fix("value_model", "Replace the value model with a single-logit "
                          "AutoModelForSequenceClassification", UNSAFE, (("mode", "replace"),))
            yield self.report(
                f"{role} model `{binding.text}` is a value-head wrapper, which the new-era PPOTrainer cannot use: "
                f"`{_ERRORS[role]}` in __init__ ({versions(context)}); pass a plain transformers model "
                "(AutoModelForCausalLM for the policy, a single-logit sequence classifier for the value model)",
                binding.value_span, setup, fix,
            )
