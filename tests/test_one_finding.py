"""One problem, one finding (issue 21): what several trainer calls share is reported once; what each
call does wrong on its own is reported for each."""

from __future__ import annotations

from ppodoctor.api import check_source
from ppodoctor.config import Settings
from ppodoctor.trl_api.eras import Target

TARGET = Target.of("1.12.0", transformers="5.24.0")

SCRIPT = '''\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

tok = AutoTokenizer.from_pretrained("sft")
tok.pad_token = tok.eos_token
policy = AutoModelForCausalLM.from_pretrained("sft")
ref = AutoModelForCausalLM.from_pretrained("sft")
rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
first = PPOTrainer(args=PPOConfig(output_dir="a"), processing_class=tok, model=policy, ref_model=ref,
                   reward_model=rm, value_model=critic, train_dataset=None)
second = PPOTrainer(args=PPOConfig(output_dir="b"), processing_class=tok, model=policy, ref_model=ref,
                    reward_model=rm, value_model=critic, train_dataset=None)
'''


def found(text: str) -> list[tuple[str, int]]:
    return [(d.code, d.span.line) for d in check_source(text, "train.py", Settings(), TARGET).diagnostics]


def test_a_tokenizer_two_trainers_share_is_reported_once():
    assert found(SCRIPT) == [("PPD302", 5)]


def test_each_trainer_calls_own_mistake_is_reported_for_each():
    text = SCRIPT.replace("tok.pad_token = tok.eos_token\n", 'tok.add_special_tokens({"pad_token": "[PAD]"})\n')
    text = text.replace("reward_model=rm, value_model=critic, train_dataset=None)",
                        "reward_model=rm, train_dataset=None)")
    assert found(text) == [("PPD101", 10), ("PPD101", 12)]
