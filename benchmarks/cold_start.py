"""Cold start: `ppodoctor check` on one PPO script against `python -c "import libcst"`.

Run: python benchmarks/cold_start.py [--runs 30] [--python PATH]

Each command runs `--runs` times in fresh processes, interleaved so that machine noise hits all alike;
the minimum is the figure (the least-disturbed run), the median is shown beside it. Bytecode is
written first (one warm-up run with PYTHONDONTWRITEBYTECODE unset), as a pip install would have done.
Target: ppodoctor check ≤ 1.3 × the libcst import.
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

SCRIPT = '''\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl import PPOConfig, PPOTrainer

tokenizer = AutoTokenizer.from_pretrained("sft")
policy = AutoModelForCausalLM.from_pretrained("sft")
ref_policy = AutoModelForCausalLM.from_pretrained("sft")
reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
trainer = PPOTrainer(
    args=PPOConfig(output_dir="out", per_device_train_batch_size=8, num_mini_batches=2),
    processing_class=tokenizer,
    model=policy,
    ref_model=ref_policy,
    reward_model=reward_model,
    train_dataset=dataset,
)
trainer.train()
'''


def timed(command: list[str], environment: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--python", default=sys.executable, help="the interpreter with ppodoctor installed")
    options = parser.parse_args()
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "train_ppo.py"
        script.write_text(SCRIPT)
        other = Path(directory) / "utils.py"
        other.write_text("import os\n\n\ndef main():\n    return os.getcwd()\n")
        version = "--trl-version=1.12.0"
        commands = {
            "python -c pass": [options.python, "-c", "pass"],
            "python -c 'import libcst'": [options.python, "-c", "import libcst"],
            "ppodoctor check train_ppo.py": [options.python, "-m", "ppodoctor", "check", str(script)],
            f"ppodoctor check {version} train_ppo.py": [options.python, "-m", "ppodoctor", "check", version,
                                                         str(script)],
            f"ppodoctor check {version} --output-format concise train_ppo.py": [
                options.python, "-m", "ppodoctor", "check", version, "--output-format", "concise", str(script)],
            "ppodoctor check utils.py (no PPO)": [options.python, "-m", "ppodoctor", "check", version, str(other)],
        }
        for command in commands.values():  # writes bytecode, warms the page cache
            timed(command, environment)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(options.runs):
            for name, command in commands.items():
                times[name].append(timed(command, environment))
    baseline = min(times["python -c 'import libcst'"])
    print(f"cold start, {options.runs} interleaved runs each, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    print(f"{'command':<72} {'min ms':>8} {'median ms':>10} {'× libcst':>9}")
    for name, values in times.items():
        print(f"{name:<72} {min(values) * 1000:8.0f} {statistics.median(values) * 1000:10.0f} "
              f"{min(values) / baseline:9.2f}")


if __name__ == "__main__":
    main()
