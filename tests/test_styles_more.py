"""More styles the doctor used to be blind to, each with a script that must fire and a twin that must not:
a trainer factory whose keyword dict is merged with `|=`; model classes picked with
`getattr(transformers, TABLE[role])`; models returned in a NamedTuple; classmethod and staticmethod
loaders called on the class. Two of them are also run in real trl 1.12: broken, fixed, trained."""

from __future__ import annotations

import sys
import textwrap

import pytest

from e2e_matrix import CONFIG, DATASET, fix_all, make_models, run_scripts
from eras_helpers import codes

HEAD = """\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer
"""

FACTORY = HEAD + """
def build_trainer(cfg, paths, dataset):
    tok = AutoTokenizer.from_pretrained(paths["sft"], padding_side="left")
    kwargs = dict(args=cfg, processing_class=tok)
    kwargs.update(model=AutoModelForCausalLM.from_pretrained(paths["sft"]))
    kwargs.setdefault("ref_model", AutoModelForCausalLM.from_pretrained(paths["sft"]))
    kwargs |= {"reward_model": AutoModelForSequenceClassification.from_pretrained(paths["rm"], num_labels=1)}
    kwargs |= {"value_model": VALUE}
    return PPOTrainer(**kwargs, train_dataset=dataset)
"""
FACTORY_CALL = """
trainer = build_trainer(PPOConfig({config}), {{"sft": {sft!r}, "rm": {rm!r}}}, {dataset})
trainer.train()
"""
GOOD_VALUE = 'AutoModelForSequenceClassification.from_pretrained(paths["rm"], num_labels=1)'
TWO_LABELS = 'AutoModelForSequenceClassification.from_pretrained(paths["rm"], num_labels=2, ignore_mismatched_sizes=True)'

NAMEDTUPLE = "from typing import NamedTuple\n" + HEAD + """

class Models(NamedTuple):
    policy: object
    ref: object
    reward: object
    value: object


def load_models(sft, rm) -> Models:
    return Models(policy=AutoModelForCausalLM.from_pretrained(sft), ref=AutoModelForCausalLM.from_pretrained(sft),
                  reward=AutoModelForSequenceClassification.from_pretrained(rm, num_labels=1),
                  value=VALUE)
"""
NAMEDTUPLE_CALL = """
m = load_models({sft!r}, {rm!r})
tok = AutoTokenizer.from_pretrained({sft!r}, padding_side="left")
trainer = PPOTrainer(args=PPOConfig({config}), processing_class=tok, model=m.policy, ref_model=m.ref,
                     reward_model=m.reward, value_model=m.value, train_dataset={dataset})
trainer.train()
"""


def factory(value: str, sft: str = "sft", rm: str = "rm", config: str = 'output_dir="o"', dataset: str = "None"):
    return FACTORY.replace("VALUE", value) + FACTORY_CALL.format(config=config, sft=sft, rm=rm, dataset=dataset)


def named(value: str, sft: str = "sft", rm: str = "rm", config: str = 'output_dir="o"', dataset: str = "None"):
    return NAMEDTUPLE.replace("VALUE", value) + NAMEDTUPLE_CALL.format(config=config, sft=sft, rm=rm, dataset=dataset)


RULES = ("PPD101", "PPD103", "PPD104", "PPD105", "PPD106", "PPD109")


def found(text: str) -> list[str]:
    return codes(text, "1.12.0", RULES)


def test_a_keyword_dict_merged_with_or_assign_in_a_factory():
    assert found(factory(TWO_LABELS)) == ["PPD105"]
    assert found(factory(GOOD_VALUE)) == []


def test_an_or_assign_of_something_unseen_leaves_the_keys_unknown_not_missing():
    text = factory(GOOD_VALUE).replace('    kwargs |= {"value_model": ', "    kwargs |= extra_kwargs()  # ")
    assert found(text) == []  # no PPD101: the value model may come from what cannot be seen


def test_models_returned_in_a_namedtuple():
    assert found(named("AutoModelForCausalLM.from_pretrained(sft)")) == ["PPD103"]
    assert found(named("AutoModelForSequenceClassification.from_pretrained(rm, num_labels=1)")) == []
    assert found(named("AutoModelForSequenceClassification.from_pretrained(rm, num_labels=1)").replace(
        "ref=AutoModelForCausalLM.from_pretrained(sft)", "ref=policy").replace(
        "return Models(policy=AutoModelForCausalLM.from_pretrained(sft)",
        "policy = AutoModelForCausalLM.from_pretrained(sft)\n    return Models(policy=policy")) == ["PPD106"]


GETATTR = "import transformers\n" + HEAD + """
CLASSES = {"policy": "AutoModelForCausalLM", "value": "VALUE_CLASS", "reward": "AutoModelForSequenceClassification"}


def load(role, path, **kw):
    return getattr(transformers, CLASSES[role]).from_pretrained(path, **kw)


tok = AutoTokenizer.from_pretrained("sft")
tok.add_special_tokens({"pad_token": "[PAD]"})
trainer = PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=tok, model=load("policy", "sft"),
                     ref_model=load("policy", "sft"), reward_model=load("reward", "rm", num_labels=1),
                     value_model=load("value", VALUE_PATH), train_dataset=None)
"""


def test_a_class_picked_by_getattr_from_a_table():
    assert found(GETATTR.replace("VALUE_CLASS", "AutoModelForCausalLM").replace("VALUE_PATH", '"sft"')) == ["PPD103"]
    good = GETATTR.replace("VALUE_CLASS", "AutoModelForSequenceClassification").replace(
        "VALUE_PATH", '"rm", num_labels=1')
    assert found(good) == []
    # A name the source does not show stays unknown: no class, no finding.
    assert found(good.replace("CLASSES[role]", "os.environ['CLS']")) == []


CLASSMETHODS = HEAD + """
class Loader:
    SFT = "sft"

    @classmethod
    def policy(cls):
        return AutoModelForCausalLM.from_pretrained(cls.SFT)

    @staticmethod
    def critic(path):
        return CRITIC


tok = AutoTokenizer.from_pretrained("sft")
tok.add_special_tokens({"pad_token": "[PAD]"})
trainer = PPOTrainer(args=PPOConfig(output_dir="o"), processing_class=tok, model=Loader.policy(),
                     ref_model=Loader.policy(), reward_model=RM, value_model=Loader.critic(CRITIC_PATH),
                     train_dataset=None)
"""
RM = 'AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)'


def test_classmethod_and_staticmethod_loaders_called_on_the_class():
    broken = CLASSMETHODS.replace("CRITIC_PATH", '"sft"').replace("CRITIC", "AutoModelForCausalLM.from_pretrained(path)")
    assert found(broken.replace("RM", RM)) == ["PPD103"]
    good = CLASSMETHODS.replace("CRITIC_PATH", '"rm"').replace(
        "CRITIC", "AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)")
    assert found(good.replace("RM", RM)) == []  # two calls of the classmethod: two policy objects
    setup_text = textwrap.dedent(good.replace("RM", RM))
    from ppodoctor.setup.extract import extract
    import libcst

    (setup,) = extract(libcst.parse_module(setup_text), "t.py").setups
    assert setup.origin("policy").path.value == "sft"  # `cls.SFT`, the class attribute
    assert setup.origin("value").path.value == "rm"  # the static method's parameter, not shifted by `cls`


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The factory and NamedTuple styles, broken (num_labels=2; a causal LM critic) and their twins, run
    in real trl 1.12 before and after `fix --write` (probe on)."""
    root = tmp_path_factory.mktemp("more")
    make_models(sys.executable, root / "models")
    sft, rm = str(root / "models" / "policy"), str(root / "models" / "rm")
    config = CONFIG.format(out='"out"', epochs="num_ppo_epochs=1")
    scripts = {
        "factory-broken": factory(TWO_LABELS, sft, rm, config, DATASET),
        "factory-twin": factory(GOOD_VALUE, sft, rm, config, DATASET),
        "named-broken": named("AutoModelForCausalLM.from_pretrained(sft)", sft, rm, config, DATASET),
        "named-twin": named("AutoModelForSequenceClassification.from_pretrained(rm, num_labels=1)", sft, rm, config,
                            DATASET),
    }
    paths = []
    for name, text in scripts.items():
        (root / "scripts" / name).mkdir(parents=True)
        path = root / "scripts" / name / "train.py"
        path.write_text("from datasets import Dataset\n" + text)
        paths.append(path)
    before = run_scripts(sys.executable, paths)
    originals = {p: p.read_text() for p in paths}
    fixed = fix_all(sys.executable, root / "scripts")
    after = run_scripts(sys.executable, paths)
    return paths, before, originals, fixed, after


@pytest.mark.parametrize("name, error", [("factory-broken", "must match the size of tensor b (2) at non-singleton dimension 2"),
                                         ("named-broken", "object has no attribute 'score'")])
def test_broken_then_fixed_then_trains(trained, name, error):
    paths, before, _originals, fixed, after = trained
    path = next(p for p in paths if p.parent.name == name)
    assert before[str(path)]["returncode"] != 0 and error in before[str(path)]["stderr"], before[str(path)]["stderr"][-2000:]
    assert "fixed (confirmed)" in fixed.stderr and str(path) in fixed.stderr, fixed.stderr[-3000:]
    assert after[str(path)]["returncode"] == 0, path.read_text() + after[str(path)]["stderr"][-2000:]


@pytest.mark.parametrize("name", ["factory-twin", "named-twin"])
def test_the_twins_train_and_are_left_byte_for_byte(trained, name):
    paths, before, originals, _fixed, after = trained
    path = next(p for p in paths if p.parent.name == name)
    assert before[str(path)]["returncode"] == 0, before[str(path)]["stderr"][-2000:]
    assert path.read_text() == originals[path] and after[str(path)]["returncode"] == 0
