"""`ppodoctor fix --write` with the probe on one broken script, next to the cost of importing torch,
transformers and trl in the same interpreter.

Run: python benchmarks/fix_probe.py [--runs 5] [--python PATH]

The script is the commonest crash (no `value_model`, PPD101) with the shipped config-only fixture models,
so the probe reproduces the failure and confirms the fix on the meta device before writing. Each run gets
a fresh copy of the broken script; the commands run interleaved in fresh processes with bytecode enabled
(as users run). The minimum is the figure, the median beside it.
Target: fix --write ≤ import cost + 2 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = Path(__file__).resolve().parent.parent / "fixtures" / "models"

BROKEN = f'''\
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

tokenizer = AutoTokenizer.from_pretrained("{MODELS / "tok-pad"}")
policy = AutoModelForCausalLM.from_pretrained("{MODELS / "llama-causal"}")
ref_policy = AutoModelForCausalLM.from_pretrained("{MODELS / "llama-causal"}")
reward_model = AutoModelForSequenceClassification.from_pretrained("{MODELS / "llama-rm"}", num_labels=1)
dataset = Dataset.from_dict({{"input_ids": [[1, 2, 3]] * 8}})
trainer = PPOTrainer(
    args=PPOConfig(output_dir="out", per_device_train_batch_size=2, use_cpu=True),
    processing_class=tokenizer,
    model=policy,
    ref_model=ref_policy,
    reward_model=reward_model,
    train_dataset=dataset,
)
trainer.train()
'''


def timed(command: list[str], environment: dict) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default=sys.executable,
                        help="the target interpreter (torch, transformers, trl 1.12 and ppodoctor installed)")
    options = parser.parse_args()
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    imports = [options.python, "-c", "import torch, transformers, trl, trl.experimental.ppo"]
    times: dict[str, list[float]] = {"import torch, transformers, trl": [], "ppodoctor fix --write (probe on)": []}
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "train_ppo.py"
        fix = [options.python, "-m", "ppodoctor", "fix", "--write", "--python", options.python, str(script)]
        for run in range(options.runs + 1):  # the first round writes bytecode and warms the page cache
            script.write_text(BROKEN)
            elapsed_import, _ = timed(imports, environment)
            elapsed_fix, result = timed(fix, environment)
            if "value_model=" not in script.read_text():
                sys.exit(f"fix --write did not write the fix (exit {result.returncode}):\n{result.stdout}{result.stderr}")
            if run:
                times["import torch, transformers, trl"].append(elapsed_import)
                times["ppodoctor fix --write (probe on)"].append(elapsed_fix)
    print(f"{'command':<36} {'min':>8} {'median':>8}   ({options.runs} runs, bytecode on)")
    for name, values in times.items():
        print(f"{name:<36} {min(values):>7.2f}s {statistics.median(values):>7.2f}s")
    over = min(times["ppodoctor fix --write (probe on)"]) - min(times["import torch, transformers, trl"])
    print(f"fix --write costs the import + {over:.2f} s (target: + 2 s or less)")


if __name__ == "__main__":
    main()
