"""Broken PPO scripts for the end-to-end matrix: every fixable rule's mistake, written in eleven styles.

A `Case` names one mistake as changes to a correct trl 1.12 setup (the class a model is loaded as,
whether the reference is the policy object, what the value model is, ...). A style renders any case
as a whole script of its own shape: models built inline in the `PPOTrainer(...)` call; built in
helper functions that take the paths as parameters and return a tuple, in the script or in a module
beside it that the script imports (`models.py`: the cause, and the fix, are there); paths from argparse
defaults; module constants; a class that holds the models as attributes; functools.partial loaders;
lru_cache'd loaders (equal arguments, one object); a registry of parameterless lambdas; a PPOTrainer subclass with an option of its own
that hands the rest on. Tiny models (saved by `make_models`) train two episodes on the CPU in a few
seconds.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FIXTURE_MODELS = Path(__file__).resolve().parent.parent / "fixtures" / "models"

MAKE_MODELS = """
import shutil, sys, torch
from pathlib import Path
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification
src, out = Path(sys.argv[1]), Path(sys.argv[2])
torch.manual_seed(0)
for name, cls, config in (("policy", AutoModelForCausalLM, "llama-causal"),
                          ("rm", AutoModelForSequenceClassification, "llama-rm")):
    cls.from_config(AutoConfig.from_pretrained(src / config)).save_pretrained(out / name)
    for f in (src / "tok-pad").iterdir():
        shutil.copy(f, out / name / f.name)
    if (src / config / "generation_config.json").exists():
        shutil.copy(src / config / "generation_config.json", out / name)
shutil.copytree(src / "tok-nopad", out / "tok-nopad")
"""

ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "PATH": "/usr/bin:/bin",
       "TOKENIZERS_PARALLELISM": "false", "TRL_EXPERIMENTAL_SILENCE": "1", "OMP_NUM_THREADS": "1",
       "PYTHONWARNINGS": "ignore"}


def make_models(python: str, out: Path) -> None:
    done = subprocess.run([python, "-c", MAKE_MODELS, str(FIXTURE_MODELS), str(out)], capture_output=True,
                          text=True, env=dict(ENV, HOME=str(out)))
    assert done.returncode == 0, done.stderr[-2000:]


@dataclass(frozen=True)
class Case:
    """A correct trl 1.12 setup, changed as one rule's mistake; `error` is what trl 1.12 raises."""

    code: str
    error: str
    name: str = ""
    policy_class: str = "AutoModelForCausalLM"
    ref: str = "copy"  # "copy" (its own from_pretrained) or "policy" (the very policy object)
    ref_class: str = "AutoModelForCausalLM"  # the class the "copy" is loaded as
    reward_class: str = "AutoModelForSequenceClassification"
    reward_kwargs: str = "num_labels=1"
    value: str = "classifier"  # classifier, missing, none, causal, policy, wrapper
    tokenizer: str = "policy"  # "policy" (its directory has a pad token) or "tok-nopad"
    import_from: str = "trl.experimental.ppo"
    call: str = "keywords"  # keywords, v012 (config=/policy=/ref_policy=), positional (the old order)
    config_epochs: str = "num_ppo_epochs=1"

    @property
    def label(self) -> str:
        return self.name or self.code


CASES = (
    Case("PPD101", "missing 1 required positional argument: 'value_model'", value="missing"),
    Case("PPD102", "'NoneType' object has no attribute 'base_model_prefix'", value="none"),
    Case("PPD103", "object has no attribute 'score'", value="causal"),
    Case("PPD104", "object has no attribute 'score'", reward_class="AutoModelForCausalLM", reward_kwargs=""),
    Case("PPD105", "doesn't match the broadcast shape", reward_kwargs="num_labels=2, ignore_mismatched_sizes=True"),
    Case("PPD106", "cannot be the same object", ref="policy"),
    Case("PPD107", "object has no attribute 'generation_config'", name="PPD107-policy",
         policy_class="AutoModelForCausalLMWithValueHead"),
    Case("PPD107", "object has no attribute", name="PPD107-value", value="wrapper"),
    Case("PPD107", "'tuple' object has no attribute 'logits'", name="PPD107-reference",
         ref_class="AutoModelForCausalLMWithValueHead"),
    # Policy and reference both wrappers: each role's finding has its fix, so the one run cures both.
    Case("PPD107", "object has no attribute 'generation_config'", name="PPD107-both",
         policy_class="AutoModelForCausalLMWithValueHead", ref_class="AutoModelForCausalLMWithValueHead"),
    Case("PPD109", "object has no attribute 'score'", value="policy"),
    Case("PPD110", "'LlamaModel' object has no attribute 'generation_config'", name="PPD110-policy",
         policy_class="AutoModel"),
    Case("PPD110", "'BaseModelOutputWithPast' object has no attribute 'logits'", name="PPD110-reference",
         ref_class="AutoModel"),
    Case("PPD201", "unexpected keyword argument 'config'", call="v012"),
    Case("PPD202", "cannot import name 'PPOConfig' from 'trl'", import_from="trl"),
    Case("PPD205", "unexpected keyword argument 'ppo_epochs'", config_epochs="ppo_epochs=1"),
    Case("PPD208", "has no attribute", call="positional"),
    Case("PPD301", "Asking to pad but the tokenizer does not have a padding token", tokenizer="tok-nopad"),
)

# The correct setup itself, in every style: it trains before and after, and `fix --write` leaves it
# byte for byte (a fix never changes a script that runs).
CLEAN = Case("", "", name="clean")

CONFIG = ("output_dir={out}, use_cpu=True, bf16=False, per_device_train_batch_size=2, gradient_accumulation_steps=1, "
          "num_mini_batches=1, total_episodes=2, response_length=4, {epochs}, num_sample_generations=0, "
          'report_to="none", save_strategy="no", stop_token="eos", seed=0')
DATASET = 'Dataset.from_dict({"input_ids": [[5, 6, 7], [8, 9, 10], [11, 12, 13], [14, 15, 16]]})'


def _imports(case: Case, extra: str = "") -> str:
    lines = [extra, "from datasets import Dataset",
             "from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer",
             "from transformers import AutoModel" if "AutoModel" in (case.policy_class, case.ref_class) else "",
             f"from {case.import_from} import PPOConfig, PPOTrainer"]
    if "wrapper" in (case.value,) or "WithValueHead" in case.policy_class + case.ref_class:
        lines.append("from trl.experimental.ppo import AutoModelForCausalLMWithValueHead")
    return "\n".join(line for line in lines if line) + "\n"


def _value(case: Case, reward_path: str, policy_path: str, policy: str):
    """The value model's expression, or None when the call passes none."""
    return {"classifier": f"AutoModelForSequenceClassification.from_pretrained({reward_path}, num_labels=1)",
            "missing": None, "none": "None", "causal": f"AutoModelForCausalLM.from_pretrained({policy_path})",
            "policy": policy, "wrapper": f"AutoModelForCausalLMWithValueHead.from_pretrained({policy_path})"}[case.value]


def _reward(case: Case, path: str) -> str:
    kwargs = f", {case.reward_kwargs}" if case.reward_kwargs else ""
    return f"{case.reward_class}.from_pretrained({path}{kwargs})"


def _ref(case: Case, policy: str, policy_path: str) -> str:
    return policy if case.ref == "policy" else f"{case.ref_class}.from_pretrained({policy_path})"


def _call(case: Case, config: str, tokenizer: str, policy: str, ref: str, reward: str, value, dataset: str) -> str:
    """The `PPOTrainer(...)` call in the case's style of arguments."""
    if case.call == "positional":
        # The <= 0.11 positional order (config, model, ref_model, tokenizer) kept on a new trainer.
        head = f"PPOTrainer({config}, {policy}, {ref}, {tokenizer}"
        rest = [f"reward_model={reward}", f"train_dataset={dataset}"] + ([f"value_model={value}"] if value else [])
        return head + ", " + ", ".join(rest) + ")"
    names = ("config", "policy", "ref_policy") if case.call == "v012" else ("args", "model", "ref_model")
    parts = [f"{names[0]}={config}", f"processing_class={tokenizer}", f"{names[1]}={policy}", f"{names[2]}={ref}",
             f"reward_model={reward}", f"train_dataset={dataset}"]
    if value is not None:
        parts.append(f"value_model={value}")
    return "PPOTrainer(\n        " + ",\n        ".join(parts) + ",\n    )"


def _paths(case: Case, models: Path) -> dict:
    tokenizer = models / ("policy" if case.tokenizer == "policy" else case.tokenizer)
    return {"POLICY": str(models / "policy"), "RM": str(models / "rm"), "TOK": str(tokenizer),
            "OUT": "out"}  # relative: each script trains in its own directory


def _constants(paths: dict) -> str:
    return "".join(f"{name} = {value!r}\n" for name, value in paths.items())


def inline(case: Case, models: Path) -> str:
    config = "PPOConfig(" + CONFIG.format(out="OUT", epochs=case.config_epochs) + ")"
    call = _call(case, config, "tokenizer", "policy", _ref(case, "policy", "POLICY"), _reward(case, "RM"),
                 _value(case, "RM", "POLICY", "policy"), DATASET)
    return (_imports(case) + _constants(_paths(case, models)) +
            'tokenizer = AutoTokenizer.from_pretrained(TOK, padding_side="left")\n'
            f"policy = {case.policy_class}.from_pretrained(POLICY)\n"
            f"trainer = {call.replace(chr(10) + '    ', chr(10))}\n"
            "trainer.train()\n")


def helpers(case: Case, models: Path) -> str:
    value = _value(case, "reward_path", "policy_path", "policy")
    models_out = "policy, ref, reward" + (", value" if value is not None else "")
    return (_imports(case) + _constants(_paths(case, models)) + "\n\n"
            "def load_tokenizer(path):\n"
            '    tok = AutoTokenizer.from_pretrained(path, padding_side="left")\n'
            "    return tok\n\n\n"
            "def load_models(policy_path, reward_path):\n"
            f"    policy = {case.policy_class}.from_pretrained(policy_path)\n"
            f"    ref = {_ref(case, 'policy', 'policy_path')}\n"
            f"    reward = {_reward(case, 'reward_path')}\n"
            + (f"    value = {value}\n" if value is not None else "")
            + f"    return {models_out}\n\n\n"
            "def make_config(out):\n"
            "    return PPOConfig(" + CONFIG.format(out="out", epochs=case.config_epochs) + ")\n\n\n"
            "def main():\n"
            "    tokenizer = load_tokenizer(TOK)\n"
            f"    {models_out} = load_models(POLICY, RM)\n"
            f"    trainer = {_call(case, 'make_config(OUT)', 'tokenizer', 'policy', 'ref', 'reward', 'value' if value else None, DATASET)}\n"
            "    trainer.train()\n\n\n"
            "main()\n")


def argparse_style(case: Case, models: Path) -> str:
    paths = _paths(case, models)
    value = _value(case, "args.reward", "args.policy", "policy")
    return (_imports(case, "import argparse") + "\n"
            "parser = argparse.ArgumentParser()\n"
            f"parser.add_argument(\"--policy\", default={paths['POLICY']!r})\n"
            f"parser.add_argument(\"--reward\", default={paths['RM']!r})\n"
            f"parser.add_argument(\"--tokenizer\", default={paths['TOK']!r})\n"
            f"parser.add_argument(\"--output-dir\", default={paths['OUT']!r})\n"
            "args = parser.parse_args()\n\n"
            'tokenizer = AutoTokenizer.from_pretrained(args.tokenizer, padding_side="left")\n'
            f"policy = {case.policy_class}.from_pretrained(args.policy)\n"
            f"ref_policy = {_ref(case, 'policy', 'args.policy')}\n"
            f"reward_model = {_reward(case, 'args.reward')}\n"
            + (f"value_model = {value}\n" if value is not None else "")
            + "config = PPOConfig(" + CONFIG.format(out="args.output_dir", epochs=case.config_epochs) + ")\n"
            "dataset = " + DATASET + "\n"
            f"trainer = {_call(case, 'config', 'tokenizer', 'policy', 'ref_policy', 'reward_model', 'value_model' if value else None, 'dataset').replace(chr(10) + '    ', chr(10))}\n"
            "trainer.train()\n")


def constants(case: Case, models: Path) -> str:
    value = _value(case, "REWARD_PATH", "POLICY_PATH", "model")
    paths = _paths(case, models)
    return (_imports(case) + "\n"
            f"POLICY_PATH = {paths['POLICY']!r}\nREWARD_PATH = {paths['RM']!r}\nTOKENIZER_PATH = {paths['TOK']!r}\n"
            f"OUTPUT_DIR = {paths['OUT']!r}\n\n"
            'tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_PATH, padding_side="left")\n'
            f"model = {case.policy_class}.from_pretrained(POLICY_PATH)\n"
            f"ref_model = {_ref(case, 'model', 'POLICY_PATH')}\n"
            f"reward_model = {_reward(case, 'REWARD_PATH')}\n"
            + (f"critic = {value}\n" if value is not None else "")
            + "config = PPOConfig(" + CONFIG.format(out="OUTPUT_DIR", epochs=case.config_epochs) + ")\n"
            "dataset = " + DATASET + "\n"
            f"ppo_trainer = {_call(case, 'config', 'tokenizer', 'model', 'ref_model', 'reward_model', 'critic' if value else None, 'dataset').replace(chr(10) + '    ', chr(10))}\n"
            "ppo_trainer.train()\n")


def class_style(case: Case, models: Path) -> str:
    value = _value(case, "reward_path", "policy_path", "self.policy")
    paths = _paths(case, models)
    return (_imports(case) + "\n\n"
            "class PPOExperiment:\n"
            f"    def __init__(self, policy_path={paths['POLICY']!r}, reward_path={paths['RM']!r},\n"
            f"                 tokenizer_path={paths['TOK']!r}, output_dir={paths['OUT']!r}):\n"
            '        self.tokenizer = AutoTokenizer.from_pretrained(tokenizer_path, padding_side="left")\n'
            f"        self.policy = {case.policy_class}.from_pretrained(policy_path)\n"
            f"        self.ref = {_ref(case, 'self.policy', 'policy_path')}\n"
            f"        self.reward = {_reward(case, 'reward_path')}\n"
            + (f"        self.value = {value}\n" if value is not None else "")
            + "        self.config = PPOConfig(" + CONFIG.format(out="output_dir", epochs=case.config_epochs) + ")\n\n"
            "    def train(self):\n"
            f"        trainer = {_call(case, 'self.config', 'self.tokenizer', 'self.policy', 'self.ref', 'self.reward', 'self.value' if value else None, DATASET).replace(chr(10) + '    ', chr(10) + '        ')}\n"
            "        trainer.train()\n\n\n"
            "PPOExperiment().train()\n")


def data_style(case: Case, models: Path) -> str:
    """Values through data: the config's fields in a `dict(...)` written to JSON and read back into
    `PPOConfig(**loaded)`; reward, value and dataset in a keyword dict built by `dict(...)`, item
    assignment and `.update(...)`, passed as `**extra`."""
    value = _value(case, "RM", "POLICY", "policy")
    fields = CONFIG.format(out="OUT", epochs=case.config_epochs)
    if case.call == "positional":
        call = "PPOTrainer(PPOConfig(**loaded), policy, ref, tokenizer, **extra)"
    else:
        names = ("config", "policy", "ref_policy") if case.call == "v012" else ("args", "model", "ref_model")
        call = (f"PPOTrainer({names[0]}=PPOConfig(**loaded), processing_class=tokenizer, {names[1]}=policy, "
                f"{names[2]}=ref, **extra)")
    return (_imports(case, "import json") + _constants(_paths(case, models)) + "\n"
            f"config_fields = dict({fields})\n"
            'with open("ppo_config.json", "w") as handle:\n'
            "    json.dump(config_fields, handle)\n"
            'with open("ppo_config.json") as handle:\n'
            "    loaded = json.load(handle)\n\n"
            'tokenizer = AutoTokenizer.from_pretrained(TOK, padding_side="left")\n'
            f"policy = {case.policy_class}.from_pretrained(POLICY)\n"
            f"ref = {_ref(case, 'policy', 'POLICY')}\n"
            f"extra = dict(train_dataset={DATASET})\n"
            f'extra["reward_model"] = {_reward(case, "RM")}\n'
            + (f"extra.update(value_model={value})\n" if value is not None else "")
            + f"trainer = {call}\n"
            "trainer.train()\n")


def partial_style(case: Case, models: Path) -> str:
    """Every model through a functools.partial loader: the path or the keywords bound in the partial."""
    value = {"classifier": "load_critic(RM)", "missing": None, "none": "None", "causal": "load_lm(POLICY)",
             "policy": "policy", "wrapper": "load_wrapper()"}[case.value]
    reward_kwargs = f", {case.reward_kwargs}" if case.reward_kwargs else ""
    loaders = [f"load_policy = functools.partial({case.policy_class}.from_pretrained, POLICY)",
               f"load_reward = functools.partial({case.reward_class}.from_pretrained{reward_kwargs})",
               'load_tokenizer = functools.partial(AutoTokenizer.from_pretrained, padding_side="left")']
    if case.ref != "policy":
        loaders.append(f"load_ref = functools.partial({case.ref_class}.from_pretrained, POLICY)")
    if case.value == "classifier":
        loaders.append("load_critic = functools.partial(AutoModelForSequenceClassification.from_pretrained, "
                       "num_labels=1)")
    elif case.value == "causal":
        loaders.append("load_lm = functools.partial(AutoModelForCausalLM.from_pretrained)")
    elif case.value == "wrapper":
        loaders.append("load_wrapper = functools.partial(AutoModelForCausalLMWithValueHead.from_pretrained, POLICY)")
    config = "PPOConfig(" + CONFIG.format(out="OUT", epochs=case.config_epochs) + ")"
    call = _call(case, "config", "tokenizer", "policy", "ref", "reward", "value" if value else None, DATASET)
    return (_imports(case, "import functools") + _constants(_paths(case, models)) + "\n".join(loaders) + "\n\n"
            "tokenizer = load_tokenizer(TOK)\n"
            "policy = load_policy()\n"
            f"ref = {'policy' if case.ref == 'policy' else 'load_ref()'}\n"
            "reward = load_reward(RM)\n"
            + (f"value = {value}\n" if value is not None else "")
            + f"config = {config}\n"
            f"trainer = {call.replace(chr(10) + '    ', chr(10))}\n"
            "trainer.train()\n")


def memoised(case: Case, models: Path) -> str:
    """Models from lru_cache'd loaders: equal arguments give the one cached object, so the reference
    is loaded with its own role argument; the PPD106 mistake is the natural `load_lm(..., POLICY)` twice."""
    value = {"classifier": "load_critic(RM)", "missing": None, "none": "None",
             "causal": 'load_lm(AutoModelForCausalLM, POLICY, "value")',
             "policy": f"load_lm({case.policy_class}, POLICY)",  # the cached policy itself
             "wrapper": 'load_lm(AutoModelForCausalLMWithValueHead, POLICY, "value")'}[case.value]
    ref = f"load_lm({case.policy_class}, POLICY)" if case.ref == "policy" else \
        f'load_lm({case.ref_class}, POLICY, "reference")'
    reward_kwargs = f", {case.reward_kwargs}" if case.reward_kwargs else ""
    config = "PPOConfig(" + CONFIG.format(out="OUT", epochs=case.config_epochs) + ")"
    call = _call(case, "config", "tokenizer", "policy", "ref", "reward", "value" if value else None, DATASET)
    return (_imports(case, "import functools") + _constants(_paths(case, models)) + "\n\n"
            "@functools.lru_cache(maxsize=None)\n"
            'def load_lm(model_class, path, role="policy"):\n'
            "    return model_class.from_pretrained(path)\n\n\n"
            "@functools.cache\n"
            "def load_reward(path):\n"
            f"    return {case.reward_class}.from_pretrained(path{reward_kwargs})\n\n\n"
            "@functools.lru_cache\n"
            "def load_critic(path):\n"
            "    return AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)\n\n\n"
            'tokenizer = AutoTokenizer.from_pretrained(TOK, padding_side="left")\n'
            f"policy = load_lm({case.policy_class}, POLICY)\n"
            f"ref = {ref}\n"
            "reward = load_reward(RM)\n"
            + (f"value = {value}\n" if value is not None else "")
            + f"config = {config}\n"
            f"trainer = {call.replace(chr(10) + '    ', chr(10))}\n"
            "trainer.train()\n")


def subclass(case: Case, models: Path) -> str:
    """A PPOTrainer subclass with an option of its own that hands every other argument on."""
    value = _value(case, "RM", "POLICY", "policy")
    call = _call(case, "config", "tokenizer", "policy", "ref", "reward", "value" if value else None, DATASET)
    call = "LoggingPPOTrainer(" + call[len("PPOTrainer("):]
    head, close = call[:-1].rstrip(), ")"
    if head.endswith(","):
        call = head + "\n    log_every=1,\n" + close  # the keyword layout: one argument a line
    else:
        call = head + ", log_every=1" + close
    config = "PPOConfig(" + CONFIG.format(out="OUT", epochs=case.config_epochs) + ")"
    return (_imports(case) + _constants(_paths(case, models)) + "\n\n"
            "class LoggingPPOTrainer(PPOTrainer):\n"
            "    def __init__(self, *args, log_every=10, **kwargs):\n"
            "        self.log_every = log_every\n"
            "        super().__init__(*args, **kwargs)\n\n\n"
            'tokenizer = AutoTokenizer.from_pretrained(TOK, padding_side="left")\n'
            f"policy = {case.policy_class}.from_pretrained(POLICY)\n"
            f"ref = {_ref(case, 'policy', 'POLICY')}\n"
            f"reward = {_reward(case, 'RM')}\n"
            + (f"value = {value}\n" if value is not None else "")
            + f"config = {config}\n"
            f"trainer = {call.replace(chr(10) + '    ', chr(10))}\n"
            "trainer.train()\n")


def registry(case: Case, models: Path) -> str:
    """A dict of loaders written as lambdas without parameters, called in a comprehension, the paths in
    a `types.SimpleNamespace`: each role is `models[name]`, made by its own lambda."""
    paths = _paths(case, models)
    value = _value(case, "paths.rm", "paths.policy", 'models["policy"]')
    loaders = [("policy", f"{case.policy_class}.from_pretrained(paths.policy)"),
               ("reward", _reward(case, "paths.rm"))]
    if case.ref != "policy":
        loaders.append(("ref", f"{case.ref_class}.from_pretrained(paths.policy)"))
    if value is not None and case.value != "policy":
        loaders.append(("value", value))
    ref = 'models["policy"]' if case.ref == "policy" else 'models["ref"]'
    value_arg = None if value is None else value if case.value in ("none", "policy") else 'models["value"]'
    config = "PPOConfig(" + CONFIG.format(out="paths.out", epochs=case.config_epochs) + ")"
    call = _call(case, "config", "tokenizer", 'models["policy"]', ref, 'models["reward"]', value_arg, DATASET)
    return (_imports(case, "from types import SimpleNamespace") +
            f"paths = SimpleNamespace(policy={paths['POLICY']!r}, rm={paths['RM']!r}, tok={paths['TOK']!r}, "
            f"out={paths['OUT']!r})\n"
            "LOADERS = {\n" + "".join(f"    {name!r}: lambda: {code},\n" for name, code in loaders) + "}\n"
            "models = {name: load() for name, load in LOADERS.items()}\n"
            'tokenizer = AutoTokenizer.from_pretrained(paths.tok, padding_side="left")\n'
            f"config = {config}\n"
            f"trainer = {call.replace(chr(10) + '    ', chr(10))}\n"
            "trainer.train()\n")


def sibling(case: Case, models: Path) -> dict[str, str]:
    """The helpers of `helpers` in a module of their own beside the script (`models.py`), which the
    script imports: the causes of most mistakes are written there, and so are their fixes."""
    value = _value(case, "reward_path", "policy_path", "policy")
    models_out = "policy, ref, reward" + (", value" if value is not None else "")
    module = (_imports(case).replace(f"from {case.import_from} import PPOConfig, PPOTrainer\n", "")
              .replace("from datasets import Dataset\n", "") + "\n\n"
              "def load_tokenizer(path):\n"
              '    return AutoTokenizer.from_pretrained(path, padding_side="left")\n\n\n'
              "def load_models(policy_path, reward_path):\n"
              f"    policy = {case.policy_class}.from_pretrained(policy_path)\n"
              f"    ref = {_ref(case, 'policy', 'policy_path')}\n"
              f"    reward = {_reward(case, 'reward_path')}\n"
              + (f"    value = {value}\n" if value is not None else "")
              + f"    return {models_out}\n")
    script = ("from datasets import Dataset\n"
              f"from {case.import_from} import PPOConfig, PPOTrainer\n"
              "from models import load_models, load_tokenizer\n\n" + _constants(_paths(case, models)) +
              f"tokenizer = load_tokenizer(TOK)\n"
              f"{models_out} = load_models(POLICY, RM)\n"
              "config = PPOConfig(" + CONFIG.format(out="OUT", epochs=case.config_epochs) + ")\n"
              f"trainer = {_call(case, 'config', 'tokenizer', 'policy', 'ref', 'reward', 'value' if value else None, DATASET).replace(chr(10) + '    ', chr(10))}\n"
              "trainer.train()\n")
    return {"train.py": script, "models.py": module}


STYLES = {"inline": inline, "helpers": helpers, "argparse": argparse_style, "constants": constants,
          "class": class_style, "data": data_style, "partial": partial_style, "memoised": memoised,
          "subclass": subclass, "sibling": sibling, "registry": registry}


def write_scripts(root: Path, models: Path, styles=None) -> dict[tuple[str, str], Path]:
    """Every case in every style (or in `styles`), each in a directory of its own (`<case>-<style>/train.py`)."""
    scripts = {}
    for case in CASES + (CLEAN,):
        for style, render in STYLES.items():
            if styles is not None and style not in styles:
                continue
            directory = root / f"{case.label}-{style}"
            directory.mkdir(parents=True, exist_ok=True)
            rendered = render(case, models)  # the script's text, or every file by name (train.py first)
            for name, text in (rendered if isinstance(rendered, dict) else {"train.py": rendered}).items():
                (directory / name).write_text(text)
            scripts[(case.label, style)] = directory / "train.py"
    return scripts


def run_scripts(python: str, scripts, timeout: int = 300, env: dict | None = None) -> dict[str, dict]:
    """Each script run to the end (or its failure) by `python`, through tests/e2e_runner.py; `env` adds
    to the runner's environment (a PYTHONPATH that puts another TRL first)."""
    import json

    jobs = [{"script": str(path), "timeout": timeout} for path in scripts]
    environment = dict(ENV, HOME=str(Path(scripts[0]).parent), **(env or {}))
    done = subprocess.run([python, str(Path(__file__).with_name("e2e_runner.py"))], input=json.dumps(jobs),
                          capture_output=True, text=True, env=environment, timeout=timeout * len(jobs))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def fix_all(python: str, root: Path) -> subprocess.CompletedProcess:
    """`ppodoctor fix --write --python <that venv>` over the whole tree: the probe on, in one run."""
    return subprocess.run([sys.executable, "-m", "ppodoctor", "fix", "--write", "--python", python, str(root)],
                          capture_output=True, text=True, timeout=900)

