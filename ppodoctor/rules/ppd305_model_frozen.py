from __future__ import annotations

from ..setup.model import Origin
from ..types import ERROR, WARNING, OperationKind, OriginKind, Role
from .base import Rule
from .common import new_api_applies


def frozen_by(origin: Origin):
    """The operation that freezes every parameter of the model, if one does."""
    operations = origin.operations if origin.kind == OriginKind.PEFT else origin.all_operations()
    for operation in operations:
        if operation.conditional:
            continue
        if operation.kind == OperationKind.FREEZE and operation.name == "parameters":
            return operation
        if operation.kind == OperationKind.CALL and operation.name == "requires_grad_" and operation.args \
                and operation.args[0].is_literal(False):
            return operation
    return None


class ModelFrozen(Rule):
    """The policy or the value model is frozen before training.

    Why it is wrong: PPO optimises the policy and the value model together. A frozen policy never
    changes (the run burns GPU hours for nothing); with both frozen the optimizer gets no
    parameters and `train()` raises `ValueError: optimizer got an empty parameter list`. Freezing
    is right for the reference and reward models, which is where this code usually belongs.

    Fix: remove the `requires_grad_(False)` call or the loop that sets `requires_grad = False`,
    or move it to the reference/reward model; for parameter-efficient training pass a
    `peft_config` instead.
    """

    code = "PPD305"
    name = "model-frozen"
    severity = WARNING
    summary = "the policy or value model is frozen"
    invalid = ('''
        from transformers import AutoModelForCausalLM
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft")
        policy.requires_grad_(False)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        for param in critic.parameters():
            param.requires_grad = False
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
        from trl.experimental.ppo import PPOTrainer
        policy = AutoModelForCausalLM.from_pretrained("sft")
        rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
        rm.requires_grad_(False)
        for param in policy.model.embed_tokens.parameters():
            param.requires_grad = False
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)

    def check_setup(self, setup, context):
        if not new_api_applies(setup, context):
            return
        frozen = {}
        for role in (Role.POLICY, Role.VALUE):
            binding = setup.role(role)
            if binding is not None:
                operation = frozen_by(binding.origin)
                if operation is not None:
                    frozen[role] = (binding, operation)
        both = len(frozen) == 2
        for role, (binding, operation) in frozen.items():
            consequence = ("the optimizer gets no parameters and train() raises `ValueError: optimizer got an "
                           "empty parameter list`" if both else "PPO never updates it")
            yield self.report(
                f"the {role} model `{binding.text}` is frozen before training: {consequence}; unfreeze it",
                operation.span or binding.value_span, setup, severity=ERROR if both else WARNING,
            )
