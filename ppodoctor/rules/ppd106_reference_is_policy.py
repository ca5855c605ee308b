from __future__ import annotations

from ..setup import kinds
from ..setup.model import POLICY, REFERENCE
from .base import ERROR, SAFE, Fix, Rule
from .common import new_api_applies, versions


class ReferenceIsPolicy(Rule):
    """The reference model is the very same object as the policy.

    Why it breaks: the reference must stay frozen while the policy trains, so TRL refuses a shared
    object in `__init__`: `ValueError: model and ref_model cannot be the same object` (trl
    0.12-1.12). A `ref_model = model` alias is the usual cause.

    Fix: give the reference its own copy: `create_reference_model(model)` or a second
    `from_pretrained` of the same path; with a `peft_config`, pass `None` instead.
    Fix safety: safe; the reference was meant to be a frozen copy all along.
    """

    code = "PPD106"
    name = "reference-is-policy"
    severity = ERROR
    summary = "the reference model is the policy object"
    fixable = True
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
        reference = setup.role(REFERENCE)
        if reference is None or not new_api_applies(setup, context):
            return
        if not kinds.same_object(reference.origin, setup.origin(POLICY)):
            return
        yield self.report(
            f"the reference model `{reference.text}` is the policy object: PPOTrainer.__init__ raises "
            f"`ValueError: model and ref_model cannot be the same object` ({versions(context)}); "
            "give the reference its own copy", reference.value_span, setup,
            Fix("reference_copy", "Give the reference model its own copy of the policy", SAFE),
        )
