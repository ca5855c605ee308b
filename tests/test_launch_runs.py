"""Launches run for real: two-rank torch.distributed (gloo) worlds on the CPU with real TRL 1.12, tiny
models. `ACCELERATE_USE_CPU=true torchrun --nproc_per_node 2` gives a real two-rank world here
(`accelerate launch --cpu --num_processes 2` starts one process on this machine, measured).

1. A launch whose command-line values break PPO's batch arithmetic: flagged from the launch (the file
   alone is not), fails for real with TRL's error; with the values the finding asks for, trains.
2. A script whose outcome depends on the world size (2 rows, a batch of 2 per rank): flagged for the
   two-rank launch and not for the one-rank one; one rank trains, two hang (bounded by a timeout).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_e2e_trl import make_models

VENV_BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(not (VENV_BIN / "torchrun").exists(), reason="no torchrun beside this interpreter")

HF_SCRIPT = """
from dataclasses import dataclass

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, HfArgumentParser
from trl.experimental.ppo import PPOConfig, PPOTrainer


@dataclass
class ScriptArguments:
    models: str = "models"


parser = HfArgumentParser((ScriptArguments, PPOConfig))
script_args, config = parser.parse_args_into_dataclasses()
tokenizer = AutoTokenizer.from_pretrained(f"{script_args.models}/policy", padding_side="left")
dataset = Dataset.from_dict({"input_ids": [[5, 6, 7], [8, 9, 10], [11, 12, 13], [14, 15, 16]]})
policy = AutoModelForCausalLM.from_pretrained(f"{script_args.models}/policy")
ref_policy = AutoModelForCausalLM.from_pretrained(f"{script_args.models}/policy")
reward_model = AutoModelForSequenceClassification.from_pretrained(f"{script_args.models}/rm", num_labels=1)
value_model = AutoModelForSequenceClassification.from_pretrained(f"{script_args.models}/rm", num_labels=1)
trainer = PPOTrainer(args=config, processing_class=tokenizer, model=policy, ref_model=ref_policy,
                     reward_model=reward_model, value_model=value_model, train_dataset=dataset)
trainer.train()
print("TRAINED", trainer.accelerator.process_index, "of", trainer.accelerator.num_processes)
"""

LAUNCHER = """
#!/bin/bash
# A two-rank CPU run of train_hf.py; BATCH and MINI come from the environment or default here.
export ACCELERATE_USE_CPU=true
BATCH=${BATCH:-3}
MINI=${MINI:-2}
COMMON="--output_dir out --use_cpu true --bf16 false --gradient_accumulation_steps 1 --total_episodes 4 \\
  --response_length 4 --num_ppo_epochs 1 --num_sample_generations 0 --report_to none --save_strategy no \\
  --stop_token eos --seed 0"
torchrun --nproc_per_node 2 train_hf.py --models {models} $COMMON \\
    --per_device_train_batch_size $BATCH --num_mini_batches $MINI
"""

WORLD_SCRIPT = """
import argparse

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

parser = argparse.ArgumentParser()
parser.add_argument("--models", default="models")
parser.add_argument("--per_device_train_batch_size", type=int, default=2)
args = parser.parse_args()
tokenizer = AutoTokenizer.from_pretrained(f"{args.models}/policy", padding_side="left")
dataset = Dataset.from_dict({"input_ids": [[5, 6, 7], [8, 9, 10]]})
config = PPOConfig(output_dir="out", use_cpu=True, bf16=False,
                   per_device_train_batch_size=args.per_device_train_batch_size, gradient_accumulation_steps=1,
                   num_mini_batches=1, total_episodes=4, response_length=4, num_ppo_epochs=1,
                   num_sample_generations=0, report_to="none", save_strategy="no", stop_token="eos", seed=0)
policy = AutoModelForCausalLM.from_pretrained(f"{args.models}/policy")
ref_policy = AutoModelForCausalLM.from_pretrained(f"{args.models}/policy")
reward_model = AutoModelForSequenceClassification.from_pretrained(f"{args.models}/rm", num_labels=1)
value_model = AutoModelForSequenceClassification.from_pretrained(f"{args.models}/rm", num_labels=1)
trainer = PPOTrainer(args=config, processing_class=tokenizer, model=policy, ref_model=ref_policy,
                     reward_model=reward_model, value_model=value_model, train_dataset=dataset)
trainer.train()
print("TRAINED", trainer.accelerator.process_index, "of", trainer.accelerator.num_processes)
"""

# A rank that has loaded its models and not trained after this long is in the hang: one rank's
# whole run takes about 25 s here.
HANG_AFTER = 100


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("launch_models")
    make_models(sys.executable, out)
    return out


def _env(**extra) -> dict:
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM":
           "false", "TRL_EXPERIMENTAL_SILENCE": "1", "OMP_NUM_THREADS": "1", "ACCELERATE_USE_CPU": "true",
           "PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp")}
    env.update(extra)
    return env


def _run(command: list[str], cwd: Path, timeout: float, **extra) -> tuple[int, str]:
    """(exit status, output); 124 when it was still running after `timeout` s (its process group is
    then killed: torchrun and every rank)."""
    process = subprocess.Popen(command, cwd=cwd, env=_env(**extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
        return process.returncode, output
    except subprocess.TimeoutExpired:
        # torchrun's agent stops its ranks on SIGTERM (they run in sessions of their own, out of reach
        # of a signal to its group); SIGKILL is the fallback for a shell around it.
        for child in _children(process.pid):
            os.kill(child, signal.SIGTERM)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate(timeout=60)
        return 124, output


def _children(pid: int) -> list[int]:
    """Every process below `pid` (read from /proc), deepest last."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == current]
        found.extend(kids)
        frontier.extend(kids)
    return found


def _codes(cwd: Path, *args: str, **extra) -> list[str]:
    env = {**os.environ, **extra}
    done = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--output-format", "concise", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120)
    return re.findall(r":\d+:\d+: (PPD\d+)", done.stdout)


def test_a_launchs_values_break_the_batch_arithmetic_and_the_run(models, tmp_path):
    (tmp_path / "train_hf.py").write_text(textwrap.dedent(HF_SCRIPT).lstrip())
    (tmp_path / "run_ppo.sh").write_text(textwrap.dedent(LAUNCHER.replace("{models}", str(models))).lstrip())
    assert "PPD401" not in _codes(tmp_path, "train_hf.py")  # the file alone: its parser's defaults
    assert "PPD401" in _codes(tmp_path, "run_ppo.sh")  # BATCH=3 MINI=2 from the launcher
    status, output = _run(["bash", "run_ppo.sh"], tmp_path, 240)
    assert status not in (0, 124), output[-3000:]
    assert "ValueError: `local_batch_size` must be a multiple of `num_mini_batches`, inexact division: 3 / 2" \
        in output, output[-3000:]
    # the values the finding asks for (a multiple of num_mini_batches): no finding, and both ranks train
    assert not {"PPD401", "PPD405"} & set(_codes(tmp_path, "run_ppo.sh", BATCH="2"))
    status, output = _run(["bash", "run_ppo.sh"], tmp_path, 240, BATCH="2")
    assert status == 0, output[-3000:]
    assert "TRAINED 0 of 2" in output and "TRAINED 1 of 2" in output


def test_the_world_size_decides_and_the_finding_follows_it(models, tmp_path):
    (tmp_path / "train_world.py").write_text(textwrap.dedent(WORLD_SCRIPT).lstrip())
    one = ["torchrun", "--nproc_per_node", "1", "train_world.py", "--models", str(models)]
    two = ["torchrun", "--nproc_per_node", "2", "train_world.py", "--models", str(models)]
    assert "PPD405" not in _codes(tmp_path, "--", *one)
    assert "PPD405" in _codes(tmp_path, "--", *two)
    status, output = _run(one, tmp_path, 240)
    assert status == 0 and "TRAINED 0 of 1" in output, output[-3000:]
    status, output = _run(two, tmp_path, HANG_AFTER)
    assert status == 124 and "TRAINED" not in output, output[-3000:]  # both ranks spin in repeat_generator


def test_a_deepspeed_json_handed_to_ppoconfig_fails_for_real(models, tmp_path):
    site = Path(__file__).resolve().parents[1] / ".venv-deepspeed-site"
    if not (site / "deepspeed").is_dir():
        pytest.skip("no .venv-deepspeed-site (scripts/setup --test installs DeepSpeed there)")
    (tmp_path / "train_hf.py").write_text(textwrap.dedent(HF_SCRIPT).lstrip())
    (tmp_path / "ds.json").write_text('{"train_micro_batch_size_per_gpu": "auto", "zero_optimization": {"stage": 2}}')
    launch = ["torchrun", "--nproc_per_node", "1", "train_hf.py", "--models", str(models), "--output_dir", "out",
              "--use_cpu", "true", "--bf16", "false", "--deepspeed", "ds.json"]
    assert "PPD702" in _codes(tmp_path, "--", *launch)
    status, output = _run(launch, tmp_path, 240, PYTHONPATH=str(site), DS_ACCELERATOR="cpu")
    assert status not in (0, 124)
    assert "trainer_config_process" in output and \
        "TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'" in output, output[-3000:]
