"""The proof is a real run: each broken setup of PPD110, PPD111, PPD404 and PPD405 in real trl 1.12
(tiny fixture models, CPU) fails the way the rule says, its error is one of the rule's `known_errors`
(as `ppodoctor explain` matches it), and the same script is what `ppodoctor check` flags. The scripts
run in forked children of one interpreter (tests/e2e_runner.py); the hang is stopped by an alarm
that raises KeyboardInterrupt, as Ctrl-C would, and a control with one more batch of rows trains.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from e2e_matrix import make_models, run_scripts
from ppodoctor.api import check_source
from ppodoctor.config import Settings
from ppodoctor.explain import match_errors
from ppodoctor.trl_api.eras import Target

pytest.importorskip("trl.experimental.ppo")

SCRIPT = """\
import signal
import torch
from datasets import Dataset
from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from transformers import LlamaModel
from trl.experimental.ppo import PPOConfig, PPOTrainer
{prelude}
POLICY = {policy_path!r}
RM = {rm_path!r}


class Scorer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.head = torch.nn.Linear(16, 1)

    def forward(self, input_ids=None, **kwargs):
        return self.head(torch.zeros(input_ids.shape[0], input_ids.shape[1], 16))


class Plain:
    def __call__(self, texts):
        return [0.0] * len(texts)


def reward_fn(texts):
    return [0.0] * len(texts)


tokenizer = AutoTokenizer.from_pretrained(POLICY, padding_side="left")
policy = {policy}
ref_policy = {ref}
reward_model = {reward}
value_model = {value}
dataset = {dataset}
config = PPOConfig(output_dir="out", use_cpu=True, bf16=False, per_device_train_batch_size={batch},
                   gradient_accumulation_steps={accumulation}, num_mini_batches=1, total_episodes=2,
                   response_length=4, num_ppo_epochs=1, num_sample_generations=0, report_to="none",
                   save_strategy="no", stop_token="eos", seed=0)
trainer = PPOTrainer(args=config, processing_class=tokenizer, model=policy, ref_model=ref_policy,
                     reward_model=reward_model, value_model=value_model, train_dataset=dataset)
trainer.train()
"""
IDS = 'Dataset.from_dict({"input_ids": [[5, 6, 7], [8, 9, 10], [11, 12, 13], [14, 15, 16]]})'
HANG_S = 15  # the tiny models train 2 episodes in a few seconds; the control proves it
# The alarm stands for the user's Ctrl-C: KeyboardInterrupt where train() spins.
ALARM = f"signal.signal(signal.SIGALRM, signal.default_int_handler)\nsignal.alarm({HANG_S})"

# (label, the rule, what trl 1.12 raises, changes to a correct setup)
CASES = (
    ("automodel-policy", "PPD110", "'LlamaModel' object has no attribute 'generation_config'",
     {"policy": "AutoModel.from_pretrained(POLICY)"}),
    ("base-class-policy", "PPD110", "'LlamaModel' object has no attribute 'generation_config'",
     {"policy": "LlamaModel.from_pretrained(POLICY)"}),
    ("classifier-policy", "PPD110", "'LlamaForSequenceClassification' object has no attribute 'generation_config'",
     {"policy": "AutoModelForSequenceClassification.from_pretrained(POLICY, num_labels=1)"}),
    ("automodel-reference", "PPD110", "'BaseModelOutputWithPast' object has no attribute 'logits'",
     {"ref": "AutoModel.from_pretrained(POLICY)"}),
    ("function-reward", "PPD111", "'function' object has no attribute 'modules'", {"reward": "reward_fn"}),
    ("lambda-reward", "PPD111", "'function' object has no attribute 'modules'",
     {"reward": "lambda texts: [0.0] * len(texts)"}),
    ("module-value", "PPD111", "'Scorer' object has no attribute 'base_model_prefix'", {"value": "Scorer()"}),
    ("module-reward", "PPD111", "'Scorer' object has no attribute 'base_model_prefix'", {"reward": "Scorer()"}),
    ("plain-object-reward", "PPD111", "'Plain' object has no attribute 'modules'", {"reward": "Plain()"}),
    ("raw-text", "PPD404", "that includes input_ids, but you provided ['prompt']",
     {"dataset": 'Dataset.from_dict({"prompt": ["a b", "c d", "e f", "g h"]})'}),
    ("text-beside-ids", "PPD404", "Unable to create tensor",
     {"dataset": 'Dataset.from_dict({"prompt": ["a b", "c d", "e f", "g h"]}).map('
                 'lambda row: {"input_ids": tokenizer(row["prompt"])["input_ids"]})'}),
    ("smaller-than-batch", "PPD405", "KeyboardInterrupt",
     {"dataset": IDS.replace(", [14, 15, 16]", ""), "batch": "2", "accumulation": "2", "prelude": ALARM}),
)
CORRECT = {"policy": "AutoModelForCausalLM.from_pretrained(POLICY)", "ref": "AutoModelForCausalLM.from_pretrained(POLICY)",
           "reward": "AutoModelForSequenceClassification.from_pretrained(RM, num_labels=1)",
           "value": "AutoModelForSequenceClassification.from_pretrained(RM, num_labels=1)", "dataset": IDS,
           "batch": "2", "accumulation": "1", "prelude": ""}
CONTROL = ("one-batch-of-rows", {"dataset": IDS, "batch": "2", "accumulation": "2", "prelude": ALARM})


def render(models: Path, changes: dict) -> str:
    parts = dict(CORRECT, **changes)
    return SCRIPT.format(policy_path=str(models / "policy"), rm_path=str(models / "rm"), **parts)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("wiring")
    make_models(sys.executable, root / "models")
    scripts = {}
    for label, _code, _error, changes in CASES + ((CONTROL[0], "", "", CONTROL[1]),):
        directory = root / label
        directory.mkdir()
        scripts[label] = directory / "train.py"
        scripts[label].write_text(render(root / "models", changes))
    results = run_scripts(sys.executable, list(scripts.values()), timeout=HANG_S + 60)
    return {label: (path.read_text(), results[str(path)]) for label, path in scripts.items()}


def _codes(source: str) -> set[str]:
    report = check_source(source, "train.py", Settings(), Target.of("1.12.0", transformers="5.24.0"))
    assert report.error is None, report.error
    return {d.code for d in report.diagnostics}


@pytest.mark.parametrize("label, code, error, changes", CASES, ids=[case[0] for case in CASES])
def test_the_broken_setup_fails_as_the_rule_says(runs, label, code, error, changes):
    source, result = runs[label]
    assert result["returncode"] != 0, f"the broken script trained:\n{source}"
    assert error in result["stderr"], result["stderr"][-2500:]
    matched = match_errors(result["stderr"])
    assert matched and code in matched[0].known.codes, (
        [m.known.key for m in matched], result["stderr"][-1500:])
    assert code in _codes(source), source


def test_the_control_trains_and_nothing_fires(runs):
    source, result = runs[CONTROL[0]]
    assert result["returncode"] == 0, result["stderr"][-2500:]
    assert not {"PPD110", "PPD111", "PPD404", "PPD405"} & _codes(source)


def test_the_hang_is_in_trls_endless_dataloader_loop(runs):
    _source, result = runs["smaller-than-batch"]
    assert "in repeat_generator" in result["stderr"], result["stderr"][-2500:]
