"""Probes a Llama-2-7B-shaped setup (fixtures/models/llama-7b: a config, no weights) and prints
the probe's wall time, its peak resident memory and the memory plan it computes.

    .venv/bin/python benchmarks/probe_memory.py [--python PATH]

Figures, not a test: the point is that a 7B setup is probed in seconds with well under 1 GB.
"""

from __future__ import annotations

import argparse
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
    print(f"probe wall time: {elapsed:.2f} s (worker {result.wall_s:.2f} s, including imports)")
    print(f"probe peak RSS: {result.peak_rss_bytes / 2**20:.0f} MiB")
    print("memory plan (4 x Llama-2-7B shape, bfloat16):")
    print("\n".join(render_plan(result.memory(0))))


if __name__ == "__main__":
    main()
