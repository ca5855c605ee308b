from __future__ import annotations

from ..setup import kinds
from ..types import WARNING, OperationKind, Role
from .base import Rule
from .common import new_api_applies


def _eos_assignment(operation) -> bool:
    if operation.kind == OperationKind.SET and operation.name in ("pad_token", "pad_token_id") and operation.value is not None:
        return operation.value.text.rstrip().endswith(("eos_token", "eos_token_id"))
    if operation.kind == OperationKind.CALL and operation.name == "add_special_tokens":
        return any("pad_token" in v.text and "eos_token" in v.text for v in operation.args)
    return False


class PadTokenIsEos(Rule):
    """The pad token is set to the end-of-sequence token.

    Why it is wrong: TRL builds its masks from `pad_token_id`. When pad and eos are the same id,
    every real eos in a response is treated as padding: the policy is never rewarded or penalised
    for ending its answer, and responses tend to run to the length limit. Training runs, which is
    why this goes unnoticed.

    Fix: add a dedicated pad token, as TRL's example does:
    `tokenizer.add_special_tokens({"pad_token": "[PAD]"})` (and make sure every model's vocabulary
    covers it).
    """

    code = "PPD302"
    name = "pad-token-is-eos"
    severity = WARNING
    summary = "the pad token is set to the eos token"
    invalid = ('''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("sft")
        tokenizer.pad_token = tokenizer.eos_token
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)
    valid = ('''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("sft")
        tokenizer.add_special_tokens({"pad_token": "[PAD]"})
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)

    def check_setup(self, setup, context):
        binding = setup.role(Role.PROCESSING_CLASS)
        if binding is None or not kinds.is_tokenizer(binding.origin) or not new_api_applies(setup, context):
            return
        for operation in binding.origin.all_operations():
            if _eos_assignment(operation):
                yield self.report(
                    "the pad token is the eos token: TRL masks padding by id, so every real eos in a response is "
                    "treated as padding and the policy never learns to stop; add a dedicated [PAD] token",
                    operation.span or binding.value_span, setup,
                )
                return
