"""PPD110, PPD111, PPD404, PPD405 on whole scripts: each finding in several styles the extractor
follows (inline, helper functions, a class), and the correct or unreadable scripts they must leave alone.
tests/test_rules_wiring_trl.py runs the broken setups in real trl 1.12."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from ppodoctor.api import check_source
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import Role

TARGET = Target.of("1.12.0", transformers="5.24.0")
HEAD = ("from datasets import Dataset, load_dataset\n"
        "from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification, LlamaModel\n"
        "from trl.experimental.ppo import PPOConfig, PPOTrainer\n")
CALL = ("PPOTrainer(args={config}, processing_class=tok, model={policy}, ref_model={ref}, reward_model={reward},\n"
        "           value_model={value}, train_dataset={dataset})\n")


def findings(source: str, code: str, target: Target = TARGET) -> list:
    report = check_source(HEAD + textwrap.dedent(source), "t.py", Settings(), target)
    assert report.error is None, report.error
    return [d for d in report.diagnostics if d.code == code]


def call(policy="policy", ref="ref", reward="rm", value="critic", dataset="ds", config="cfg") -> str:
    return CALL.format(policy=policy, ref=ref, reward=reward, value=value, dataset=dataset, config=config)


# --- PPD110 policy-not-causal-lm ----------------------------------------------------------------
@pytest.mark.parametrize("source, role", [
    ("policy = AutoModel.from_pretrained('sft')\n" + call(), "policy"),
    (call(policy="LlamaModel.from_pretrained('sft')"), "policy"),
    (call(policy="AutoModelForSequenceClassification.from_pretrained('sft', num_labels=1)"), "policy"),
    (call(ref="AutoModel.from_pretrained('sft')"), "reference"),
    ("def load(path):\n    policy = AutoModel.from_pretrained(path)\n    ref = AutoModelForCausalLM.from_pretrained(path)\n"
     "    return policy, ref\npolicy, ref = load('sft')\n" + call(), "policy"),
    ("class Exp:\n    def __init__(self, path='sft'):\n        self.ref = LlamaModel.from_pretrained(path)\n"
     "    def run(self):\n        return " + call(ref="self.ref"), "reference"),
], ids=["inline-automodel", "base-class", "classifier", "reference", "helper", "class"])
def test_ppd110_fires_on_models_without_an_lm_head(source, role):
    found = findings(source, "PPD110")
    assert [d.subject for d in found] == [role]
    assert "is not a causal LM" in found[0].message and "AutoModelForCausalLM" in found[0].message


def test_ppd110_reports_a_copy_of_the_policy_once():
    source = ("from trl import create_reference_model\npolicy = AutoModel.from_pretrained('sft')\n"
              "ref = create_reference_model(policy)\n" + call())
    assert [d.subject for d in findings(source, "PPD110")] == ["policy"]


@pytest.mark.parametrize("source", [
    call(policy="AutoModelForCausalLM.from_pretrained('sft')", ref="AutoModelForCausalLM.from_pretrained('sft')"),
    "from transformers import LlamaForCausalLM, GPT2LMHeadModel\n"
    + call(policy="LlamaForCausalLM.from_pretrained('sft')", ref="GPT2LMHeadModel.from_pretrained('gpt2')"),
    "from peft import AutoPeftModelForCausalLM\n" + call(policy="AutoPeftModelForCausalLM.from_pretrained('a')"),
    "from mylib import build_policy, Policy\n" + call(policy="build_policy()", ref="Policy.from_pretrained('x')"),
    call(policy="load_somewhere()"),
    "from transformers import AutoModelForTokenClassification\n"
    + call(policy="AutoModelForTokenClassification.from_pretrained('sft')"),
    "from trl.experimental.ppo import AutoModelForCausalLMWithValueHead\n"
    + call(policy="AutoModelForCausalLMWithValueHead.from_pretrained('sft')"),
], ids=["auto-causal", "causal-classes", "peft", "imported", "unresolved", "not-measured-head", "value-head"])
def test_ppd110_leaves_causal_lms_and_unknowns_alone(source):
    assert findings(source, "PPD110") == []


def test_ppd110_leaves_the_old_value_head_era_alone():
    source = ("from trl import AutoModelForCausalLMWithValueHead, PPOConfig as C, PPOTrainer as T\n"
              "model = AutoModelForCausalLMWithValueHead.from_pretrained('sft')\n"
              "ppo_trainer = T(C(), model, AutoModel.from_pretrained('sft'), tok, dataset=ds)\n")
    assert findings(source, "PPD110", Target.of("0.11.4")) == []


def test_ppd110_fix_swaps_the_class_and_keeps_the_import_bound():
    source = HEAD.replace("AutoModel, AutoModelForCausalLM, ", "") + "from transformers import AutoModel\n" \
        + "policy = AutoModel.from_pretrained('sft', revision='main')\n" + call()
    result = fix_source(source, "t.py", Settings(), TARGET, unsafe=True)
    assert [d.code for d in result.applied] == ["PPD110"]
    assert "policy = AutoModelForCausalLM.from_pretrained('sft', revision='main')" in result.text
    assert re.search(r"^from transformers import .*\bAutoModelForCausalLM\b", result.text, re.MULTILINE)
    compile(result.text, "t.py", "exec")
    unsafe_only = fix_source(source, "t.py", Settings(), TARGET, unsafe=False)
    assert not unsafe_only.changed, "an unseen checkpoint: the swap is unsafe without the probe"


@pytest.mark.parametrize("checkpoint, applicability", [("llama-causal", "safe"), ("llama-rm", "display-only")])
def test_ppd110_fix_safety_follows_the_saved_checkpoint(checkpoint, applicability):
    # A checkpoint saved as a causal LM has the head the new class loads; a classifier's would be random.
    path = Path(__file__).resolve().parent.parent / "fixtures" / "models" / checkpoint
    (found,) = findings(f"policy = AutoModel.from_pretrained({str(path)!r})\n" + call(), "PPD110")
    assert found.fix.applicability == applicability


# --- PPD111 scorer-not-pretrained-model ---------------------------------------------------------
MODULE = ("import torch\nfrom torch import nn\n"
          "class Base(nn.Module):\n    pass\n"
          "class Scorer(Base):\n    def __init__(self):\n        super().__init__()\n"
          "        self.head = torch.nn.Linear(4, 1)\n")


@pytest.mark.parametrize("source, role, said", [
    ("def reward_fn(texts):\n    return [0.0] * len(texts)\n" + call(reward="reward_fn"), "reward", "'modules'"),
    (call(reward="lambda texts: [1.0]"), "reward", "'modules'"),
    (MODULE + call(value="Scorer()"), "value", "'Scorer' object has no attribute 'base_model_prefix'"),
    (MODULE + "def build():\n    critic = Scorer()\n    return critic\n" + call(value="build()"), "value",
     "base_model_prefix"),
    (MODULE + "class Exp:\n    def __init__(self):\n        self.rm = Scorer()\n    def run(self):\n        return "
     + call(reward="self.rm"), "reward", "base_model_prefix"),
    ("class Plain:\n    def __call__(self, x):\n        return x\n" + call(reward="Plain()"), "reward",
     "'Plain' object has no attribute 'modules'"),
], ids=["function", "lambda", "nn-module", "helper", "class-attribute", "plain-class"])
def test_ppd111_fires_on_functions_and_plain_modules(source, role, said):
    found = findings(source, "PPD111")
    assert [d.subject for d in found] == [role]
    assert said in found[0].message
    if role == "reward":
        assert "ppodoctor migrate --to rloo|grpo" in found[0].message and "num_labels=1" in found[0].message


@pytest.mark.parametrize("source", [
    call(reward="AutoModelForSequenceClassification.from_pretrained('rm', num_labels=1)"),
    "from transformers import PreTrainedModel\nclass RM(PreTrainedModel):\n    pass\n" + call(reward="RM(config)"),
    "from transformers import PreTrainedModel\nclass Base(PreTrainedModel):\n    pass\nclass RM(Base):\n    pass\n"
    + call(reward="RM.from_pretrained('rm')"),
    "from mylib import reward_fn, RewardNet\n" + call(reward="reward_fn", value="RewardNet()"),
    call(reward="reward_fn"),
    MODULE.replace("    pass\n", "    base_model_prefix = 'backbone'\n", 1) + call(value="Scorer()"),
    "import functools\n@functools.lru_cache\ndef make():\n    return 1\n" + call(reward="make"),
    "from mylib import Mixin\nimport torch\nclass RM(Mixin, torch.nn.Module):\n    pass\n" + call(reward="RM()"),
], ids=["from-pretrained", "pretrained-subclass", "pretrained-grandchild", "imported", "unresolved",
        "has-base-model-prefix", "decorated", "unknown-base"])
def test_ppd111_leaves_transformers_models_and_unknowns_alone(source):
    assert findings(source, "PPD111") == []


# --- PPD404 dataset-columns -----------------------------------------------------------------------
TOKENIZE = "def tokenize(row):\n    return {'input_ids': tok(row['prompt'])['input_ids']}\n"


@pytest.mark.parametrize("source, subject", [
    ("ds = Dataset.from_dict({'prompt': ['a b', 'c d']})\n" + call(), "not-tokenized"),
    ("ds = load_dataset('trl-lib/tldr', split='train')\n" + call(), "not-tokenized"),
    ("raw = load_dataset('trl-lib/tldr')\n" + call(dataset="raw['train'].shuffle(seed=0)"), "not-tokenized"),
    (TOKENIZE + "ds = Dataset.from_dict({'prompt': ['a b', 'c d']}).map(tokenize)\n" + call(), "extra-column"),
    (TOKENIZE + "ds = load_dataset('trl-lib/tldr', split='train')\nds = ds.map(tokenize, batched=False)\n" + call(),
     "extra-column"),
    (TOKENIZE + "def data():\n    ds = Dataset.from_list([{'prompt': 'a', 'id': 1}])\n    return ds.map(tokenize)\n"
     + call(dataset="data()"), "extra-column"),
    ("class Exp:\n    def __init__(self):\n        self.ds = Dataset.from_dict({'text': ['a', 'b']})\n"
     "    def run(self):\n        return " + call(dataset="self.ds"), "not-tokenized"),
], ids=["from-dict-text", "hub", "hub-split", "map-keeps-text", "hub-map", "helper", "class"])
def test_ppd404_fires_on_raw_text_and_leftover_text(source, subject):
    found = findings(source, "PPD404")
    assert [d.subject for d in found] == [subject]
    error = "includes input_ids" if subject == "not-tokenized" else "Unable to create tensor"
    assert error in found[0].message


@pytest.mark.parametrize("source", [
    TOKENIZE + "ds = load_dataset('trl-lib/tldr', split='train')\n"
    "ds = ds.map(tokenize, remove_columns=ds.column_names)\n" + call(),
    TOKENIZE + "ds = Dataset.from_dict({'prompt': ['a']}).map(tokenize, remove_columns=['prompt'])\n" + call(),
    TOKENIZE + "ds = Dataset.from_dict({'prompt': ['a']}).map(tokenize).remove_columns('prompt')\n" + call(),
    TOKENIZE + "ds = Dataset.from_dict({'prompt': ['a']}).map(tokenize).select_columns(['input_ids'])\n" + call(),
    TOKENIZE + "ds = Dataset.from_dict({'prompt': ['a']}).map(tokenize)\n"
    "ds.set_format(type='torch', columns=['input_ids'])\n" + call(),
    "from mylib import tokenize\nds = load_dataset('trl-lib/tldr', split='train').map(tokenize)\n" + call(),
    "def tokenize(row):\n    out = tok(row['prompt'])\n    return out\n"
    "ds = Dataset.from_dict({'prompt': ['a']}).map(tokenize)\n" + call(),
    "ds = load_dataset('json', data_files='prompts.jsonl', split='train')\n" + call(),
    "ds = load_dataset('trl-lib/tldr', split='train')\n" + call(dataset="ds['prompt']"),
    "ds = load_dataset('./local_data', split='train')\n" + call(),
    "import argparse\nparser = argparse.ArgumentParser()\nparser.add_argument('--data', default='trl-lib/tldr')\n"
    "args = parser.parse_args()\nds = load_dataset(args.data, split='train')\n" + call(),
    "ds = Dataset.from_dict({'input_ids': [[1, 2], [3, 4]], 'score': [1, 2]})\n" + call(),
    "from mylib import get_dataset\n" + call(dataset="get_dataset()"),
    "ds = Dataset.from_dict({'prompt': ['a']})\n" + call().replace("train_dataset=ds", "train_dataset=ds, "
                                                                    "data_collator=collate"),
    "ds = Dataset.from_dict({'prompt': ['a']}) if flag else Dataset.from_dict({'input_ids': [[1]]})\n" + call(),
], ids=["remove-column-names", "remove-literal", "remove-later", "select-columns", "set-format", "imported-fn",
        "fn-keys-unknown", "json-files", "a-column", "local-path", "command-line", "ids-and-numbers", "helper-not-followed", "own-collator",
        "conditional"])
def test_ppd404_is_silent_where_the_columns_are_right_or_unknown(source):
    assert findings(source, "PPD404") == []


# --- PPD405 dataset-smaller-than-batch ------------------------------------------------------------
def config(batch=8, accumulation=None) -> str:
    extra = f", gradient_accumulation_steps={accumulation}" if accumulation is not None else ""
    return f"PPOConfig(output_dir='out', per_device_train_batch_size={batch}{extra})"


@pytest.mark.parametrize("source, rows, batch", [
    ("ds = Dataset.from_dict({'input_ids': [[1], [2], [3]]})\n" + call(config=config()), 3, 8),
    ("ds = big.select(range(10))\n" + call(config=config(4, 4)), 10, 16),
    ("ds = Dataset.from_dict({'input_ids': [[1], [2], [3]]}).filter(keep).shuffle()\n"
     + call(config=config(2, 2)), 3, 4),
    ("def data():\n    return Dataset.from_dict({'input_ids': [[1], [2]]}).select([0])\n"
     "cfg = PPOConfig(output_dir='o', per_device_train_batch_size=2)\n" + call(dataset="data()"), 1, 2),
    ("class Exp:\n    def __init__(self):\n        self.ds = Dataset.from_list([{'input_ids': [1]}])\n"
     "        self.cfg = " + config(2) + "\n    def run(self):\n        return "
     + call(dataset="self.ds", config="self.cfg"), 1, 2),
], ids=["from-dict", "select-range", "filtered", "helper", "class"])
def test_ppd405_fires_below_one_batch(source, rows, batch):
    found = findings(source, "PPD405")
    assert len(found) == 1
    assert f"has {rows} row" in found[0].message and f"< batch {batch} = per_device_train_batch_size" in \
        found[0].message


def test_ppd405_message_carries_the_arithmetic():
    source = "ds = Dataset.from_dict({'input_ids': [[1], [2], [3]]})\n" + call(config=config(8, 1))
    (found,) = findings(source, "PPD405")
    assert "3 rows < batch 8 = per_device_train_batch_size 8 × gradient_accumulation_steps 1" in found.message


@pytest.mark.parametrize("source", [
    "ds = Dataset.from_dict({'input_ids': [[1], [2], [3], [4]]})\n" + call(config=config(2, 2)),
    "ds = Dataset.from_dict({'input_ids': [[1], [2]]})\n" + call(config="PPOConfig(per_device_train_batch_size=n)"),
    "ds = Dataset.from_dict({'input_ids': [[1], [2]]})\n"
    + call(config="PPOConfig(per_device_train_batch_size=8, **extra)"),
    "ds = Dataset.from_dict({'input_ids': [[1], [2]]})\n" + call(config="cfg"),
    "ds = load_dataset('org/prompts', split='train')\n" + call(config=config(64)),
    "ds = Dataset.from_dict({'input_ids': [[1], [2]]}).map(expand, batched=True)\n" + call(config=config(4)),
    "ds = Dataset.from_dict({'input_ids': rows})\n" + call(config=config(4)),
], ids=["enough-rows", "unknown-batch", "hidden-kwargs", "unknown-config", "hub-rows", "batched-map",
        "rows-not-literal"])
def test_ppd405_is_silent_when_a_batch_fits_or_a_factor_is_unknown(source):
    assert findings(source, "PPD405") == []


def test_function_origins_and_local_classes_round_trip_through_json():
    import libcst

    from ppodoctor.setup import model
    from ppodoctor.setup.extract import extract

    source = HEAD + MODULE + "def reward_fn(texts):\n    return texts\n" + call(reward="reward_fn", value="Scorer()")
    file_setup = extract(libcst.parse_module(source), "t.py")
    assert model.loads(model.dumps(file_setup)) == file_setup
    setup = file_setup.setups[0]
    reward, value = setup.origin(Role.REWARD), setup.origin(Role.VALUE)
    assert (reward.kind, reward.span) == ("function", None), "no span: nothing a fix could rewrite"
    assert value.local_class == model.LocalClass("Scorer", ("torch.nn.Module",), ("__init__", "head"))
