from __future__ import annotations

import inspect
from typing import Optional

from ..probe.probe_checks import Check
from ..setup import kinds
from ..setup.model import Origin
from ..types import DISPLAY_ONLY, ERROR, SAFE, UNSAFE, Applicability, Declined, Fix, KnownError, ModelKind, OriginKind, Role
from .base import Example, Rule
from .common import describe, new_api_applies, versions

# What the run meets, per role (measured: trl 1.12 with transformers 5, trl 0.12.2 with transformers 4.46).
_WHAT_BREAKS = {
    Role.POLICY: "PPOTrainer(...) fails with `AttributeError: '...' object has no attribute 'generation_config'` "
            "(transformers 4: `'NoneType' object has no attribute 'eos_token_id'`)",
    Role.REFERENCE: "init succeeds, then the first rollout of train() fails (a base model: `AttributeError: "
               "'BaseModelOutputWithPast' object has no attribute 'logits'`; a classifier scores whole sequences, "
               "not tokens)",
}
_CHECK = {Role.POLICY: Check.GENERATION_CONFIG, Role.REFERENCE: Check.REFERENCE_LOGITS}


class PolicyNotCausalLM(Rule):
    """The policy or the reference model is loaded with a class that is not a causal LM.

    Why it breaks: PPOTrainer (trl 0.12-1.12) generates the responses with the policy and scores
    every token with the policy and the reference model, so both need a language-model head. A
    model loaded with `AutoModel`, a base class (`LlamaModel`, `GPT2Model`) or a sequence
    classifier has none: as the policy, `__init__` fails when it sets the stop token,
    `AttributeError: 'LlamaModel' object has no attribute 'generation_config'` (transformers 5;
    under transformers 4 `'NoneType' object has no attribute 'eos_token_id'`); as the reference,
    `__init__` succeeds and the first rollout of `train()` fails with `AttributeError:
    'BaseModelOutputWithPast' object has no attribute 'logits'` (a base model) or in the
    classifier's forward pass (`Cannot handle batch sizes > 1 if no padding token is defined`).

    Fix: load it with `AutoModelForCausalLM.from_pretrained(...)`, same path and arguments; a model
    built from a config (`AutoModel.from_config(config)`, `LlamaModel(config)`) is built with
    `AutoModelForCausalLM.from_config(config)`.
    Fix safety: safe when the checkpoint's saved config shows a causal-LM architecture (the original
    cannot run, and the checkpoint has the LM head the new class loads); unsafe when the checkpoint
    cannot be seen; advice only when it was saved without an LM head (the head would be random). A
    model built from a config is unsafe without the probe (the source does not show that the config
    has a causal-LM class); the probe builds it from the same config and confirms it.
    Probe: reproduces the missing generation config (policy) or per-token logits (reference) on the
    meta device; the fix passes when the new model has them and its checkpoint was saved as a causal LM
    (a model built from a config has no checkpoint: its weights are random before and after). The
    config is built as the script makes it, `AutoConfig.from_pretrained(path, ...)` or a config class
    called with literal arguments; any other config (read from elsewhere, changed after it is made)
    leaves the fix unchecked, with that reason.
    """

    code = "PPD110"
    name = "policy-not-causal-lm"
    severity = ERROR
    subject_is_role = True  # one finding per role it names
    summary = "the policy or reference model is not a causal LM"
    fix_title = "load it with AutoModelForCausalLM (same path and arguments)"
    probe_check = "generation_config on the policy / per-token logits of the reference (built from its checkpoint's " \
                  "or the script's config); fixed: both, and a causal checkpoint unless built from a config"
    known_errors = (
        KnownError("policy-no-generation-config", r"'(?!\w*ValueHead)\w+' object has no attribute 'generation_config'",
                   "AttributeError: 'LlamaModel' object has no attribute 'generation_config'", "0.12 - 1.12",
                   "PPOTrainer(...)", "the policy is a model without an LM head (`AutoModel`, `LlamaModel`, a "
                   "sequence classifier)", "load the policy with `AutoModelForCausalLM.from_pretrained(...)`"),
        KnownError("policy-generation-config-none", r"'NoneType' object has no attribute 'eos_token_id'",
                   "AttributeError: 'NoneType' object has no attribute 'eos_token_id'", "0.12 (transformers 4)",
                   "PPOTrainer(...)", "the policy is a model without an LM head, whose `generation_config` is None",
                   "load the policy with `AutoModelForCausalLM.from_pretrained(...)`"),
        KnownError("reference-no-logits", r"'BaseModelOutputWithPast' object has no attribute 'logits'",
                   "AttributeError: 'BaseModelOutputWithPast' object has no attribute 'logits'", "0.12 - 1.12",
                   "train() (first rollout)", "the reference model is a base model without an LM head (`AutoModel`)",
                   "load the reference with `AutoModelForCausalLM.from_pretrained(...)`"),
    )
    invalid = ('''
        from transformers import AutoModel
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModel.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForCausalLM, LlamaModel
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=LlamaModel.from_pretrained("sft"),
                             reward_model=rm, value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForSequenceClassification
        from trl import PPOTrainer
        policy = AutoModelForSequenceClassification.from_pretrained("sft", num_labels=1)
        trainer = PPOTrainer(config=cfg, processing_class=tok, policy=policy, ref_policy=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from peft import AutoPeftModelForCausalLM
        from transformers import GPT2LMHeadModel
        from trl.experimental.ppo import PPOTrainer
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=AutoPeftModelForCausalLM.from_pretrained("adapter"),
                             ref_model=GPT2LMHeadModel.from_pretrained("gpt2"), reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from mylib import MyPolicy
        from trl.experimental.ppo import PPOTrainer
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=MyPolicy.from_pretrained("sft"), ref_model=ref,
                             reward_model=rm, value_model=critic, train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import AutoModelForCausalLMWithValueHead, PPOTrainer
        policy = AutoModelForCausalLMWithValueHead.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', Example(inspect.cleandoc('''
            from transformers import AutoModel
            from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer
            model = AutoModelForCausalLMWithValueHead.from_pretrained("sft")
            ref_model = AutoModel.from_pretrained("sft")
            ppo_trainer = PPOTrainer(PPOConfig(), model, ref_model, tok, dataset=ds)
            ''') + "\n", trl_version="0.11.4"))

    def check_setup(self, setup, context):
        if not new_api_applies(setup, context):
            return
        policy_base = _base(setup.origin(Role.POLICY))
        for role in (Role.POLICY, Role.REFERENCE):
            binding = setup.role(role)
            base = _base(binding.origin) if binding is not None else None
            if base is None or not _without_lm_head(base):
                continue
            if role == Role.REFERENCE and policy_base is not None \
                    and (base.class_span or base.span) == (policy_base.class_span or policy_base.span):
                continue  # a copy of the policy, or its class written in one place: the policy's finding covers it
            fix = None
            if base.kind == OriginKind.FROM_PRETRAINED:
                fix = Fix(f"Load the {role} model with AutoModelForCausalLM", _applicability(base, context))
            elif _built_from_config(base):
                # Built from a config (no weights either way): the same config as a causal LM; whether
                # the config has a causal-LM class is the probe's to confirm.
                fix = Fix(f"Build the {role} model with AutoModelForCausalLM.from_config", UNSAFE)
            yield self.report(
                f"{role} model {describe(binding)} is not a causal LM: it has no LM head, so {_WHAT_BREAKS[role]} "
                f"({versions(context)}); load it with AutoModelForCausalLM", binding.value_span, setup, fix,
                subject=role)

    def fix(self, diagnostic, context):
        # the fix library loads only when a fix is made: kept off `check`
        from ..fixes.builders import base_origin, from_pretrained_call, shared_with, swap_class

        role = diagnostic.subject
        origin = base_origin(context.setup.origin(role))
        if _built_from_config(origin):
            return _from_config_edits(context.source, origin, role)
        _call, written = from_pretrained_call(origin, context.source, f"{role} model")
        others = tuple(r for r in (Role.POLICY, Role.REFERENCE, Role.REWARD, Role.VALUE) if r != role)
        shared = shared_with(context.setup, origin, others if role == Role.REFERENCE else (Role.REWARD, Role.VALUE))
        if shared:
            raise Declined(f"the {role} model is built by the same call as the {shared} model")
        return swap_class(context.source, written, "transformers", "AutoModelForCausalLM")

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import failed

        return failed(facts, diagnostic.setup_index, (_CHECK[diagnostic.subject],))

    def validate_fix(self, diagnostic, before, after):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import failed, model

        broken, detail = failed(after, diagnostic.setup_index, (_CHECK[diagnostic.subject],))
        if broken is not False:
            return (None if broken is None else False), detail
        built = model(after.setup(diagnostic.setup_index), diagnostic.subject)
        if built.from_config:
            return True, detail + f" (built from the config `{built.source}`: its weights are random either way)"
        saved = built.architectures
        if not any(kinds.class_kind(f"transformers.{name}") == ModelKind.CAUSAL_LM for name in saved):
            shown = ", ".join(saved) or "no known architecture"
            return False, (f"the checkpoint `{built.source}` was saved as {shown}, not a causal LM: its LM "
                           "head would be random")
        return True, detail


def _without_lm_head(origin: Origin) -> bool:
    """A transformers base model (`AutoModel`, `LlamaModel`) or sequence classifier: the classes whose
    failure is measured. Token-classification, QA and masked-LM heads are left alone."""
    kind = kinds.model_kind(origin)
    if kind == ModelKind.SEQUENCE_CLASSIFIER:
        return True
    return kind == ModelKind.OTHER_MODEL and origin.class_name.rsplit(".", 1)[-1].endswith("Model")


def _built_from_config(origin: Optional[Origin]) -> bool:
    """`AutoModel.from_config(config)` or a transformers class called with its config (`LlamaModel(config)`)."""
    if origin is None:
        return False
    if origin.kind == OriginKind.FROM_CONFIG:
        return origin.class_span is not None
    return origin.kind == OriginKind.CONSTRUCTOR and origin.class_name.startswith("transformers.") \
        and len(origin.args) == 1 and not origin.keywords and origin.span is not None


def _from_config_edits(source, origin: Origin, role: str):
    """`AutoModel.from_config(c)` → `AutoModelForCausalLM.from_config(c)`; `LlamaModel(c)` →
    `AutoModelForCausalLM.from_config(c)` (transformers picks the causal-LM class of the config)."""
    import libcst as cst

    # the fix library loads only when a fix is made: kept off `check`
    from ..fixes.builders import spell_at, swap_class

    if origin.kind == OriginKind.FROM_CONFIG:
        return swap_class(source, source.node_at(origin.class_span, cst.BaseExpression), "transformers",
                          "AutoModelForCausalLM")
    call = source.node_at(origin.span, cst.Call)
    config = next((a.value for a in call.args if a.keyword is None and not a.star), None)
    if config is None:
        raise Declined(f"the {role} model's config is not its one positional argument")
    spelling = spell_at(source, call, "transformers", "AutoModelForCausalLM")
    return (source.replace(call, f"{spelling.text}.from_config({source.module.code_for_node(config)})"),) \
        + spelling.edits


def _base(origin: Optional[Origin]) -> Optional[Origin]:
    while origin is not None and origin.kind in (OriginKind.COPY, OriginKind.PEFT) and origin.base is not None:
        origin = origin.base
    return origin


def _applicability(base: Origin, context) -> Applicability:
    """Safe when the saved checkpoint is a causal LM; advice only when it has no LM head to load."""
    saved = context.saved.config(base.path) if context.saved is not None else None
    if saved is None or not saved.architectures:
        return UNSAFE
    causal = any(kinds.class_kind(f"transformers.{name}") == ModelKind.CAUSAL_LM for name in saved.architectures)
    return SAFE if causal else DISPLAY_ONLY
