from __future__ import annotations

from typing import Optional

from ..setup.model import Origin
from ..types import ERROR, KnownError, OriginKind, Role
from .base import Rule
from .common import new_api_applies, versions

# The non-local ancestors that make a class a plain torch module (not a transformers PreTrainedModel).
_TORCH_MODULE = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})
_ALTERNATIVE = ("PPO needs a transformers model here: `AutoModelForSequenceClassification.from_pretrained(path, "
                "num_labels=1)`")


class ScorerNotPretrainedModel(Rule):
    """The reward or value model is a Python function or a plain torch module, not a transformers model.

    Why it breaks: PPOTrainer (trl 0.12-1.12) treats `reward_model` and `value_model` as transformers
    models: in `__init__` it disables their dropout (`model.modules()`) and wraps the value model's
    backbone (`getattr(value_model, value_model.base_model_prefix)`); every rollout calls the reward
    model's backbone and its `score` head. A reward *function* (TRL issues #2273, #2451, #2518, #3093)
    fails in `__init__` with `AttributeError: 'function' object has no attribute 'modules'`. A custom
    `nn.Module` without `base_model_prefix` (#1977) fails with `AttributeError: 'RewardNet' object has
    no attribute 'base_model_prefix'`: in `__init__` as the value model, at the first rollout of
    `train()` as the reward model.

    Fix: PPO takes a single-logit `AutoModelForSequenceClassification` as reward and value model. A
    reward computed by a function belongs to `RLOOTrainer` or `GRPOTrainer` (`reward_funcs=[fn]`),
    which `ppodoctor migrate --to rloo|grpo` ports a PPO script to. No automatic fix: which model or
    trainer to use is the user's decision.
    """

    code = "PPD111"
    name = "scorer-not-pretrained-model"
    severity = ERROR
    subject_is_role = True  # one finding per role it names
    summary = "the reward or value model is a function or a plain nn.Module, not a transformers model"
    no_fix_reason = ("a reward function or custom module has no single-logit classifier equivalent in the script; "
                     "which model to train, or whether to move to RLOO/GRPO (`ppodoctor migrate`), is the user's "
                     "decision")
    known_errors = (
        KnownError("scorer-is-function", r"'(?!NoneType')[\w.]+' object has no attribute 'modules'",
                   "AttributeError: 'function' object has no attribute 'modules'", "0.12 - 1.12", "PPOTrainer(...)",
                   "a Python function, a lambda or a plain object is passed as `reward_model` or `value_model`",
                   "PPO needs a single-logit `AutoModelForSequenceClassification`; for a reward function use "
                   "RLOOTrainer/GRPOTrainer's `reward_funcs=` (`ppodoctor migrate --to rloo|grpo`)"),
        KnownError("scorer-no-base-model-prefix",
                   r"'(?!NoneType'|[\w.]*ValueHead)[\w.]+' object has no attribute 'base_model_prefix'",
                   "AttributeError: 'RewardNet' object has no attribute 'base_model_prefix'", "0.12 - 1.12",
                   "PPOTrainer(...) (value model) / train() (reward model)",
                   "a custom `nn.Module` that is not a transformers `PreTrainedModel` is the reward or value model",
                   "use a single-logit `AutoModelForSequenceClassification`, or give the module TRL's interface "
                   "(`base_model_prefix`, the backbone under that name, a `score` head)"),
    )
    invalid = ('''
        from trl.experimental.ppo import PPOTrainer
        def reward_fn(texts):
            return [float(len(t)) for t in texts]
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=reward_fn,
                             value_model=critic, train_dataset=ds)
        ''', '''
        import torch
        from trl.experimental.ppo import PPOTrainer
        class ValueNet(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.head = torch.nn.Linear(16, 1)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=ValueNet(), train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOTrainer
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=lambda texts: [1.0] * len(texts), value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=reward,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import PreTrainedModel
        from trl.experimental.ppo import PPOTrainer
        class RewardModel(PreTrainedModel):
            base_model_prefix = "model"
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref,
                             reward_model=RewardModel(config), value_model=critic, train_dataset=ds)
        ''', '''
        from mylib import reward_fn
        from trl.experimental.ppo import PPOTrainer
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=reward_fn,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOTrainer
        def load_reward():
            return AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=load_reward(),
                             value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        if not new_api_applies(setup, context):
            return
        for role in (Role.REWARD, Role.VALUE):
            binding = setup.role(role)
            what = _not_a_transformers_model(binding.origin) if binding is not None else None
            if what is None:
                continue
            error, when = what
            advice = _ALTERNATIVE + ("; a reward computed by a function belongs to RLOOTrainer/GRPOTrainer "
                                     "(`reward_funcs=`): `ppodoctor migrate --to rloo|grpo`" if role == Role.REWARD else "")
            yield self.report(
                f"{role} model `{binding.text}` is {_describe(binding.origin)}, not a transformers model: {when} "
                f"fails with `{error}` ({versions(context)}); {advice}", binding.value_span, setup, subject=role)


def _not_a_transformers_model(origin: Origin) -> Optional[tuple[str, str]]:
    """(the error TRL raises, when) for a function or a local plain-torch class instance; None otherwise."""
    if origin.kind == OriginKind.FUNCTION:
        return "AttributeError: 'function' object has no attribute 'modules'", "PPOTrainer(...)"
    local = origin.local_class if origin.kind == OriginKind.CONSTRUCTOR else None
    if local is None or "" in local.ancestors:
        return None  # not a class of this file, or a base that cannot be named
    if set(local.ancestors) <= {"object"} and not {"modules", "__getattr__"} & set(local.members):
        return f"AttributeError: '{local.name}' object has no attribute 'modules'", "PPOTrainer(...)"
    if not set(local.ancestors) <= _TORCH_MODULE | {"object"} or "base_model_prefix" in local.members \
            or "__getattr__" in local.members:
        return None  # a transformers model, or a module that offers TRL's interface itself
    return (f"AttributeError: '{local.name}' object has no attribute 'base_model_prefix'",
            "PPOTrainer(...) (value model) or the first rollout of train() (reward model)")


def _describe(origin: Origin) -> str:
    if origin.kind == OriginKind.FUNCTION:
        return "a lambda" if origin.text.startswith("lambda") else "a function defined in this file"
    return f"an instance of `{origin.local_class.name}`, a plain torch module"
