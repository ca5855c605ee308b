from __future__ import annotations

from ..probe.probe_checks import Check
from ..setup import kinds
from ..types import ERROR, SAFE, Fix, KnownError, ModelKind, Role
from .base import Rule
from .ppd109_value_is_policy import ValueIsPolicy
from .common import describe, is_policy_object, new_api_applies, scorer_failure, value_model_fix, value_model_works, \
    versions


class ValueModelNotClassifier(Rule):
    """The value model is not a single-logit sequence classifier.

    Why it breaks: TRL computes values with `value_model.score(hidden_states)`. A causal LM
    (`AutoModelForCausalLM`, or the policy object itself, as a popular guide suggests with
    `value_model = model`) has no `score` head, so `__init__` succeeds and the run dies at the first
    rollout of `train()` with `AttributeError: 'LlamaForCausalLM' object has no attribute 'score'`
    (trl 0.12-1.12), after the models are loaded and generation has started.

    Fix: load the value model as `AutoModelForSequenceClassification.from_pretrained(path,
    num_labels=1)`, from the reward model's path as TRL's example does.
    Fix safety: safe; a transformers model without a `score` head never gets past the first rollout, so
    replacing it cannot change a script that runs.
    Probe: reproduces the missing `score` in PolicyAndValueWrapper's forward pass or in `get_reward`; the fix
    passes when the new value model goes through both.
    """

    code = "PPD103"
    name = "value-model-not-classifier"
    severity = ERROR
    roles = (Role.VALUE,)
    summary = "the value model is not a single-logit sequence classifier"
    fix_title = "replace it with a single-logit classifier from the reward model's path"
    probe_check = "PolicyAndValueWrapper forward / get_reward on the value model; fixed: both pass"
    superseded_by = (ValueIsPolicy,)  # `value_model=model`: one problem, which PPD109 names exactly
    known_errors = (
        KnownError("no-score-head", r"object has no attribute 'score'",
                   "AttributeError: 'LlamaForCausalLM' object has no attribute 'score'", "0.12 - 1.12",
                   "train() (first rollout)", "the value or reward model is a causal LM (often the policy object "
                   "itself) or an encoder whose head is named `classifier`",
                   "load reward and value models with `AutoModelForSequenceClassification.from_pretrained("
                   "reward_path, num_labels=1)` from a decoder checkpoint whose head is `score`",
                   ("PPD104", "PPD109", "PPD501")),
    )
    invalid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        model = AutoModelForCausalLM.from_pretrained("sft")
        ref = AutoModelForCausalLM.from_pretrained("sft")
        value_model = AutoModelForCausalLM.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=ref, reward_model=rm,
                             value_model=value_model, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        critic = AutoModelForCausalLM.from_pretrained("rm")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        model = AutoModelForCausalLM.from_pretrained("sft")
        value_model = model  # the policy object: PPD109 says it (one problem, one finding)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=ref, reward_model=rm,
                             value_model=value_model, train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOTrainer
        from mylib import build_critic
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=build_critic(), train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        binding = setup.role(Role.VALUE)
        if binding is None or not new_api_applies(setup, context):
            return
        kind = kinds.model_kind(binding.origin)
        if is_policy_object(setup, binding):
            reason = "it is the policy object, a causal LM"
        elif kind == ModelKind.CAUSAL_LM:
            reason = "it is a causal LM"
        elif kind == ModelKind.OTHER_MODEL:
            reason = "it is a model without a sequence-classification head"
        else:
            return
        yield self.report(
            f"value model {describe(binding)} has no `score` head: {reason}; init succeeds, then the first "
            f"rollout of train() fails with `AttributeError: ... object has no attribute 'score'` "
            f"({versions(context)}); use AutoModelForSequenceClassification with num_labels=1",
            binding.value_span, setup,
            Fix("Replace the value model with a single-logit AutoModelForSequenceClassification loaded from the "
                "reward model's path", SAFE),
        )

    def fix(self, diagnostic, context):
        return value_model_fix(context, "replace")

    def reproduce(self, diagnostic, facts):
        return scorer_failure(facts, diagnostic, (Check.WRAPPER, Check.VALUE_GET_REWARD))

    def validate_fix(self, diagnostic, before, after):
        return value_model_works(diagnostic, after)
