"""Probes a Llama-2-7B-shaped setup (fixtures/models/llama-7b: a config, no weights) and prints
the probe's wall time, its peak resident memory and the memory plan it computes.

    .venv/bin/python benchmarks/probe_memory.py [--python PATH]

Figures, not a test: the point is that a 7B setup is probed in seconds with well under 1 GB. Targets:
probe time <= the cost of importing torch, transformers and trl + 1.5 s, and peak RSS < 1 GB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ppodoctor.api import check_file  # noqa: E402
from ppodoctor.probe import ProbeOptions, probe_file_setup  # noqa: E402
from ppodoctor.probe.memory import render_plan  # noqa: E402

SCRIPT = '''
import torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

tokenizer = AutoTokenizer.from_pretrained("{tok}")
policy = AutoModelForCausalLM.from_pretrained("{m}", torch_dtype=torch.bfloat16)
ref_policy = AutoModelForCausalLM.from_pretrained("{m}", torch_dtype=torch.bfloat16)
reward = AutoModelForSequenceClassification.from_pretrained("{m}", num_labels=1, torch_dtype=torch.bfloat16)
value = AutoModelForSequenceClassification.from_pretrained("{m}", num_labels=1, torch_dtype=torch.bfloat16)
trainer = PPOTrainer(args=PPOConfig(output_dir="out", use_cpu=True), processing_class=tokenizer, model=policy,
                     ref_model=ref_policy, reward_model=reward, value_model=value, train_dataset=dataset)
'''


def import_cost(python: str, runs: int = 3) -> float:
    """What a fresh process pays to import the stack the probe needs: the floor under any probe."""
    command = [python, "-c", "import torch, transformers, trl.experimental.ppo"]
    subprocess.run(command, capture_output=True)  # bytecode and page cache, as the probe found them
    best = float("inf")
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run(command, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        best = min(best, time.monotonic() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    models = ROOT / "fixtures" / "models"
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "ppo_7b.py"
        script.write_text(SCRIPT.format(tok=models / "tok-pad", m=models / "llama-7b"))
        setup = check_file(script).setup
        started = time.monotonic()
        result = probe_file_setup(setup, ProbeOptions(python=args.python))
        elapsed = time.monotonic() - started
    if not result.ok:
        sys.exit(f"probe failed: {result.reason}")
    versions = dict(result.versions)
    print(f"interpreter: {args.python} (torch {versions.get('torch')}, transformers {versions.get('transformers')}, "
          f"trl {versions.get('trl')})")
    imports = import_cost(args.python)
    print(f"probe wall time: {elapsed:.2f} s (worker {result.wall_s:.2f} s, including imports)")
    print(f"import cost alone (`import torch, transformers, trl.experimental.ppo`, min of 3): {imports:.2f} s")
    print(f"probe - import cost = {elapsed - imports:.2f} s (target <= 1.5 s)")
    print(f"probe peak RSS: {result.peak_rss_bytes / 2**20:.0f} MiB (target < 1024 MiB)")
    print("memory plan (4 x Llama-2-7B shape, bfloat16):")
    print("\n".join(render_plan(result.memory(0))))


if __name__ == "__main__":
    main()
