"""Resolution cost: `ppodoctor check` on a tree of PPO scripts against a process that only parses them.

Run: python benchmarks/resolution.py [--files 300] [--runs 5] [--dir DIR] [--keep DIR]

Every file in the tree holds a PPO setup, so every one goes to libcst: this measures what the setup
model (positions, the scope walk, name resolution, extraction) and the rules cost on top of
`libcst.parse_module`. The tree is generated (seeded, so every run measures the same files) in the
styles public PPO code uses: flat scripts, helpers returning tuples, classes holding the models,
kwargs dicts built step by step, argparse and dataclass arguments flowing into `main(args)`, model
registries and old-era `.step()` loops; or `--dir` takes a directory of real scripts instead.

Two comparisons, each the minimum of --runs fresh processes (start-up included), bytecode written:
  - as a user runs it: `ppodoctor check DIR` (its worker pool on every CPU) against one process
    parsing every file;
  - per core: both pinned to one CPU (`taskset -c 0`), so the ratio is work against work.
Each line also gives the CPU seconds both spent (user + system, children included): on a shared
machine wall times move with the other load, CPU time much less.
Target (issue 12): check ≤ 1.5 × the parse-only process.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARSE_ONLY = """
import os, sys, libcst
count = 0
for root in sys.argv[1:]:
    for directory, subdirectories, names in os.walk(root):
        for name in sorted(names):
            if name.endswith(".py"):
                with open(os.path.join(directory, name), "rb") as handle:
                    libcst.parse_module(handle.read())  # bytes: libcst honours the coding cookie
                count += 1
print(count)
"""

HEADER = '''\
"""{title}."""

import os
import math
import random
import logging
from dataclasses import dataclass, field
from typing import Optional

import torch
from datasets import load_dataset
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, HfArgumentParser
from trl.experimental.ppo import PPOConfig, PPOTrainer

logger = logging.getLogger(__name__)
'''

UTILITIES = '''

def set_seed_everywhere(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def format_prompt(example, template="{{instruction}}\\n\\n### Response:"):
    text = template.format(instruction=example["{column}"].strip())
    return {{"query": text}}


def cosine_schedule(step: int, total: int, base: float = {lr}) -> float:
    progress = min(step / max(total, 1), 1.0)
    return base * 0.5 * (1.0 + math.cos(math.pi * progress))


def summarise(history):
    if not history:
        return {{}}
    keys = sorted({{key for entry in history for key in entry}})
    return {{key: sum(entry.get(key, 0.0) for entry in history) / len(history) for key in keys}}


class MetricsLogger:
    def __init__(self, path, every={every}):
        self.path = path
        self.every = every
        self.history = []

    def log(self, step, **values):
        self.history.append(values)
        if step % self.every == 0:
            logger.info("step %d: %s", step, summarise(self.history[-self.every:]))

    def close(self):
        with open(os.path.join(self.path, "metrics.txt"), "w") as handle:
            for entry in self.history:
                handle.write(repr(entry) + "\\n")
'''

DATASET = '''

def build_dataset(tokenizer, name="{dataset}", split="train", max_length={max_length}):
    dataset = load_dataset(name, split=split)
    dataset = dataset.map(format_prompt, remove_columns=dataset.column_names)

    def tokenize(example):
        ids = tokenizer(example["query"], truncation=True, max_length=max_length)["input_ids"]
        return {{"input_ids": ids, "lengths": len(ids)}}

    dataset = dataset.map(tokenize, remove_columns=["query"])
    return dataset.filter(lambda row: row["lengths"] <= max_length)
'''

FLAT = '''
SFT_PATH = "{sft}"
RM_PATH = "{rm}"

tokenizer = AutoTokenizer.from_pretrained(SFT_PATH, padding_side="left")
tokenizer.add_special_tokens({{"pad_token": "[PAD]"}})
policy = AutoModelForCausalLM.from_pretrained(SFT_PATH, torch_dtype=torch.bfloat16)
ref_policy = AutoModelForCausalLM.from_pretrained(SFT_PATH, torch_dtype=torch.bfloat16)
reward_model = AutoModelForSequenceClassification.from_pretrained(RM_PATH, num_labels=1, torch_dtype=torch.bfloat16)
value_model = AutoModelForSequenceClassification.from_pretrained(RM_PATH, num_labels=1, torch_dtype=torch.bfloat16)
train_dataset = build_dataset(tokenizer)
config = PPOConfig(output_dir="{out}", learning_rate={lr}, per_device_train_batch_size={batch}, num_mini_batches={mini},
                   total_episodes={episodes}, bf16=True)
trainer = PPOTrainer(
    args=config,
    processing_class=tokenizer,
    model=policy,
    ref_model=ref_policy,
    reward_model=reward_model,
    value_model=value_model,
    train_dataset=train_dataset,
)
trainer.train()
trainer.save_model(config.output_dir)
'''

HELPERS = '''

def load_tokenizer(path):
    tok = AutoTokenizer.from_pretrained(path)
    tok.add_special_tokens({{"pad_token": "[PAD]"}})
    return tok


def load_models(sft_path, rm_path, dtype=torch.bfloat16):
    policy = AutoModelForCausalLM.from_pretrained(sft_path, torch_dtype=dtype)
    ref = AutoModelForCausalLM.from_pretrained(sft_path, torch_dtype=dtype)
    reward = AutoModelForSequenceClassification.from_pretrained(rm_path, num_labels=1, torch_dtype=dtype)
    value = AutoModelForSequenceClassification.from_pretrained(rm_path, num_labels=1, torch_dtype=dtype)
    return policy, ref, reward, value


def main():
    set_seed_everywhere({seed})
    tokenizer = load_tokenizer("{sft}")
    policy, ref, reward, value = load_models("{sft}", "{rm}")
    dataset = build_dataset(tokenizer)
    split = dataset.train_test_split(test_size=0.05, seed={seed})
    trainer = PPOTrainer(
        args=PPOConfig(output_dir="{out}", per_device_train_batch_size={batch}, num_mini_batches={mini}),
        processing_class=tokenizer,
        model=policy,
        ref_model=ref,
        reward_model=reward,
        value_model=value,
        train_dataset=split["train"],
        eval_dataset=split["test"],
    )
    trainer.train()


if __name__ == "__main__":
    main()
'''

CLASS = '''

class PPOExperiment:
    def __init__(self, sft_path="{sft}", rm_path="{rm}", output_dir="{out}"):
        self.sft_path = sft_path
        self.rm_path = rm_path
        self.cfg = PPOConfig(output_dir=output_dir, per_device_train_batch_size={batch}, num_mini_batches={mini})
        self.tokenizer = AutoTokenizer.from_pretrained(sft_path)
        self.tokenizer.add_special_tokens({{"pad_token": "[PAD]"}})
        self.policy = AutoModelForCausalLM.from_pretrained(sft_path)
        self.ref = AutoModelForCausalLM.from_pretrained(sft_path)
        self.reward = AutoModelForSequenceClassification.from_pretrained(rm_path, num_labels=1)
        self.critic = AutoModelForSequenceClassification.from_pretrained(rm_path, num_labels=1)
        self.metrics = MetricsLogger(output_dir)

    def build_trainer(self, dataset):
        return PPOTrainer(
            args=self.cfg,
            processing_class=self.tokenizer,
            model=self.policy,
            ref_model=self.ref,
            reward_model=self.reward,
            value_model=self.critic,
            train_dataset=dataset,
        )

    def run(self):
        dataset = build_dataset(self.tokenizer)
        trainer = self.build_trainer(dataset)
        trainer.train()
        self.metrics.close()


if __name__ == "__main__":
    PPOExperiment().run()
'''

KWARGS = '''

def main():
    tokenizer = AutoTokenizer.from_pretrained("{sft}")
    tokenizer.pad_token = tokenizer.eos_token
    model_kwargs = dict(torch_dtype=torch.bfloat16, trust_remote_code=False)
    policy = AutoModelForCausalLM.from_pretrained("{sft}", **model_kwargs)
    reward = AutoModelForSequenceClassification.from_pretrained("{rm}", num_labels=1, **model_kwargs)
    trainer_kwargs = {{}}
    trainer_kwargs["args"] = PPOConfig(output_dir="{out}", per_device_train_batch_size={batch})
    trainer_kwargs["processing_class"] = tokenizer
    trainer_kwargs["model"] = policy
    trainer_kwargs["ref_model"] = None
    trainer_kwargs.update(reward_model=reward, value_model=reward)
    trainer_kwargs["train_dataset"] = build_dataset(tokenizer)
    trainer = PPOTrainer(**trainer_kwargs)
    trainer.train()


main()
'''

ARGPARSE = '''

def parse():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sft_path", default="{sft}")
    parser.add_argument("--rm_path", default="{rm}")
    parser.add_argument("--batch_size", type=int, default={batch})
    parser.add_argument("--output_dir", default="{out}")
    return parser.parse_args()


def main(args):
    tokenizer = AutoTokenizer.from_pretrained(args.sft_path)
    tokenizer.add_special_tokens({{"pad_token": "[PAD]"}})
    policy = AutoModelForCausalLM.from_pretrained(args.sft_path)
    ref = AutoModelForCausalLM.from_pretrained(args.sft_path)
    reward = AutoModelForSequenceClassification.from_pretrained(args.rm_path, num_labels=1)
    value = AutoModelForSequenceClassification.from_pretrained(reward.config._name_or_path, num_labels=1)
    config = PPOConfig(output_dir=args.output_dir, per_device_train_batch_size=args.batch_size)
    trainer = PPOTrainer(args=config, processing_class=tokenizer, model=policy, ref_model=ref,
                         reward_model=reward, value_model=value, train_dataset=build_dataset(tokenizer))
    trainer.train()


if __name__ == "__main__":
    import argparse

    main(parse())
'''

DATACLASS = '''

@dataclass
class ScriptArguments:
    sft_path: str = field(default="{sft}")
    rm_path: str = field(default="{rm}")
    dataset: str = "{dataset}"
    use_peft: bool = False


def main(script_args, training_args):
    tokenizer = AutoTokenizer.from_pretrained(script_args.sft_path)
    tokenizer.add_special_tokens({{"pad_token": "[PAD]"}})
    policy = AutoModelForCausalLM.from_pretrained(script_args.sft_path)
    ref = None if script_args.use_peft else AutoModelForCausalLM.from_pretrained(script_args.sft_path)
    reward = AutoModelForSequenceClassification.from_pretrained(script_args.rm_path, num_labels=1)
    value = AutoModelForSequenceClassification.from_pretrained(script_args.rm_path, num_labels=1)
    trainer = PPOTrainer(args=training_args, processing_class=tokenizer, model=policy, ref_model=ref,
                         reward_model=reward, value_model=value, train_dataset=build_dataset(tokenizer))
    trainer.train()


if __name__ == "__main__":
    parser = HfArgumentParser((ScriptArguments, PPOConfig))
    script_args, training_args = parser.parse_args_into_dataclasses()
    main(script_args, training_args)
'''

REGISTRY = '''

MODELS = {{
    "policy": (AutoModelForCausalLM, "{sft}", {{}}),
    "ref": (AutoModelForCausalLM, "{sft}", {{}}),
    "reward": (AutoModelForSequenceClassification, "{rm}", {{"num_labels": 1}}),
    "value": (AutoModelForSequenceClassification, "{rm}", {{"num_labels": 1}}),
}}


def build_models():
    built = {{}}
    for role, (cls, path, kwargs) in MODELS.items():
        built[role] = cls.from_pretrained(path, **kwargs)
    return built


def main():
    tokenizer = AutoTokenizer.from_pretrained("{sft}")
    tokenizer.add_special_tokens({{"pad_token": "[PAD]"}})
    models = build_models()
    trainer = PPOTrainer(args=PPOConfig(output_dir="{out}"), processing_class=tokenizer, model=models["policy"],
                         ref_model=models["ref"], reward_model=models["reward"], value_model=models["value"],
                         train_dataset=build_dataset(tokenizer))
    trainer.train()


main()
'''

OLD_LOOP = '''
from trl import AutoModelForCausalLMWithValueHead

config = PPOConfig(model_name="{sft}", learning_rate={lr}, batch_size={batch}, mini_batch_size={mini})
model = AutoModelForCausalLMWithValueHead.from_pretrained(config.model_name)
ref_model = AutoModelForCausalLMWithValueHead.from_pretrained(config.model_name)
tokenizer = AutoTokenizer.from_pretrained(config.model_name)
tokenizer.pad_token = tokenizer.eos_token
dataset = build_dataset(tokenizer)
ppo_trainer = PPOTrainer(config, model, ref_model, tokenizer, dataset=dataset)
for epoch, batch in enumerate(ppo_trainer.dataloader):
    query_tensors = batch["input_ids"]
    response_tensors = ppo_trainer.generate(query_tensors, max_new_tokens={max_length})
    rewards = [torch.tensor(float(len(r))) for r in response_tensors]
    stats = ppo_trainer.step(query_tensors, response_tensors, rewards)
    ppo_trainer.log_stats(stats, batch, rewards)
'''

STYLES = {"flat": FLAT, "helpers": HELPERS, "class": CLASS, "kwargs": KWARGS, "argparse": ARGPARSE,
          "dataclass": DATACLASS, "registry": REGISTRY, "old_loop": OLD_LOOP}


def generate(directory: Path, count: int) -> None:
    rng = random.Random(12)
    names = list(STYLES)
    for number in range(count):
        style = names[number % len(names)]
        fill = dict(
            title=f"PPO run {number} ({style})", column=rng.choice(["prompt", "instruction", "question"]),
            lr=rng.choice(["1e-5", "3e-6", "1.41e-5"]), every=rng.choice([10, 50, 100]),
            dataset=rng.choice(["imdb", "trl-lib/tldr", "Anthropic/hh-rlhf"]), max_length=rng.choice([64, 128, 512]),
            sft=rng.choice(["EleutherAI/pythia-160m", "gpt2", "Qwen/Qwen2-0.5B", "./sft"]),
            rm=rng.choice(["./rm", "OpenAssistant/reward-model-deberta-v3-large"]), out=f"runs/{style}{number}",
            batch=rng.choice([4, 8, 16]), mini=rng.choice([1, 2, 4]), episodes=rng.choice([1000, 10000]),
            seed=rng.randrange(100))
        text = HEADER.format(**fill) + UTILITIES.format(**fill) + DATASET.format(**fill) + STYLES[style].format(**fill)
        (directory / f"{number:04}_{style}.py").write_text(text)


def timed(command: list[str], runs: int, environment: dict) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children), each the minimum of `runs`."""
    subprocess.run(command, capture_output=True, env=environment)  # bytecode and page cache
    best_wall = best_cpu = float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=environment)
        best_wall = min(best_wall, time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if result.returncode not in (0, 1) or "Traceback" in result.stderr:
            raise SystemExit(f"{command[:4]} failed: {result.stderr[-2000:]}")
    return best_wall, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="check these scripts instead of generated ones")
    parser.add_argument("--keep", type=Path, default=None, help="write the generated tree here and keep it")
    options = parser.parse_args()
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    scratch = None
    if options.dir is not None:
        root = options.dir
    else:
        root = options.keep or Path(scratch := tempfile.mkdtemp(prefix="ppodoctor-resolution-"))
        root.mkdir(parents=True, exist_ok=True)
        generate(root, options.files)
    try:
        files = sorted(root.rglob("*.py"))
        size = sum(path.stat().st_size for path in files)
        print(f"{len(files)} files, {size / 1e3:.0f} KB; machine: {os.cpu_count()} CPUs, "
              f"python {sys.version.split()[0]}; minimum of {options.runs} runs")
        parse = [sys.executable, "-c", PARSE_ONLY, str(root)]
        check = [sys.executable, "-m", "ppodoctor", "check", "--trl-version", "1.12.0", "--output-format", "concise",
                 str(root)]
        rows = [("as run", parse, check)]
        if shutil.which("taskset"):
            rows.append(("one CPU", ["taskset", "-c", "0", *parse], ["taskset", "-c", "0", *check]))
        for label, parse_command, check_command in rows:
            (parsed, parsed_cpu), (checked, checked_cpu) = (timed(command, options.runs, environment)
                                                            for command in (parse_command, check_command))
            print(f"{label:>8}: libcst.parse_module only {parsed:6.2f} s   ppodoctor check {checked:6.2f} s   "
                  f"ratio {checked / parsed:.2f} (target ≤ 1.5);   CPU {parsed_cpu:6.2f} s / {checked_cpu:6.2f} s "
                  f"= {checked_cpu / parsed_cpu:.2f}")
    finally:
        if scratch is not None:
            shutil.rmtree(scratch)


if __name__ == "__main__":
    main()
