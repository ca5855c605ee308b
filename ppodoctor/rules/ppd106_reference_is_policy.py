from __future__ import annotations

from ..probe.probe_checks import Check
from ..setup import kinds
from ..types import ERROR, SAFE, Declined, Fix, KnownError, Role
from .base import Rule
from .common import new_api_applies, versions


class ReferenceIsPolicy(Rule):
    """The reference model is the very same object as the policy.

    Why it breaks: the reference must stay frozen while the policy trains, so TRL refuses a shared
    object in `__init__`: `ValueError: model and ref_model cannot be the same object` (trl
    0.12-1.12). A `ref_model = model` alias is the usual cause.

    Fix: give the reference its own copy: `create_reference_model(model)` or a second
    `from_pretrained` of the same path; with a `peft_config`, pass `None` instead.
    Fix safety: safe; the reference was meant to be a frozen copy all along.
    Probe: reproduces TRL's same-object test on the objects as built; the fix passes when the reference
    is a separate object.
    """

    code = "PPD106"
    name = "reference-is-policy"
    severity = ERROR
    roles = (Role.REFERENCE,)
    summary = "the reference model is the policy object"
    fix_title = "pass `create_reference_model(policy)` (or None with a peft_config)"
    probe_check = "TRL's `ref_model is model` test; fixed: separate objects"
    known_errors = (
        KnownError("reference-same-object", r"cannot be the same object",
                   "ValueError: model and ref_model cannot be the same object", "0.12 - 1.12", "PPOTrainer(...)",
                   "the reference model is the policy object",
                   "load a separate copy for `ref_model=` (or pass `ref_model=None` with a `peft_config`)"),
    )
    invalid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        model = AutoModelForCausalLM.from_pretrained("sft")
        ref_model = model
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=ref_model,
                             reward_model=rm, value_model=critic, train_dataset=ds)
        ''',)
    valid = ('''
        import copy
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        model = AutoModelForCausalLM.from_pretrained("sft")
        ref_model = copy.deepcopy(model)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=ref_model,
                             reward_model=rm, value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        model = AutoModelForCausalLM.from_pretrained("sft")
        ref_model = AutoModelForCausalLM.from_pretrained("sft")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=ref_model,
                             reward_model=rm, value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        reference = setup.role(Role.REFERENCE)
        if reference is None or not new_api_applies(setup, context):
            return
        if not kinds.same_object(reference.origin, setup.origin(Role.POLICY)):
            return
        yield self.report(
            f"the reference model `{reference.text}` is the policy object: PPOTrainer.__init__ raises "
            f"`ValueError: model and ref_model cannot be the same object` ({versions(context)}); "
            "give the reference its own copy", reference.value_span, setup,
            Fix("Give the reference model its own copy of the policy", SAFE),
        )

    def fix(self, diagnostic, context):
        import libcst as cst

        # the fix library loads only when a fix is made: kept off `check`
        from ..fixes.builders import alias_value, spell_at

        setup, source = context.setup, context.source
        binding = setup.role(Role.REFERENCE)
        if binding is None or binding.via == "mapping":
            raise Declined("the reference model is not passed directly")
        value = source.node_at(binding.value_span, cst.BaseExpression)
        if setup.role(Role.PEFT_CONFIG) is not None:
            # With PEFT, TRL builds the reference itself by disabling the adapter.
            return (source.replace(value, "None"),)
        target = alias_value(source, value) or value
        spelling = spell_at(source, target, "trl", "create_reference_model")
        text = source.module.code_for_node(target)
        return (source.replace(target, f"{spelling.text}({text})"),) + spelling.edits

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import failed

        return failed(facts, diagnostic.setup_index, (Check.SAME_OBJECT,))
