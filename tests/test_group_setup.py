"""The setup model reads RLOOTrainer and GRPOTrainer calls (trl >= 1.0) as it reads PPOTrainer's: roles by
keyword and by position, reward functions one by one (ids, models, functions, lambdas, lists), configs and
datasets with the same resolution; the PPO rules never judge them."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from ppodoctor.api import check_source
from ppodoctor.setup.extract import extract
from ppodoctor.setup.model import dumps, loads
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import OriginKind, ParameterKind, ReturnKind, Role, TrainerKind

CORRECT_GRPO = '''
from datasets import Dataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

tok = AutoTokenizer.from_pretrained("models/policy", padding_side="left")
judge = AutoModelForSequenceClassification.from_pretrained("models/rm", num_labels=1)
dataset = Dataset.from_dict({"prompt": ["a b c", "d e f"], "answer": ["c", "f"]})


def exact(completions, answer, **kwargs):
    return [1.0 if c.strip() == a else 0.0 for c, a in zip(completions, answer)]


config = GRPOConfig(output_dir="out", per_device_train_batch_size=2, num_generations=2, max_steps=1)
trainer = GRPOTrainer(model="models/policy", reward_funcs=[exact, judge, "models/rm"], args=config,
                      train_dataset=dataset, processing_class=tok, reward_processing_classes=[None, tok, tok])
trainer.train()
'''


def setup_of(source: str):
    source = textwrap.dedent(source)
    return extract(cst.parse_module(source), "train.py", source)


def test_a_grpo_call_is_read_with_every_role():
    file_setup = setup_of(CORRECT_GRPO)
    assert file_setup.setups == () and len(file_setup.group_setups) == 1
    setup = file_setup.group_setups[0]
    assert setup.kind == TrainerKind.GRPO and setup.trainer == "GRPOTrainer"
    assert setup.origin(Role.POLICY).kind == OriginKind.LITERAL
    assert setup.origin(Role.CONFIG).class_name == "trl.GRPOConfig"
    assert setup.origin(Role.CONFIG).keyword("num_generations").value.value == 2
    assert setup.origin(Role.TRAIN_DATASET).callee == "datasets.Dataset.from_dict"
    assert setup.origin(Role.PROCESSING_CLASS).class_name == "transformers.AutoTokenizer"
    funcs = setup.role(Role.REWARD_FUNCS).members()
    assert [f.kind for f in funcs] == [OriginKind.FUNCTION, OriginKind.FROM_PRETRAINED, OriginKind.LITERAL]
    shape = funcs[0].function
    assert [(p.name, p.kind) for p in shape.parameters] == [
        ("completions", ParameterKind.POSITIONAL_OR_KEYWORD), ("answer", ParameterKind.POSITIONAL_OR_KEYWORD),
        ("kwargs", ParameterKind.VAR_KEYWORD)]
    assert shape.returns == (ReturnKind.LIST,)
    assert funcs[1].keyword("num_labels").value.value == 1
    assert [o.kind for o in setup.role(Role.REWARD_PROCESSING_CLASSES).members()] == [
        OriginKind.NONE, OriginKind.FROM_PRETRAINED, OriginKind.FROM_PRETRAINED]
    # The setup model round-trips through JSON, the new records included.
    assert loads(dumps(file_setup)) == file_setup


def test_an_rloo_call_binds_by_position_and_follows_a_named_list():
    setup = setup_of('''
        from trl import RLOOConfig, RLOOTrainer
        def scalar(prompts, completions, /, x, *, y=1):
            if x:
                return 1.0
        funcs = [scalar, lambda completions, **kw: [0.0] * len(completions)]
        trainer = RLOOTrainer("models/policy", funcs, RLOOConfig(output_dir="o", num_generations=3), data)
        ''').group_setups[0]
    assert setup.kind == TrainerKind.RLOO
    assert setup.origin(Role.CONFIG).keyword("num_generations").value.value == 3
    assert setup.origin(Role.TRAIN_DATASET).text == "data"
    scalar, lam = setup.role(Role.REWARD_FUNCS).members()
    assert [p.kind for p in scalar.function.parameters][:2] == [ParameterKind.POSITIONAL_ONLY] * 2
    assert scalar.function.returns == (ReturnKind.SCALAR, ReturnKind.NONE)
    assert lam.function.takes_any_keyword() and lam.function.returns == (ReturnKind.OTHER,)


def test_one_reward_function_is_its_own_member():
    setup = setup_of('''
        from trl import GRPOTrainer
        def r(completions, **kwargs):
            return [0.0 for _ in completions]
        GRPOTrainer(model="m", reward_funcs=r)
        ''').group_setups[0]
    binding = setup.role(Role.REWARD_FUNCS)
    assert binding.elements is None and binding.members() == (binding.origin,)
    assert binding.origin.function.name == "r"


@pytest.mark.parametrize("version", ["1.12.0", "1.16.0"])
def test_no_ppo_rule_fires_on_a_correct_grpo_or_rloo_script(version):
    for source in (CORRECT_GRPO, CORRECT_GRPO.replace("GRPO", "RLOO")):
        report = check_source(source, "train.py", target=Target.of(version))
        assert report.error is None
        assert [d.code for d in report.diagnostics] == [], report.diagnostics


def test_a_ppo_call_beside_a_grpo_call_is_still_judged_as_ppo():
    source = CORRECT_GRPO + textwrap.dedent('''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        ppo = PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=tok, model=policy, ref_model=None,
                         reward_model=judge, train_dataset=dataset)
        ''')
    file_setup = setup_of(source)
    assert [s.kind for s in file_setup.setups] == [TrainerKind.PPO]
    assert [s.kind for s in file_setup.group_setups] == [TrainerKind.GRPO]
    codes = [d.code for d in check_source(source, "train.py", target=Target.of("1.12.0")).diagnostics]
    assert "PPD101" in codes  # no value_model: the PPO call is judged, the GRPO call is not
    assert all(d.setup_index == 0 for d in check_source(source, "train.py",
                                                          target=Target.of("1.12.0")).diagnostics
               if d.code.startswith("PPD1"))
