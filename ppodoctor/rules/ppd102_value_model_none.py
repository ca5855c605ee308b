from __future__ import annotations

from ..setup import kinds
from ..setup.model import VALUE
from ..trl_api import eras
from .base import ERROR, SAFE, Fix, Rule
from .common import new_api_applies, versions


class ValueModelNone(Rule):
    """`value_model=None` is passed to the trainer.

    Why it breaks: TRL treats the value model like the other three models. On 0.12 it dies with
    `'NoneType' object has no attribute 'modules'` while disabling dropout; from 0.13 on with
    `'NoneType' object has no attribute 'base_model_prefix'` when it wraps policy and value
    together. Both happen in `__init__`, after every model has been loaded.

    Fix: pass a single-logit sequence classifier, as TRL's example does:
    `AutoModelForSequenceClassification.from_pretrained(reward_path, num_labels=1)`.
    Fix safety: safe; it only replaces the `None`.
    """

    code = "PPD102"
    name = "value-model-none"
    severity = ERROR
    summary = "`value_model=None` is passed to PPOTrainer"
    fixable = True
    invalid = ('''
        from trl import PPOConfig, PPOTrainer
        trainer = PPOTrainer(config=PPOConfig(), processing_class=tok, policy=policy, ref_policy=ref,
                             reward_model=rm, train_dataset=ds, value_model=None)
        ''', '''
        from trl.experimental.ppo import PPOTrainer
        critic = None
        trainer = PPOTrainer(args, tok, policy, ref, rm, ds, critic)
        ''')
    valid = ('''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args, tok, policy, ref, rm, ds, critic)
        ''', '''
        from trl.experimental.ppo import PPOTrainer
        critic = None
        critic = build_critic()
        trainer = PPOTrainer(args, tok, policy, ref, rm, ds, critic)
        ''')

    def check_setup(self, setup, context):
        binding = setup.role(VALUE)
        if binding is None or kinds.model_kind(binding.origin) != kinds.NO_MODEL or not new_api_applies(setup, context):
            return
        error = eras.none_value_model_error(context.target.era) or "an AttributeError on None"
        yield self.report(
            f"`value_model` is None: TRL fails with `{error}` in PPOTrainer.__init__ ({versions(context)}); "
            "pass a single-logit sequence classifier", binding.value_span, setup,
            Fix("value_model", "Replace None with a single-logit AutoModelForSequenceClassification loaded "
                "from the reward model's path", SAFE, (("mode", "replace"),)),
        )
