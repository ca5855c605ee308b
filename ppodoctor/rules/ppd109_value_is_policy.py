from __future__ import annotations

from ..setup.model import VALUE
from .base import ERROR, UNSAFE, Fix, Rule
from .common import is_policy_object, new_api_applies, versions


class ValueIsPolicy(Rule):
    """The value model is the same object as the policy.

    Why it breaks: the policy is a causal LM without a `score` head, and TRL wraps policy and
    value in one module whose parameters it optimises together; sharing one object trains the
    policy as its own critic. The run dies at the first rollout of `train()` with
    `AttributeError: ... object has no attribute 'score'` (trl 0.12-1.12). `value_model = model`,
    a fix a popular guide gives for the missing value model, does exactly this.

    Fix: a separate single-logit `AutoModelForSequenceClassification`, loaded from the reward
    model's path as TRL's example does.
    Fix safety: unsafe; it replaces the object passed as the value model.
    """

    code = "PPD109"
    name = "value-is-policy"
    severity = ERROR
    summary = "the value model is the policy object"
    fixable = True
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
        binding = setup.role(VALUE)
        if not is_policy_object(setup, binding) or not new_api_applies(setup, context):
            return
        yield self.report(
            f"the value model `{binding.text}` is the policy object: the policy has no `score` head, so train() "
            f"fails at the first rollout with `AttributeError: ... object has no attribute 'score'` "
            f"({versions(context)}); pass a separate single-logit sequence classifier",
            binding.value_span, setup,
            Fix("value_model", "Replace the value model with a separate single-logit "
                "AutoModelForSequenceClassification", UNSAFE, (("mode", "replace"),)),
        )
