from __future__ import annotations

from ..probe.probe_checks import Check
from ..setup import kinds
from ..types import DISPLAY_ONLY, ERROR, UNSAFE, Declined, Fix, ModelKind, Role
from .base import Rule
from .common import describe, is_policy_object, new_api_applies, scorer_failure, versions


class RewardModelNotClassifier(Rule):
    """The reward model is not a sequence classifier.

    Why it breaks: TRL scores each response with `get_reward`, which calls the reward model's
    backbone and then its `score` head. A causal LM has none: `__init__` succeeds and the first
    rollout in `train()` dies with `AttributeError: ... object has no attribute 'score'` (trl
    0.12-1.12).

    Fix: load the reward model with `AutoModelForSequenceClassification.from_pretrained(path,
    num_labels=1)` from a checkpoint trained as a reward model.
    Fix safety: unsafe: loading a checkpoint as a classifier cures the crash, but only a checkpoint
    trained as a reward model gives meaningful rewards. Where the saved config shows a causal LM, the
    fix is advice only (a random `score` head would train on noise).
    Probe: reproduces the missing `score` in `get_reward`; the fix passes when the new reward model's
    `get_reward` runs and its checkpoint was saved as a sequence classifier.
    """

    code = "PPD104"
    name = "reward-model-not-classifier"
    severity = ERROR
    roles = (Role.REWARD,)
    summary = "the reward model is not a sequence classifier"
    fix_title = "load the reward checkpoint as a single-logit AutoModelForSequenceClassification"
    probe_check = "get_reward on the reward model; fixed: passes, and the checkpoint is a saved classifier"
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
        binding = setup.role(Role.REWARD)
        if binding is None or not new_api_applies(setup, context):
            return
        kind = kinds.model_kind(binding.origin)
        if kind not in (ModelKind.CAUSAL_LM, ModelKind.OTHER_MODEL) and not is_policy_object(setup, binding):
            return
        yield self.report(
            f"reward model {describe(binding)} has no `score` head; init succeeds, then train() fails with "
            f"`AttributeError: ... object has no attribute 'score'` ({versions(context)}); load it with "
            "AutoModelForSequenceClassification and num_labels=1",
            binding.value_span, setup,
            Fix("Load the reward model as a single-logit AutoModelForSequenceClassification",
                DISPLAY_ONLY if _saved_causal_lm(binding.origin, context) else UNSAFE),
        )

    def fix(self, diagnostic, context):
        # the fix library loads only when a fix is made: kept off `check`
        from ..fixes.builders import (add_keyword, base_origin, from_pretrained_call, has_keyword, joined,
                                      keywords_call, shared_with, swap_class)

        origin = base_origin(context.setup.origin(Role.REWARD))
        call, written = from_pretrained_call(origin, context.source, "reward model")
        shared = shared_with(context.setup, origin, (Role.POLICY, Role.REFERENCE, Role.VALUE), call_too=True)
        if shared:
            raise Declined(f"the reward model is built by the same call as the {shared} model")
        # A loader's one call serving several models takes its keywords where `**options` is filled (a
        # loader factory's call, or the options dict of the reward's row in a table a loop loads).
        target = keywords_call(origin, context.source, call)
        edits = swap_class(context.source, written, "transformers", "AutoModelForSequenceClassification")
        if not has_keyword(target, "num_labels") and origin.keyword("num_labels") is None:
            edits += add_keyword(context.source, target, "num_labels", "1")
        return joined(edits)

    def reproduce(self, diagnostic, facts):
        return scorer_failure(facts, diagnostic, (Check.REWARD_GET_REWARD,))

    def validate_fix(self, diagnostic, before, after):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import model

        broken, detail = scorer_failure(after, diagnostic, (Check.REWARD_GET_REWARD,))
        if broken is not False:
            return (None if broken is None else False), detail
        built = model(after.setup(diagnostic.setup_index), "reward")
        saved = built.architectures
        if not any(name.endswith("ForSequenceClassification") for name in saved):
            shown = ", ".join(saved) or "no known architecture"
            return False, (f"the reward checkpoint `{built.source}` was saved as {shown}, not a sequence "
                           "classifier: its `score` head would be random")
        return True, detail


def _saved_causal_lm(origin, context) -> bool:
    """The checkpoint's saved config names causal-LM architectures only (no trained scorer in it)."""
    # the fix library loads only when a fix is made: kept off `check`
    from ..fixes.builders import base_origin

    base = base_origin(origin)
    saved = context.saved.config(base.path) if context.saved is not None and base is not None else None
    return saved is not None and bool(saved.architectures) and not any(
        name.endswith("ForSequenceClassification") for name in saved.architectures)
