from __future__ import annotations

from ..probe.probe_checks import Check
from ..setup import kinds
from ..types import ERROR, SAFE, Declined, Fix, KnownError, ModelKind, Role
from .base import Rule
from .common import new_api_applies, value_model_fix, value_model_works, versions

_ERRORS = {
    Role.POLICY: "AttributeError: ... object has no attribute 'generation_config'",
    Role.VALUE: "AttributeError: ... object has no attribute 'base_model_prefix'",
    Role.REFERENCE: "AttributeError: 'tuple' object has no attribute 'logits'",
    Role.REWARD: "an AttributeError on the wrapper",
}


class ValueHeadWrapper(Rule):
    """A value-head wrapper (`AutoModelForCausalLMWithValueHead`) is given to the new-era trainer.

    Why it breaks: up to TRL 0.11 the policy was a `PreTrainedModelWrapper` that carried its own
    value head. From 0.12 the trainer takes plain transformers models and a separate value model;
    the wrapper lacks their attributes: as the policy it fails with `no attribute
    'generation_config'`, as the value model with `no attribute 'base_model_prefix'` (trl 1.12),
    both in `__init__`.

    As the reference it gets through `__init__`, and the first rollout dies on its forward pass, which
    returns a tuple, not an output with `.logits`.

    Fix: load the policy (and a wrapper reference) with `AutoModelForCausalLM` from the same path and
    arguments, and pass a separate single-logit `AutoModelForSequenceClassification` as the value
    model: every role with the mistake gets its own fix, so one run cures them all. If the whole
    script is written for TRL <= 0.11 (a `.step()` loop), pin `trl<=0.11.4` instead.
    Fix safety: safe: a wrapper never gets through the new trainer's __init__, so loading the same
    checkpoint as the class that trainer needs cannot change a script that runs.
    Probe: reproduces the missing `generation_config` (policy), the reference's forward without
    `.logits`, or the wrapper failing (value model); the fix passes when that check passes.
    """

    code = "PPD107"
    name = "value-head-wrapper"
    severity = ERROR
    subject_is_role = True  # one finding per role it names
    summary = "a value-head wrapper is given to the new-era PPOTrainer"
    fix_title = "policy, reference: load them with AutoModelForCausalLM; value model: a single-logit classifier"
    probe_check = ("generation_config on the policy / the reference's forward `.logits` / PolicyAndValueWrapper "
                   "and get_reward on the value model")
    known_errors = (
        KnownError("value-head-wrapper-prefix", r"'[\w.]*ValueHead[\w.]*' object has no attribute 'base_model_prefix'",
                   "AttributeError: 'AutoModelForCausalLMWithValueHead' object has no attribute 'base_model_prefix'",
                   "0.12 - 1.12", "PPOTrainer(...)", "the value model is a value-head wrapper (the ≤ 0.11 API)",
                   "use `AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)` as the value model; "
                   "the new trainer adds no value head of its own"),
        KnownError("value-head-wrapper-generation-config", r"ValueHead\w*' object has no attribute 'generation_config'",
                   "AttributeError: 'AutoModelForCausalLMWithValueHead' object has no attribute 'generation_config'",
                   "0.12 - 1.12", "PPOTrainer(...)", "the policy is `AutoModelForCausalLMWithValueHead` (the ≤ 0.11 "
                   "API)", "load the policy with `AutoModelForCausalLM.from_pretrained(...)`"),
    )
    invalid = ('''
        from trl.experimental.ppo import AutoModelForCausalLMWithValueHead, PPOTrainer
        policy = AutoModelForCausalLMWithValueHead.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import AutoModelForCausalLMWithValueHead, PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft")
        ref = AutoModelForCausalLMWithValueHead.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)

    def check_setup(self, setup, context):
        if not new_api_applies(setup, context):
            return
        for role in (Role.POLICY, Role.VALUE, Role.REFERENCE, Role.REWARD):
            binding = setup.role(role)
            if binding is None or kinds.model_kind(binding.origin) != ModelKind.VALUE_HEAD:
                continue
            fix = None
            if role in (Role.POLICY, Role.REFERENCE):
                fix = Fix(f"Load the {role} with AutoModelForCausalLM", SAFE)
            elif role == Role.VALUE:
                fix = Fix("Replace the value model with a single-logit AutoModelForSequenceClassification", SAFE)
            yield self.report(
                f"{role} model `{binding.text}` is a value-head wrapper, which the new-era PPOTrainer cannot use: "
                f"`{_ERRORS[role]}` in __init__ ({versions(context)}); pass a plain transformers model "
                "(AutoModelForCausalLM for the policy, a single-logit sequence classifier for the value model)",
                binding.value_span, setup, fix, subject=role,
            )

    def fix(self, diagnostic, context):
        if diagnostic.subject == Role.VALUE:
            return value_model_fix(context, "replace")
        # the fix library loads only when a fix is made: kept off `check`
        from ..fixes.builders import base_origin, from_pretrained_call, shared_with, swap_class

        role = Role(diagnostic.subject)
        origin = base_origin(context.setup.origin(role))
        _call, written = from_pretrained_call(origin, context.source, str(role))
        shared = shared_with(context.setup, origin, (Role.REWARD, Role.VALUE))
        if shared:
            raise Declined(f"the {role} is built by the same call as the {shared} model")
        return swap_class(context.source, written, "transformers", "AutoModelForCausalLM")

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import failed

        checks = {Role.POLICY: (Check.GENERATION_CONFIG,), Role.VALUE: (Check.WRAPPER, Check.VALUE_GET_REWARD),
                  Role.REWARD: (Check.REWARD_GET_REWARD,),
                  Role.REFERENCE: (Check.REFERENCE_LOGITS,)}.get(diagnostic.subject)
        if checks is None:
            return None, f"the probe does not run the {diagnostic.subject} model through TRL's checks"
        return failed(facts, diagnostic.setup_index, checks)

    def validate_fix(self, diagnostic, before, after):
        if diagnostic.subject == Role.VALUE:
            return value_model_works(diagnostic, after)
        found, detail = self.reproduce(diagnostic, after)
        return (None if found is None else not found), detail
