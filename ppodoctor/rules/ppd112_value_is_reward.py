from __future__ import annotations

from ..probe.probe_checks import Check
from ..setup import kinds
from ..types import UNSAFE, WARNING, Fix, ModelKind, OriginKind, Role
from .base import Rule
from .common import is_policy_object, new_api_applies, value_model_fix, value_model_works, versions
from .ppd305_model_frozen import frozen_by

# The shared object's kinds that make TRL crash instead (PPD103, PPD104, PPD107, PPD110 speak for them).
_CRASHING_KINDS = (ModelKind.CAUSAL_LM, ModelKind.VALUE_HEAD, ModelKind.OTHER_MODEL, ModelKind.NO_MODEL)


class ValueIsReward(Rule):
    """The value model is the same object as the reward model.

    Why it is wrong: PPOTrainer (trl 0.12-1.12; PPOv2Trainer before it) wraps the policy and the value
    model in one module (`PolicyAndValueWrapper`) and its optimizer updates every trainable parameter of
    that module. When `value_model` is the reward model object (`value_model=reward_model`, `critic =
    rm`), the value loss trains the reward model itself: nothing fails, but the reward model's weights
    change at every PPO update, so the rewards the policy is optimised against drift during training
    (and the reward model no longer scores as it was trained to). A real run in trl 1.12 shows every
    weight tensor of the reward model changed after two episodes; with a separate critic none did
    (tests/test_value_is_reward.py).

    Fix: a separate single-logit `AutoModelForSequenceClassification`, loaded from the reward model's
    path as TRL's example does: the critic starts from the reward model's weights and trains on its
    own. A frozen shared object (`requires_grad_(False)`) is left to PPD305: nothing is trained then.
    Fix safety: unsafe; the script runs as it is, and the fix changes what it trains (intended: the
    reward model stays fixed) and loads a second copy of the scorer, which costs memory. The probe
    can confirm it: TRL's own wrapper shows the reward model's parameters among the trained ones
    before the fix, and none of them after it.
    Probe: the reward model's parameters among PolicyAndValueWrapper(policy, value)'s trainable ones;
    the fix passes when none are and the new value model goes through TRL's value-model checks.
    """

    code = "PPD112"
    name = "value-is-reward"
    severity = WARNING
    roles = (Role.VALUE,)
    summary = "the value model is the reward model object, so PPO trains the reward model"
    fix_title = "replace it with a separate single-logit classifier from the reward model's path"
    probe_check = "reward parameters among PolicyAndValueWrapper(policy, value)'s trained ones; fixed: none are"
    invalid = ('''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=reward_model, value_model=reward_model, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        critic = rm
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        rm.requires_grad_(False)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=rm, train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOTrainer
        from mylib import load_scorer
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=load_scorer("rm"), value_model=load_scorer("rm"), train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        value, reward = setup.role(Role.VALUE), setup.role(Role.REWARD)
        if value is None or reward is None or not kinds.same_object(value.origin, reward.origin):
            return
        if is_policy_object(setup, value) or not new_api_applies(setup, context):
            return  # the policy as the value model is PPD109's (it crashes)
        origin = value.origin
        if origin.kind == OriginKind.FUNCTION or kinds.model_kind(origin) in _CRASHING_KINDS \
                or frozen_by(origin) is not None:
            return  # TRL crashes (other rules), or nothing is trained (PPD305)
        shared = f"`{value.text}` is also the reward model" if value.text == reward.text else \
            f"`{value.text}` is the reward model object `{reward.text}`"
        yield self.report(
            f"the value model {shared}: PPO's optimizer trains the value model, so every update changes the reward "
            f"model's weights and the rewards drift during training, without an error ({versions(context)}); pass a "
            "separate single-logit sequence classifier",
            value.value_span, setup,
            Fix("Replace the value model with a separate single-logit AutoModelForSequenceClassification", UNSAFE),
        )

    def fix(self, diagnostic, context):
        return value_model_fix(context, "replace")

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import failed

        return failed(facts, diagnostic.setup_index, (Check.REWARD_NOT_TRAINED,))

    def validate_fix(self, diagnostic, before, after):
        shared, detail = self.reproduce(diagnostic, after)
        if shared is None or shared:
            return (None if shared is None else False), detail
        return value_model_works(diagnostic, after)
