from __future__ import annotations

from ..setup import kinds
from ..types import ERROR, SAFE, Declined, Fix, KnownError, ModelKind, OriginKind, Role, ValueKind
from .base import Rule
from .common import new_api_applies, versions


# The heads a sequence classifier's num_labels sizes (BERT-style encoders call theirs `classifier`).
_CLASSIFIER_HEADS = ("score", "classifier")
# What train() raises, measured in trl 1.12 with a two-label head on each role (tests/test_styles_more.py).
_ERRORS = {Role.REWARD: "RuntimeError: output with shape [...] doesn't match the broadcast shape",
           Role.VALUE: "RuntimeError: The size of tensor a (...) must match the size of tensor b (...) at "
                       "non-singleton dimension 2"}


def _num_labels(origin):
    """The `num_labels=` written where the model is built: on its own call, or, for a model built from a
    config the source shows (`X.from_config(AutoConfig.from_pretrained(path, num_labels=2))`), on the
    config's call."""
    keyword = origin.keyword("num_labels")
    if keyword is None and origin.config is not None:
        keyword = origin.config.keyword("num_labels")
    return keyword


class NumLabelsNotOne(Rule):
    """The reward or value model is built with `num_labels` other than 1.

    Why it breaks: TRL reads one scalar per token from the `score` head. With `num_labels=2`
    the head emits two, and `train()` dies after the first rollout: a reward model with
    `RuntimeError: output with shape [2] doesn't match the broadcast shape [2, 2]` (trl 1.12; a shape
    error on 0.12), a value model with `RuntimeError: The size of tensor a (4) must match the size of
    tensor b (2) at non-singleton dimension 2` (trl 1.12, masking the values).

    A model loaded without `num_labels` takes the count from its saved config (two labels when
    the config names none); only the probe (`ppodoctor check --probe`) sees that head's width, and
    reports the same finding, saying it came from the config.

    Fix: pass `num_labels=1`.
    Fix safety: safe; a multi-logit head cannot work with TRL's PPO at all. The fix edits the literal
    where it is written: the call's `num_labels=`, the dict a `**kwargs` unpacks, or, for a model built
    with `from_config`, the `AutoConfig.from_pretrained(..., num_labels=...)` call it is built from.
    Probe: reads the width of each scorer's head as built from its config; the fix passes when both
    heads have one output.
    """

    code = "PPD105"
    name = "num-labels-not-one"
    severity = ERROR
    roles = (Role.REWARD, Role.VALUE)
    summary = "the reward or value model has `num_labels` other than 1"
    fix_title = "set num_labels=1 where it is written"
    probe_check = "width of the reward and value heads built on the meta device; fixed: 1"
    known_errors = (
        KnownError("num-labels-shape", r"doesn't match the broadcast shape|output with shape \[\d+\]",
                   "RuntimeError: output with shape [2] doesn't match the broadcast shape [2, 2]", "0.12 - 1.12",
                   "train()", "the reward or value model has `num_labels` other than 1", "load it with `num_labels=1`"),
        KnownError("num-labels-value-shape", r"must match the size of tensor b \(\d+\) at non-singleton dimension 2",
                   "RuntimeError: The size of tensor a (4) must match the size of tensor b (2) at non-singleton "
                   "dimension 2", "1.12", "train()", "the value model has `num_labels` other than 1",
                   "load it with `num_labels=1`"),
    )
    invalid = ('''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=2)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=reward_model, value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoConfig, AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        reward_config = AutoConfig.from_pretrained("rm", num_labels=2)
        reward_model = AutoModelForSequenceClassification.from_config(reward_config)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=reward_model, value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=reward_model, value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=args.labels)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=reward_model, value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoConfig, AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        reward_config = AutoConfig.from_pretrained("rm", num_labels=1)
        reward_model = AutoModelForSequenceClassification.from_config(reward_config)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=reward_model, value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        if not new_api_applies(setup, context):
            return
        for role in (Role.REWARD, Role.VALUE):
            binding = setup.role(role)
            if binding is None or kinds.model_kind(binding.origin) != ModelKind.SEQUENCE_CLASSIFIER:
                continue
            origin = binding.origin
            while origin.kind in (OriginKind.COPY, OriginKind.PEFT) and origin.base is not None:
                origin = origin.base
            keyword = _num_labels(origin)
            if keyword is None or keyword.value.kind != ValueKind.LITERAL or keyword.value.value == 1:
                continue
            yield self.report(
                f"{role} model has num_labels={keyword.value.text}: TRL needs one scalar per token and train() "
                f"fails with `{_ERRORS[role]}` ({versions(context)}); use num_labels=1",
                # where the value is written, which the fix edits: a `**mapping`'s entry when it comes from one
                (keyword.value_span if keyword.key_span is not None else keyword.span) or binding.value_span, setup,
                Fix("Set num_labels=1", SAFE, (("role", role),)),
            )

    def fix(self, diagnostic, context):
        # the fix library loads only when a fix is made: kept off `check`
        from ..fixes.builders import base_origin

        origin = base_origin(context.setup.origin(diagnostic.fix.param("role", Role.REWARD)))
        keyword = _num_labels(origin) if origin is not None else None
        if keyword is None or keyword.value_span is None:
            raise Declined("no literal `num_labels` to change")
        return (context.source.replace_span(keyword.value_span, "1"),)

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import head_widths

        return head_widths(facts, diagnostic.setup_index)

    def from_probe(self, setup, facts, already):
        """Scorers loaded without `num_labels` whose saved config gives the head more than one output."""
        for role in (Role.REWARD, Role.VALUE):
            binding, model = setup.role(role), facts.model(role)
            if binding is None or not model.built or model.head_width in (None, 1) \
                    or model.head not in _CLASSIFIER_HEADS:
                continue  # a causal LM's `lm_head` is another rule's (the wrong class), not num_labels
            origin = binding.origin
            while origin.kind in (OriginKind.COPY, OriginKind.PEFT) and origin.base is not None:
                origin = origin.base
            if _num_labels(origin) is not None:
                continue  # a literal one is the static rule's; a computed one the probe cannot read
            width = model.head_width
            yield self.report(
                f"{role} model `{model.source}` is loaded without num_labels and its config gives the "
                f"`{model.head}` head {width} outputs: TRL needs one scalar per token and train() fails with "
                f"`{_ERRORS[role]}` (trl 0.12-1.12); pass num_labels=1", origin.span or binding.value_span, setup), \
                f"the {role} model's `{model.head}` head has {width} outputs (num_labels from its config)"
