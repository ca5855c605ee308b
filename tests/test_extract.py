"""Source → setup model: import forms, role binding, origins, unknowns, JSON."""

from __future__ import annotations

import textwrap

import libcst
import pytest

from ppodoctor.setup import kinds
from ppodoctor.setup import model as m
from ppodoctor.setup.extract import extract
from ppodoctor.types import ModelKind, Role

MODELS = """
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
tok = AutoTokenizer.from_pretrained("sft")
policy = AutoModelForCausalLM.from_pretrained("sft")
ref = AutoModelForCausalLM.from_pretrained("sft")
rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
"""
CALL = "(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm, value_model=critic, " \
       "train_dataset=ds)"


def setups(source: str) -> tuple[m.PPOSetup, ...]:
    return extract(libcst.parse_module(textwrap.dedent(source)), "t.py").setups


def one(source: str) -> m.PPOSetup:
    found = setups(source)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("imports, callee, qualname", [
    ("from trl import PPOTrainer", "PPOTrainer", "trl.PPOTrainer"),
    ("from trl.experimental.ppo import PPOTrainer as T", "T", "trl.experimental.ppo.PPOTrainer"),
    ("import trl", "trl.PPOTrainer", "trl.PPOTrainer"),
    ("import trl.experimental.ppo as ppo", "ppo.PPOTrainer", "trl.experimental.ppo.PPOTrainer"),
    ("from trl.trainer.ppo_trainer import PPOTrainer", "PPOTrainer", "trl.trainer.ppo_trainer.PPOTrainer"),
    ("from trl import *", "PPOTrainer", "trl.PPOTrainer"),
    ("from trl import PPOv2Trainer", "PPOv2Trainer", "trl.PPOv2Trainer"),
])
def test_import_forms(imports, callee, qualname):
    setup = one(f"{imports}\n{MODELS}\ntrainer = {callee}{CALL}\n")
    assert setup.trainer_qualname == qualname
    assert kinds.model_kind(setup.origin(Role.VALUE)) == ModelKind.SEQUENCE_CLASSIFIER


def test_other_libraries_trainers_are_not_ours():
    assert setups("from openrlhf import PPOTrainer\nPPOTrainer(model=1)\n") == ()
    assert setups("from trl import SFTTrainer\nSFTTrainer(model=1)\n") == ()


def test_subclass_defined_in_the_file():
    setup = one("from trl import PPOTrainer\nclass Mine(PPOTrainer):\n    pass\nclass Deeper(Mine):\n    pass\n"
                f"{MODELS}\nt = Deeper{CALL}\n")
    assert setup.trainer == "PPOTrainer" and setup.subclass == "Deeper"


def test_positional_arguments_follow_the_era_order():
    setup = one(f"from trl.experimental.ppo import PPOTrainer\n{MODELS}\nt = PPOTrainer(cfg, tok, policy, ref, rm, ds, critic)\n")
    assert setup.role(Role.VALUE).via == "positional" and setup.role(Role.VALUE).position == 6
    assert setup.origin(Role.PROCESSING_CLASS).class_name == "transformers.AutoTokenizer"
    old = one("from trl import PPOTrainer, AutoModelForCausalLMWithValueHead\n"
              "model = AutoModelForCausalLMWithValueHead.from_pretrained('gpt2')\n"
              "t = PPOTrainer(config, model, ref_model, tokenizer)\nt.step(q, r, s)\n")
    assert old.code_era == "old"
    assert kinds.model_kind(old.origin(Role.POLICY)) == ModelKind.VALUE_HEAD
    assert old.role(Role.PROCESSING_CLASS).text == "tokenizer"


def test_visible_kwargs_dicts_bind_roles_and_hidden_ones_are_flagged():
    setup = one(f"from trl import PPOTrainer\n{MODELS}\nkw = dict(value_model=critic, reward_model=rm)\n"
                "t = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, train_dataset=ds, **kw)\n")
    assert setup.role(Role.VALUE).via == "mapping" and not setup.unresolved_star
    hidden = one("from trl import PPOTrainer\ndef go(**kwargs):\n    return PPOTrainer(model=m, **kwargs)\n")
    assert hidden.unresolved_star
    literal = one(f"from trl import PPOTrainer\n{MODELS}\nt = PPOTrainer(**{{'value_model': critic}})\n")
    assert literal.role(Role.VALUE) is not None


def test_aliases_copies_and_peft():
    setup = one(f"""
        import copy
        from peft import get_peft_model
        from trl import PPOTrainer, create_reference_model
        {MODELS.strip()}
        base = policy
        ref2 = create_reference_model(base)
        lora = get_peft_model(policy, cfg)
        value = lora
        t = PPOTrainer(args=cfg, processing_class=tok, model=base, ref_model=ref2, reward_model=copy.deepcopy(rm),
                       value_model=value, train_dataset=ds)
        """.replace("\n" + "        ", "\n"))
    policy, reference, value = setup.origin(Role.POLICY), setup.origin(Role.REFERENCE), setup.origin(Role.VALUE)
    assert reference.kind == "copy" and reference.key != policy.key and reference.base.key == policy.key
    assert value.kind == "peft" and value.base.key == policy.key
    assert kinds.model_kind(value) == ModelKind.CAUSAL_LM
    assert kinds.model_kind(setup.origin(Role.REWARD)) == ModelKind.SEQUENCE_CLASSIFIER


def test_helper_functions_constants_and_argparse_defaults():
    setup = one("""
        import argparse
        import torch
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification
        from trl import PPOTrainer
        RM_PATH = "org/rm"
        parser = argparse.ArgumentParser()
        parser.add_argument("--sft-path", default="org/sft")
        args = parser.parse_args()

        def load_critic(path, dtype=torch.bfloat16):
            model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, torch_dtype=dtype)
            return model

        def load_pair(path):
            return AutoModelForCausalLM.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path)

        def main():
            policy, ref = load_pair(args.sft_path)
            critic = load_critic(RM_PATH)
            trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                                 value_model=critic, train_dataset=ds)
        """)
    critic, policy, ref = setup.origin(Role.VALUE), setup.origin(Role.POLICY), setup.origin(Role.REFERENCE)
    assert critic.path.value == "org/rm" and critic.keyword("num_labels").value.value == 1
    assert critic.keyword("torch_dtype").value.value == "torch.bfloat16"
    assert policy.path.value == "org/sft" and policy.path.text == "path"
    assert policy.key != ref.key, "two calls of a helper make two objects"


def test_operations_before_the_call_are_recorded():
    setup = one(f"""
        from trl import PPOTrainer
        {MODELS.strip()}
        alias = tok
        alias.pad_token = alias.eos_token
        policy = policy.to("cuda")
        for p in critic.parameters():
            p.requires_grad = False
        t = PPOTrainer{CALL}
        tok.add_special_tokens({{"pad_token": "[PAD]"}})
        """.replace("\n" + "        ", "\n"))
    tokenizer_ops = [(op.kind, op.name) for op in setup.origin(Role.PROCESSING_CLASS).operations]
    assert ("set", "pad_token") in tokenizer_ops
    assert ("call", "add_special_tokens") not in tokenizer_ops, "after the trainer is built: too late"
    assert ("call", "to") in [(op.kind, op.name) for op in setup.origin(Role.POLICY).operations]
    assert ("freeze", "parameters") in [(op.kind, op.name) for op in setup.origin(Role.VALUE).operations]


def test_conditional_assignments_are_unknown_not_guessed():
    setup = one(f"""
        from trl import PPOTrainer
        {MODELS.strip()}
        if use_peft:
            ref = None
        else:
            ref = AutoModelForCausalLM.from_pretrained("sft")
        t = PPOTrainer{CALL}
        """.replace("\n" + "        ", "\n"))
    assert setup.origin(Role.REFERENCE).kind == "unknown"
    assert "branches" in setup.origin(Role.REFERENCE).reason


def test_trainer_usages_and_json_round_trip():
    source = f"from trl import PPOTrainer\n{MODELS}\ntrainer = PPOTrainer{CALL}\nfor b in trainer.dataloader:\n    trainer.step(b)\ntrainer.train()\n"
    file_setup = extract(libcst.parse_module(source), "t.py")
    setup = file_setup.setups[0]
    assert setup.variable == "trainer"
    assert [(u.name, u.kind) for u in setup.usages] == [("dataloader", "attribute"), ("step", "call"), ("train", "call")]
    assert m.loads(m.dumps(file_setup)) == file_setup


def test_subclass_that_forwards_binds_what_ppotrainer_receives():
    setup = one("from trl import PPOTrainer\nclass Mine(PPOTrainer):\n    def __init__(self, extra, *args, **kw):\n"
                "        super().__init__(*args, **kw)\n"
                f"{MODELS}\nt = Mine(1, cfg, tok, policy, value_model=critic)\n")
    # `extra` takes the 1; cfg, tok, policy reach PPOTrainer as its first three positional arguments.
    assert not setup.unresolved_star and setup.subclass_forwards
    assert setup.origin(Role.POLICY).variable == "policy" and setup.role(Role.VALUE) is not None
    assert [a.text for a in setup.arguments] == ["cfg", "tok", "policy", "value_model=critic"]


def test_subclass_whose_forwarding_cannot_be_read_binds_only_keywords():
    setup = one("from trl import PPOTrainer\nclass Mine(PPOTrainer):\n    def __init__(self, extra, *args, **kw):\n"
                "        kw.update(value_model=None)\n"
                "        super().__init__(*args, **kw)\n"
                f"{MODELS}\nt = Mine(1, cfg, tok, policy, value_model=critic)\n")
    assert setup.unresolved_star, "missing-argument rules must stay silent"
    assert not setup.subclass_forwards
    assert setup.role(Role.POLICY) is None and setup.role(Role.VALUE) is not None
