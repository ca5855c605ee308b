from __future__ import annotations

from ..setup import kinds
from ..setup.model import REWARD
from .base import ERROR, UNSAFE, Fix, Rule
from .common import describe, is_policy_object, new_api_applies, versions


class RewardModelNotClassifier(Rule):
    """The reward model is not a sequence classifier.

    Why it breaks: TRL scores each response with `get_reward`, which calls the reward model's
    backbone and then its `score` head. A causal LM has none: `__init__` succeeds and the first
    rollout in `train()` dies with `AttributeError: ... object has no attribute 'score'` (trl
    0.12-1.12).

    Fix: load the reward model with `AutoModelForSequenceClassification.from_pretrained(path,
    num_labels=1)` from a checkpoint trained as a reward model.
    Fix safety: unsafe; it changes which class the reward checkpoint is loaded as.
    """

    code = "PPD104"
    name = "reward-model-not-classifier"
    severity = ERROR
    summary = "the reward model is not a sequence classifier"
    fixable = True
    invalid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        reward_model = AutoModelForCausalLM.from_pretrained("rm")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=reward_model, value_model=critic, train_dataset=ds)
        ''',)
    valid = ('''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=reward_model, value_model=critic, train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOTrainer
        from mylib import RewardModel
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=RewardModel.from_pretrained("rm"), value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        binding = setup.role(REWARD)
        if binding is None or not new_api_applies(setup, context):
            return
        kind = kinds.model_kind(binding.origin)
        if kind not in (kinds.CAUSAL_LM, kinds.OTHER_MODEL) and not is_policy_object(setup, binding):
            return
        yield self.report(
            f"reward model {describe(binding)} has no `score` head; init succeeds, then train() fails with "
            f"`AttributeError: ... object has no attribute 'score'` ({versions(context)}); load it with "
            "AutoModelForSequenceClassification and num_labels=1",
            binding.value_span, setup,
            Fix("reward_classifier", "Load the reward model as a single-logit AutoModelForSequenceClassification",
                UNSAFE),
        )
