from __future__ import annotations

from ..probe.probe_checks import Check
from ..setup import kinds
from ..trl_api import eras
from ..types import ERROR, SAFE, Fix, KnownError, ModelKind, Role
from .base import Rule
from .common import new_api_applies, value_model_fix, value_model_works, versions


class ValueModelNone(Rule):
    """`value_model=None` is passed to the trainer.

    Why it breaks: TRL treats the value model like the other three models. On 0.12 it dies with
    `'NoneType' object has no attribute 'modules'` while disabling dropout; from 0.13 on with
    `'NoneType' object has no attribute 'base_model_prefix'` when it wraps policy and value
    together. Both happen in `__init__`, after every model has been loaded.

    Fix: pass a single-logit sequence classifier, as TRL's example does:
    `AutoModelForSequenceClassification.from_pretrained(reward_path, num_labels=1)`.
    Fix safety: safe; a trainer whose value model is None never runs, and the fix only replaces the None.
    Probe: reproduces the dropout walk (0.12) or PolicyAndValueWrapper (0.13 on) failing on None; the fix
    passes when the new value model goes through both and through `get_reward`.
    """

    code = "PPD102"
    name = "value-model-none"
    severity = ERROR
    roles = (Role.VALUE,)
    summary = "`value_model=None` is passed to PPOTrainer"
    fix_title = "replace None with a single-logit classifier from the reward model's path"
    probe_check = "dropout walk / PolicyAndValueWrapper on None; fixed: all pass with the new model"
    known_errors = (
        KnownError("value-model-none-prefix", r"'NoneType' object has no attribute 'base_model_prefix'",
                   "AttributeError: 'NoneType' object has no attribute 'base_model_prefix'", "0.13 - 1.12",
                   "PPOTrainer(...) (PolicyAndValueWrapper)", "`value_model=None` (or left out before 0.18)",
                   "pass a single-logit sequence classifier as `value_model=`", ("PPD101",)),
    )
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
        binding = setup.role(Role.VALUE)
        if binding is None or kinds.model_kind(binding.origin) != ModelKind.NO_MODEL or not new_api_applies(setup, context):
            return
        error = eras.none_value_model_error(context.target.era) or "an AttributeError on None"
        yield self.report(
            f"`value_model` is None: TRL fails with `{error}` in PPOTrainer.__init__ ({versions(context)}); "
            "pass a single-logit sequence classifier", binding.value_span, setup,
            Fix("Replace None with a single-logit AutoModelForSequenceClassification loaded from the reward "
                "model's path", SAFE),
        )

    def fix(self, diagnostic, context):
        return value_model_fix(context, "replace")

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import error_contains, first_failure

        none = error_contains("NoneType")
        return first_failure(facts, diagnostic.setup_index, ((Check.DROPOUT, none), (Check.WRAPPER, none)))

    def validate_fix(self, diagnostic, before, after):
        return value_model_works(diagnostic, after)
