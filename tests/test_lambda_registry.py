"""A registry of loaders written as lambdas without parameters, called in a comprehension, with paths
held in a `types.SimpleNamespace`: calling a lambda makes what its body makes, anew for each call."""

from __future__ import annotations

from ppodoctor.api import check_source
from ppodoctor.config import Settings
from ppodoctor.trl_api.eras import Target

TARGET = Target.of("1.12.0", transformers="5.24.0")

SCRIPT = '''\
from types import SimpleNamespace
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

cfg = SimpleNamespace(policy="sft", reward="rm")
LOADERS = {
    "policy": lambda: AutoModelForCausalLM.from_pretrained(cfg.policy),
    "reference": lambda: AutoModelForCausalLM.from_pretrained(cfg.policy),
    "reward": lambda: AutoModelForSequenceClassification.from_pretrained(cfg.reward, num_labels=1),
    "value": lambda: VALUE,
}
models = {name: load() for name, load in LOADERS.items()}
tok = AutoTokenizer.from_pretrained(cfg.policy)
tok.add_special_tokens({"pad_token": "[PAD]"})
trainer = PPOTrainer(args=PPOConfig(output_dir="out"), processing_class=tok, model=models["policy"],
                     ref_model=REFERENCE, reward_model=models["reward"], value_model=models["value"],
                     train_dataset=None)
'''
GOOD_VALUE = "AutoModelForSequenceClassification.from_pretrained(cfg.reward, num_labels=1)"


def report(value: str = GOOD_VALUE, reference: str = 'models["reference"]'):
    text = SCRIPT.replace("VALUE", value).replace("REFERENCE", reference)
    return check_source(text, "train.py", Settings(), TARGET)


def test_a_causal_lm_from_a_lambda_registry_is_the_value_models_class():
    found = report("AutoModelForCausalLM.from_pretrained(cfg.policy)")
    assert [d.code for d in found.diagnostics] == ["PPD103"]
    value = found.setup.setups[0].role("value").origin
    assert value.class_name == "transformers.AutoModelForCausalLM" and value.path.value == "sft"


def test_a_correct_registry_gets_no_finding_and_each_call_is_its_own_object():
    found = report()
    assert found.diagnostics == ()
    setup = found.setup.setups[0]
    assert setup.origin("policy").key != setup.origin("reference").key
    assert setup.origin("reward").path.value == "rm"  # the namespace's keyword


def test_the_same_loader_called_twice_makes_two_objects_and_one_object_passed_twice_is_one():
    twice = SCRIPT.replace("VALUE", GOOD_VALUE).replace("REFERENCE", 'LOADERS["policy"]()')
    assert "PPD106" not in [d.code for d in check_source(twice, "train.py", Settings(), TARGET).diagnostics]
    assert "PPD106" in [d.code for d in report(reference='models["policy"]').diagnostics]


def test_a_lambda_with_parameters_is_not_followed():
    text = SCRIPT.replace('"value": lambda: VALUE', '"value": lambda path=cfg.policy: AutoModelForCausalLM.'
                                                    'from_pretrained(path)').replace("REFERENCE", 'models["reference"]')
    found = check_source(text, "train.py", Settings(), TARGET)
    assert "PPD103" not in [d.code for d in found.diagnostics]
    value = found.setup.setups[0].origin("value")
    assert value.class_name == "" and "is not followed" in value.reason
