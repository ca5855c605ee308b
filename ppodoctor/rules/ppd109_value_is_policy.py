from __future__ import annotations

from ..probe.probe_checks import Check
from ..setup import kinds
from ..types import ERROR, SAFE, UNSAFE, Fix, ModelKind, Role
from .base import Rule
from .common import is_policy_object, new_api_applies, scorer_failure, value_model_fix, value_model_works, versions


class ValueIsPolicy(Rule):
    """The value model is the same object as the policy.

    Why it breaks: the policy is a causal LM without a `score` head, and TRL wraps policy and
    value in one module whose parameters it optimises together; sharing one object trains the
    policy as its own critic. The run dies at the first rollout of `train()` with
    `AttributeError: ... object has no attribute 'score'` (trl 0.12-1.12). `value_model = model`,
    a fix a popular guide gives for the missing value model, does exactly this.

    Fix: a separate single-logit `AutoModelForSequenceClassification`, loaded from the reward
    model's path as TRL's example does.
    Fix safety: safe when the policy is a transformers causal LM (it has no `score` head, so the script
    never gets past the first rollout); unsafe when its class cannot be seen.
    Probe: reproduces the missing `score` in PolicyAndValueWrapper's forward pass or in `get_reward`; the fix
    passes when the new value model goes through both.
    """

    code = "PPD109"
    name = "value-is-policy"
    severity = ERROR
    roles = (Role.VALUE,)
    summary = "the value model is the policy object"
    fix_title = "replace it with a separate single-logit classifier from the reward model's path"
    probe_check = "PolicyAndValueWrapper forward / get_reward on the value model; fixed: both pass"
    invalid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        model = AutoModelForCausalLM.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=ref, reward_model=rm,
                             value_model=model, train_dataset=ds)
        ''',)
    valid = ('''
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        model = AutoModelForCausalLM.from_pretrained("sft")
        critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)

    def check_setup(self, setup, context):
        binding = setup.role(Role.VALUE)
        if not is_policy_object(setup, binding) or not new_api_applies(setup, context):
            return
        yield self.report(
            f"the value model `{binding.text}` is the policy object: the policy has no `score` head, so train() "
            f"fails at the first rollout with `AttributeError: ... object has no attribute 'score'` "
            f"({versions(context)}); pass a separate single-logit sequence classifier",
            binding.value_span, setup,
            Fix("Replace the value model with a separate single-logit AutoModelForSequenceClassification",
                SAFE if kinds.model_kind(setup.origin(Role.POLICY)) == ModelKind.CAUSAL_LM else UNSAFE),
        )

    def fix(self, diagnostic, context):
        return value_model_fix(context, "replace")

    def reproduce(self, diagnostic, facts):
        return scorer_failure(facts, diagnostic, (Check.WRAPPER, Check.VALUE_GET_REWARD))

    def validate_fix(self, diagnostic, before, after):
        return value_model_works(diagnostic, after)
