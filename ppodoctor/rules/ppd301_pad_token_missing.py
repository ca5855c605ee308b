from __future__ import annotations

import re

from ..setup import kinds
from ..setup.model import PROCESSING_CLASS
from .base import WARNING, SAFE, Fix, Rule
from .common import new_api_applies

# Callees that may give a tokenizer its pad token when it is passed to them.
_MAY_SET_PAD = re.compile(r"token|pad|special|chat_format|^<local>", re.IGNORECASE)


def pad_token_given(origin) -> bool:
    if origin.keyword("pad_token", "pad_token_id") is not None or origin.partial:
        return True
    for operation in origin.all_operations():
        if operation.kind == "set" and operation.name in ("pad_token", "pad_token_id"):
            return True
        if operation.kind == "call" and operation.name in ("add_special_tokens", "add_tokens") and any(
                "pad" in value.text for value in operation.args + tuple(k.value for k in operation.keywords)):
            return True
        if operation.kind == "passed" and _MAY_SET_PAD.search(operation.name):
            return True
    return False


class PadTokenMissing(Rule):
    """The tokenizer is never given a pad token.

    Why it breaks: TRL's collator pads every batch of prompts, even when they have equal length.
    A tokenizer saved without a pad token (Llama, Mistral, GPT-2, Pythia...) makes the first batch
    raise `ValueError: Asking to pad but the tokenizer does not have a padding token` (trl 0.12-1.12),
    after all four models are loaded. Many chat tokenizers (Gemma, Qwen) do ship one; `ppodoctor
    check --probe` reads the saved tokenizer and settles it (PPD503).

    Fix: add a dedicated pad token right after the tokenizer is created, as TRL's example does:
    `tokenizer.add_special_tokens({"pad_token": "[PAD]"})`. Setting `pad_token = eos_token` also
    runs, but then TRL masks real end-of-sequence tokens (PPD302).
    Fix safety: safe; it only adds a token the collator needs.
    """

    code = "PPD301"
    name = "pad-token-missing"
    severity = WARNING
    summary = "the tokenizer is never given a pad token"
    fixable = True
    invalid = ('''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("EleutherAI/pythia-160m")
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)
    valid = ('''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("EleutherAI/pythia-160m", padding_side="left")
        tokenizer.add_special_tokens({"pad_token": "[PAD]"})
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("EleutherAI/pythia-160m")
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("EleutherAI/pythia-160m")
        prepare_tokenizer(tokenizer)
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        binding = setup.role(PROCESSING_CLASS)
        if binding is None or not kinds.is_tokenizer(binding.origin) or not new_api_applies(setup, context):
            return
        if pad_token_given(binding.origin):
            return
        origin = binding.origin
        yield self.report(
            f"tokenizer `{origin.variable or binding.text}` is never given a pad token: if the saved tokenizer has "
            "none, the first batch raises `ValueError: Asking to pad but the tokenizer does not have a padding "
            "token` (trl 0.12-1.12); add one with `add_special_tokens({\"pad_token\": \"[PAD]\"})`",
            origin.span or binding.value_span, setup,
            Fix("pad_token", "Add a [PAD] token right after the tokenizer is created", SAFE),
        )
