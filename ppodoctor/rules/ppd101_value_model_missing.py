from __future__ import annotations

from ..setup.model import VALUE
from ..trl_api import eras
from .base import ERROR, SAFE, Fix, Rule
from .common import new_api_applies, versions


class ValueModelMissing(Rule):
    """The trainer is built without a value model.

    Why it breaks: from TRL 0.12 on, PPOTrainer takes a separate value (critic) model. On 0.12 it
    defaults to `None` and TRL dies while disabling dropout on all four models
    (`'NoneType' object has no attribute 'modules'`); on 0.13-0.17 it dies in
    `PolicyAndValueWrapper` (`'NoneType' object has no attribute 'base_model_prefix'`); from 0.18 the
    argument is required and the call raises `TypeError: ... missing 1 required positional argument:
    'value_model'`. All of this happens after every model has been loaded.

    Fix: build the value model the way TRL's own example does, as a single-logit sequence
    classifier from the reward model's path (or the policy's), and pass it as `value_model=`:
    `AutoModelForSequenceClassification.from_pretrained(reward_path, num_labels=1)`.
    Fix safety: safe; it adds the missing argument and changes nothing else.
    """

    code = "PPD101"
    name = "value-model-missing"
    severity = ERROR
    summary = "PPOTrainer is built without a value model"
    fixable = True
    invalid = ('''
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
        from trl.experimental.ppo import PPOConfig, PPOTrainer

        tokenizer = AutoTokenizer.from_pretrained("sft")
        tokenizer.add_special_tokens({"pad_token": "[PAD]"})
        policy = AutoModelForCausalLM.from_pretrained("sft")
        ref_policy = AutoModelForCausalLM.from_pretrained("sft")
        reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=PPOConfig(output_dir="out"), processing_class=tokenizer, model=policy,
                             ref_model=ref_policy, reward_model=reward_model, train_dataset=dataset)
        ''',)
    valid = ('''
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
        from trl.experimental.ppo import PPOConfig, PPOTrainer

        tokenizer = AutoTokenizer.from_pretrained("sft")
        tokenizer.add_special_tokens({"pad_token": "[PAD]"})
        policy = AutoModelForCausalLM.from_pretrained("sft")
        ref_policy = AutoModelForCausalLM.from_pretrained("sft")
        reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        value_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=PPOConfig(output_dir="out"), processing_class=tokenizer, model=policy,
                             ref_model=ref_policy, reward_model=reward_model, value_model=value_model,
                             train_dataset=dataset)
        ''', '''
        from trl import PPOTrainer
        trainer = PPOTrainer(**trainer_kwargs)  # hidden arguments: nothing to say
        ''')

    def check_setup(self, setup, context):
        if setup.role(VALUE) is not None or setup.unresolved_star or not new_api_applies(setup, context):
            return
        error = eras.missing_value_model_error(context.target.era) or "a missing required argument"
        yield self.report(
            f"{setup.trainer} is built without `value_model`: TRL fails with `{error}` after loading every "
            f"model ({versions(context)}); pass a single-logit sequence classifier as `value_model=`",
            setup.callee_span, setup,
            Fix("value_model", "Add `value_model=`: a single-logit AutoModelForSequenceClassification "
                "loaded from the reward model's path", SAFE, (("mode", "add"),)),
        )
