from __future__ import annotations

from ..probe.probe_checks import Check
from ..trl_api import eras
from ..types import ERROR, SAFE, Fix, KnownError, Role
from .base import Rule
from .common import new_api_applies, value_model_fix, value_model_works, versions

# In __init__'s order: Python's own TypeError (0.18 on), the dropout walk (0.12), the wrapper (0.13 - 0.17).
_FAILURES = (Check.SIGNATURE, Check.DROPOUT, Check.WRAPPER)


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
    Fix safety: safe; a trainer without a value model never runs, and the fix only adds one.
    Probe: reproduces the error this TRL raises first (the signature's TypeError, or the dropout walk
    or the wrapper on None); the fix passes when the call binds and the new value model goes through
    the dropout walk, PolicyAndValueWrapper's forward pass and `get_reward`.
    """

    code = "PPD101"
    name = "value-model-missing"
    severity = ERROR
    roles = (Role.VALUE,)
    steps = (Check.SIGNATURE,)  # the call binds once value_model= is passed
    summary = "PPOTrainer is built without a value model"
    fix_title = "add `value_model=`: a single-logit classifier from the reward model's path"
    probe_check = "signature / dropout walk / PolicyAndValueWrapper on None; fixed: all pass with the new model"
    known_errors = (
        KnownError("value-model-required", r"missing 1 required positional argument: '?value_model'?",
                   "TypeError: PPOTrainer.__init__() missing 1 required positional argument: 'value_model'",
                   "0.18 - 1.12", "PPOTrainer(...)", "the trainer is built without a value model",
                   "pass a single-logit sequence classifier as `value_model=`, e.g. "
                   "`AutoModelForSequenceClassification.from_pretrained(reward_path, num_labels=1)`"),
        KnownError("value-model-none-modules", r"'NoneType' object has no attribute 'modules'",
                   "AttributeError: 'NoneType' object has no attribute 'modules'", "0.12",
                   "PPOTrainer(...) (disabling dropout)",
                   "`value_model` is left out or None; TRL 0.12 defaults it to None",
                   "pass a single-logit sequence classifier as `value_model=`", ("PPD102",)),
    )
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
        if setup.role(Role.VALUE) is not None or setup.unresolved_star or not new_api_applies(setup, context):
            return
        error = eras.missing_value_model_error(context.target.era) or "a missing required argument"
        yield self.report(
            f"{setup.trainer} is built without `value_model`: TRL fails with `{error}` after loading every "
            f"model ({versions(context)}); pass a single-logit sequence classifier as `value_model=`",
            setup.callee_span, setup,
            Fix("Add `value_model=`: a single-logit AutoModelForSequenceClassification loaded from the reward "
                "model's path", SAFE),
        )

    def fix(self, diagnostic, context):
        return value_model_fix(context, "add")

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import error_contains, first_failure

        def missing(check):
            return "value_model" in check.detail("missing")

        none = error_contains("NoneType")
        return first_failure(facts, diagnostic.setup_index, ((Check.SIGNATURE, missing), (Check.DROPOUT, none),
                                                             (Check.WRAPPER, none)))

    def validate_fix(self, diagnostic, before, after):
        return value_model_works(diagnostic, after)
