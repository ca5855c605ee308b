from __future__ import annotations

from ..types import ERROR, Role
from .base import Rule
from .ppd103_value_model_not_classifier import ValueModelNotClassifier
from .ppd104_reward_model_not_classifier import RewardModelNotClassifier
from .ppd109_value_is_policy import ValueIsPolicy


class HeadUnusable(Rule):
    """A reward or value model is a sequence classifier whose head TRL cannot use.

    Why it breaks: TRL scores sequences with `model.score(hidden_states)` (`get_reward`). Decoder
    classifiers (Llama, Gemma, Mistral, Qwen2, GPT-2, GPT-NeoX) name that head `score`; encoder
    reward models (BERT, RoBERTa, DeBERTa, e.g. OpenAssistant/reward-model-deberta-v3-large-v2) name
    it `classifier`, so the first rollout of `train()` raises `AttributeError:
    'DebertaV2ForSequenceClassification' object has no attribute 'score'` (trl 0.12-1.12). Only the
    checkpoint's config tells which head a model has, so this rule runs in the probe
    (`ppodoctor check --probe`), which builds the model from its config on the meta device and calls
    TRL's own `get_reward` on it.

    Fix: use a reward model with a decoder architecture trained for the policy's tokenizer, or
    train one (TRL's RewardTrainer produces a `score` head). No automatic fix.
    """

    code = "PPD501"
    name = "head-unusable"
    severity = ERROR
    summary = "a reward or value model's head is not the `score` head TRL calls (runtime, --probe)"
    no_fix_reason = ("no edit to the script gives the checkpoint a trained `score` head: a different or newly "
                     "trained reward model is needed")
    runtime_only = True
    probe_check = "get_reward on the meta-device scorer built from its config"
    # Per role, the static rules whose finding already names this model (`superseded_by`, by role).
    superseded_for_role = {Role.REWARD: (RewardModelNotClassifier,),
                           Role.VALUE: (ValueModelNotClassifier, ValueIsPolicy)}

    def from_probe(self, setup, facts, already):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import unusable_heads

        for role, model, error in unusable_heads(facts):
            if already & set(self.superseded_for_role[Role(role)]):
                continue  # the static finding already names this model
            binding = setup.role(Role.REWARD if role == "reward" else Role.VALUE)
            if binding is None:
                continue
            yield self.report(
                f"the {role} model {model.class_name} (from `{model.source}`) has a `{model.head}` head, "
                f"not `score`: train() fails with `{error}` (trl 0.12-1.12); use a decoder reward model",
                binding.value_span, setup), error
