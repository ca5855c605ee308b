"""Two more styles of issue 20: the trainer itself pre-configured with functools.partial (or named
through an alias), and an object whose state one method writes and another reads (a model registry
filled by `.register(...)` calls, read back by `.build(role)`). Each has cases that must fire and
cases that must not."""

from __future__ import annotations

import textwrap

import libcst
import pytest

from eras_helpers import codes, fix_all
from ppodoctor.setup.extract import extract
from ppodoctor.types import Role

HEAD = """
import functools
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer
tok = AutoTokenizer.from_pretrained("sft")
tok.add_special_tokens({"pad_token": "[PAD]"})
cfg = PPOConfig(output_dir="out")
policy = AutoModelForCausalLM.from_pretrained("sft")
ref = AutoModelForCausalLM.from_pretrained("sft")
reward = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
"""
RULES = ("PPD101", "PPD103", "PPD104", "PPD106", "PPD108", "PPD109", "PPD201", "PPD207")


def found(body: str) -> list[str]:
    return codes(HEAD + textwrap.dedent(body), "1.12.0", RULES)


def setups_of(body: str):
    return extract(libcst.parse_module(HEAD + textwrap.dedent(body)), "t.py").setups


# --- the trainer class through a partial or an alias --------------------------------------------

def test_a_partial_of_the_trainer_is_a_trainer_call_with_its_bound_arguments():
    body = """
    make = functools.partial(PPOTrainer, args=cfg, processing_class=tok, train_dataset=None)
    trainer = make(model=policy, ref_model=ref, reward_model=reward, value_model=critic)
    """
    assert found(body) == []
    (setup,) = setups_of(body)
    assert setup.origin(Role.CONFIG).class_name.endswith("PPOConfig")
    assert setup.origin(Role.VALUE).class_name.endswith("SequenceClassification")
    assert setup.variable == "trainer"


def test_a_partial_of_the_trainer_without_a_value_model_fires_ppd101():
    assert found("""
    make = functools.partial(PPOTrainer, args=cfg, processing_class=tok, train_dataset=None)
    trainer = make(model=policy, ref_model=ref, reward_model=reward)
    """) == ["PPD101"]


def test_a_partial_of_the_trainer_with_its_own_value_model_bound_is_not_flagged():
    assert found("""
    make = functools.partial(PPOTrainer, args=cfg, processing_class=tok, value_model=critic)
    trainer = make(model=policy, ref_model=ref, reward_model=reward, train_dataset=None)
    """) == []


def test_the_calls_keyword_wins_over_the_partials():
    body = """
    make = functools.partial(PPOTrainer, args=cfg, processing_class=tok, value_model=policy)
    trainer = make(model=policy, ref_model=ref, reward_model=reward, value_model=critic, train_dataset=None)
    """
    assert found(body) == []
    (setup,) = setups_of(body)
    assert setup.origin(Role.VALUE).class_name.endswith("SequenceClassification")


def test_old_keywords_bound_by_the_partial_fire_where_they_are_written():
    body = """
    make = functools.partial(PPOTrainer, config=cfg, processing_class=tok, train_dataset=None)
    trainer = make(policy=policy, ref_policy=ref, reward_model=reward, value_model=critic)
    """
    assert found(body) == ["PPD201", "PPD201", "PPD201"]
    fixed = fix_all(HEAD + textwrap.dedent(body), "1.12.0", "PPD201")
    assert "functools.partial(PPOTrainer, args=cfg," in fixed and "make(model=policy, ref_model=ref," in fixed


def test_a_partial_of_a_partial_of_the_trainer_and_positional_arguments():
    body = """
    base = functools.partial(PPOTrainer, cfg, tok)
    make = functools.partial(base, train_dataset=None)
    trainer = make(policy, ref, reward, value_model=policy)
    """
    assert found(body) == ["PPD109"]
    (setup,) = setups_of(body)
    assert setup.origin(Role.REWARD).variable == "reward"


@pytest.mark.parametrize("body", [
    """
    Trainer = PPOTrainer
    trainer = Trainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=reward,
                      train_dataset=None)
    """,
    """
    class MyTrainer(PPOTrainer):
        pass
    make = functools.partial(MyTrainer, args=cfg, processing_class=tok)
    trainer = make(model=policy, ref_model=ref, reward_model=reward, train_dataset=None)
    """,
])
def test_an_alias_or_a_partial_of_a_subclass_is_judged_as_the_trainer(body):
    assert found(body) == ["PPD101"]


@pytest.mark.parametrize("body", [
    'make = functools.partial(print, "x")\ntrainer = make(model=policy)\n',
    "make = functools.partial(lookup(), args=cfg)\ntrainer = make(model=policy)\n",
])
def test_a_partial_of_something_else_is_no_trainer_call(body):
    assert setups_of(body) == ()
