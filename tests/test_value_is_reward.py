"""The proof of PPD112 is a real run: in real trl 1.12 (tiny fixture models, CPU, two episodes) a script
that passes the reward model as the value model trains without an error, and the reward model's
weights have changed when `train()` returns; after `ppodoctor fix --write` (probe-gated) the same
script trains a separate critic and the reward model's weights are exactly the ones it loaded. A
hand-written separate critic of the same path (two objects) trains and is left alone by the rule.

Each script prints one line, `REWARD {json}`: the sum of the reward model's parameters before and
after `train()` (float64), and how many of its tensors differ from a copy taken before training.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_matrix import CONFIG, DATASET, ENV, make_models, run_scripts
from ppodoctor.api import check_source
from ppodoctor.config import Settings
from ppodoctor.trl_api.eras import Target

pytest.importorskip("trl.experimental.ppo")

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """\
import json
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

POLICY = {policy!r}
RM = {rm!r}


def checksum(model):
    return sum(p.detach().double().sum().item() for p in model.parameters())


tokenizer = AutoTokenizer.from_pretrained(POLICY, padding_side="left")
policy = AutoModelForCausalLM.from_pretrained(POLICY)
ref_policy = AutoModelForCausalLM.from_pretrained(POLICY)
reward_model = AutoModelForSequenceClassification.from_pretrained(RM, num_labels=1)
{critic}
loaded = {{name: tensor.detach().clone() for name, tensor in reward_model.state_dict().items()}}
before = checksum(reward_model)
config = PPOConfig({config})
trainer = PPOTrainer(args=config, processing_class=tokenizer, model=policy, ref_model=ref_policy,
                     reward_model=reward_model, value_model={value}, train_dataset={dataset})
trainer.train()
changed = [name for name, tensor in reward_model.state_dict().items() if not torch.equal(tensor, loaded[name])]
print("REWARD " + json.dumps({{"before": before, "after": checksum(reward_model), "changed": len(changed),
                              "tensors": len(loaded)}}))
"""

SEPARATE = "critic = AutoModelForSequenceClassification.from_pretrained(RM, num_labels=1)"


def render(models: Path, critic: str, value: str) -> str:
    return SCRIPT.format(policy=str(models / "policy"), rm=str(models / "rm"), critic=critic, value=value,
                         config=CONFIG.format(out='"out"', epochs="num_ppo_epochs=1"), dataset=DATASET)


def codes(source: str) -> set[str]:
    report = check_source(source, "train.py", Settings(), Target.of("1.12.0", transformers="5.24.0"))
    assert report.error is None, report.error
    return {d.code for d in report.diagnostics}


def reward_line(script: Path) -> dict:
    lines = [line for line in Path(str(script) + ".stdout").read_text().splitlines() if line.startswith("REWARD ")]
    assert len(lines) == 1, lines
    return json.loads(lines[0][len("REWARD "):])


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("value_is_reward")
    models = root / "models"
    make_models(sys.executable, models)
    scripts = {}
    for label, critic, value in (("shared", "", "reward_model"), ("fixed", "", "reward_model"),
                                 ("separate", SEPARATE, "critic")):
        directory = root / label
        directory.mkdir()
        scripts[label] = directory / "train.py"
        scripts[label].write_text(render(models, critic, value))
    original = scripts["fixed"].read_text()
    # The probe-gated write, in the interpreter that trains: only PPD112, so the change is its fix alone.
    fixed = subprocess.run([sys.executable, "-m", "ppodoctor", "fix", "--write", "--select", "PPD112",
                            "--python", sys.executable, str(scripts["fixed"])], capture_output=True, text=True,
                           timeout=600, cwd=scripts["fixed"].parent,
                           env=dict(ENV, PYTHONPATH=str(ROOT), HOME=str(root)))
    results = run_scripts(sys.executable, list(scripts.values()), timeout=300)
    return {"scripts": scripts, "results": {label: results[str(path)] for label, path in scripts.items()},
            "fix": fixed, "original": original}


def test_the_shared_object_trains_without_error_and_changes_the_reward_model(runs):
    script, result = runs["scripts"]["shared"], runs["results"]["shared"]
    assert result["returncode"] == 0, result["stderr"][-2500:]
    reward = reward_line(script)
    print(script.parent.name, reward)
    assert reward["changed"] > 0 and reward["after"] != reward["before"], reward
    assert "PPD112" in codes(script.read_text())


def test_the_fix_is_written_by_the_probe_gated_fix_and_keeps_the_reward_model(runs):
    fix, script, result = runs["fix"], runs["scripts"]["fixed"], runs["results"]["fixed"]
    assert fix.returncode == 0 and "Fixed 1 problem in 1 file" in fix.stderr, fix.stdout + fix.stderr
    source = script.read_text()
    assert source != runs["original"] and "value_model=reward_model" not in source, source
    assert "PPD112" not in codes(source), source
    assert result["returncode"] == 0, source + result["stderr"][-2500:]
    reward = reward_line(script)
    print(script.parent.name, reward)
    assert reward["changed"] == 0 and reward["after"] == reward["before"], reward


def test_a_separate_critic_of_the_same_path_is_left_alone_and_keeps_the_reward_model(runs):
    script, result = runs["scripts"]["separate"], runs["results"]["separate"]
    assert "PPD112" not in codes(script.read_text())
    assert result["returncode"] == 0, result["stderr"][-2500:]
    reward = reward_line(script)
    print(script.parent.name, reward)
    assert reward["changed"] == 0 and reward["after"] == reward["before"], reward


# --- detection, statically: the forms that share one object, and those that do not ---------------
HEAD = ("from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification as C\n"
        "from trl.experimental.ppo import PPOTrainer\n")


def call(reward: str = "rm", value: str = "critic", policy: str = "policy", indent: str = "") -> str:
    return (f"{indent}trainer = PPOTrainer(args=cfg, processing_class=tok, model={policy}, ref_model=ref, "
            f"reward_model={reward}, value_model={value}, train_dataset=ds)\n")


LOAD = 'rm = C.from_pretrained("rm", num_labels=1)\n'


@pytest.mark.parametrize("source", [
    HEAD + LOAD + call(value="rm"),
    HEAD + LOAD + "critic = rm\n" + call(),
    HEAD + 'rm = critic = C.from_pretrained("rm", num_labels=1)\n' + call(),
    HEAD + 'models = {"rm": C.from_pretrained("rm", num_labels=1)}\n' + call('models["rm"]', 'models["rm"]'),
    HEAD + "def load():\n    rm = C.from_pretrained('rm', num_labels=1)\n    return rm, rm\nrm, critic = load()\n"
    + call(),
    HEAD + "class Run:\n    def __init__(self):\n        self.rm = C.from_pretrained('rm', num_labels=1)\n"
    "        self.critic = self.rm\n    def go(self):\n" + call("self.rm", "self.critic", indent="        "),
    "from transformers import AutoModelForSequenceClassification as C\nfrom trl import PPOv2Trainer\n" + LOAD
    + "trainer = PPOv2Trainer(config=cfg, tokenizer=tok, policy=p, ref_policy=r, reward_model=rm, value_model=rm, "
      "train_dataset=ds)\n",
], ids=["same-name", "alias", "chained-assignment", "dict-entry", "helper-tuple", "class-attribute", "ppov2"])
def test_fires_on_one_object_in_both_roles(source):
    assert "PPD112" in codes(source), source


@pytest.mark.parametrize("source", [
    HEAD + LOAD + 'critic = C.from_pretrained("rm", num_labels=1)\n' + call(),
    HEAD + LOAD + call().replace(", value_model=critic", ""),
    HEAD + LOAD + "rm.requires_grad_(False)\n" + call(value="rm"),
    HEAD + 'policy = AutoModelForCausalLM.from_pretrained("sft")\n' + call("policy", "policy"),
    HEAD + 'lm = AutoModelForCausalLM.from_pretrained("rm")\n' + call("lm", "lm"),
    HEAD + "def score(texts):\n    return [0.0] * len(texts)\n" + call("score", "score"),
    HEAD + "from mylib import load\n" + call('load("rm")', 'load("rm")'),
], ids=["two-loads-of-one-path", "no-value-model", "frozen", "policy-everywhere", "causal-lm", "function",
        "opaque-calls"])
def test_silent_where_the_roles_are_not_one_trainable_scorer(source):
    assert "PPD112" not in codes(source), source


def test_silent_on_the_value_head_era():
    source = HEAD.replace("trl.experimental.ppo", "trl") + LOAD + call(value="rm")
    report = check_source(source, "train.py", Settings(), Target.of("0.11.4"))
    assert "PPD112" not in {d.code for d in report.diagnostics}
