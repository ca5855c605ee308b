from __future__ import annotations

from typing import Optional

from ..setup import kinds
from ..setup.model import Origin
from ..types import WARNING, ModelKind, OriginKind, Role, ValueKind
from .base import Rule
from .group_common import GROUP_KINDS, applies, example, trainer_word


class RewardModelLabels(Rule):
    """A reward model in `reward_funcs` has more than one label: the trainer scores with its first logit.

    Why it is wrong (silently): RLOOTrainer and GRPOTrainer score a completion with a reward model as
    `reward_func(**inputs).logits[:, 0]` (trl 1.12 - 1.16). A model with `num_labels=1` has one logit,
    its score. A two-class judge (say "bad", "good") trains without an error, but the reward is the
    logit of class 0, which for most judges is the *bad* class: the policy is pushed towards what the
    judge dislikes. Measured in trl 1.16 on a tiny two-label classifier: the trainer's rewards equal
    `logits[:, 0]` exactly, and train() runs to its end.

    Fix: load the reward model with `num_labels=1` (a scalar reward head), or wrap the judge in a
    reward function that returns the logit (or probability) of the class you want.
    The rule reads `num_labels=` where the model is loaded, else the saved config of a local model (one
    that names no labels has transformers' default, two).
    """

    code = "PPD605"
    name = "reward-model-labels"
    severity = WARNING
    summary = "a reward model with num_labels != 1: RLOO/GRPO score with its first logit"
    trainer_kinds = GROUP_KINDS
    invalid = (example('''
        from transformers import AutoModelForSequenceClassification
        from trl import GRPOTrainer
        judge = AutoModelForSequenceClassification.from_pretrained("org/judge", num_labels=2)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=judge, args=config, train_dataset=ds)
        '''),)
    valid = (example('''
        from transformers import AutoModelForSequenceClassification
        from trl import GRPOTrainer
        judge = AutoModelForSequenceClassification.from_pretrained("org/rm", num_labels=1)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=[judge, "org/rm"], args=config,
                              train_dataset=ds)
        '''),)

    def check_setup(self, setup, context):
        binding = setup.role(Role.REWARD_FUNCS)
        if binding is None or not applies(context):
            return
        for origin in binding.members():
            labels, where = self._labels(origin, context)
            if labels is None or labels == 1:
                continue
            yield self.report(
                f"reward model `{origin.text or binding.text}` has num_labels={labels} ({where}): "
                f"{trainer_word(setup)}Trainer scores completions with `logits[:, 0]`, the first class only "
                "(for a good/bad judge usually the bad one), and trains without a word; load it with "
                "num_labels=1 or wrap it in a reward function that returns the logit you mean",
                origin.span or binding.value_span, setup, subject="reward_funcs")

    @staticmethod
    def _labels(origin: Origin, context) -> tuple[Optional[int], str]:
        while origin.kind in (OriginKind.COPY, OriginKind.PEFT) and origin.base is not None:
            origin = origin.base
        if kinds.model_kind(origin) != ModelKind.SEQUENCE_CLASSIFIER or origin.kind != OriginKind.FROM_PRETRAINED:
            return None, ""
        keyword = origin.keyword("num_labels")
        if keyword is not None:
            known = keyword.value.kind == ValueKind.LITERAL and isinstance(keyword.value.value, int)
            return (keyword.value.value, "as loaded") if known else (None, "")
        saved = context.saved.config(origin.path) if context.saved is not None else None
        if saved is None:
            return None, ""
        # A config that names no labels gets transformers' default: two (PretrainedConfig.num_labels).
        labels = saved.num_labels if saved.num_labels is not None else 2
        return labels, f"its saved config in {saved.directory}" + ("" if saved.num_labels else ", which names no "
                                                                    "labels: transformers' default of 2")
