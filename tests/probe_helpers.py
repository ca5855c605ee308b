"""Shared by the probe tests: fixture paths, the 0.12 interpreter, and script builders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "fixtures" / "models"


def trl012_python() -> str | None:
    for candidate in (os.environ.get("PPODOCTOR_TRL012_PYTHON"), ROOT / ".venv-trl012" / "bin" / "python",
                      "/tmp/venv012/bin/python"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def new_script(tokenizer: str = "tok-pad", policy: str = "llama-causal", reward: str = "llama-rm",
               value: str | None = "llama-rm", value_expr: str | None = None, tokenizer_lines: str = "",
               config: str = "PPOConfig(output_dir='out', use_cpu=True)", reward_kwargs: str = "num_labels=1") -> str:
    """A trl 1.12 style script whose model paths are literal fixture directories."""
    value_line = f'value = AutoModelForSequenceClassification.from_pretrained("{MODELS / value}", num_labels=1)\n' \
        if value else ""
    value_arg = f", value_model={value_expr or 'value'}" if (value or value_expr) else ""
    return (
        "from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer\n"
        "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
        f'tokenizer = AutoTokenizer.from_pretrained("{MODELS / tokenizer}")\n'
        f"{tokenizer_lines}"
        f'policy = AutoModelForCausalLM.from_pretrained("{MODELS / policy}")\n'
        f'ref_policy = AutoModelForCausalLM.from_pretrained("{MODELS / policy}")\n'
        f'reward = AutoModelForSequenceClassification.from_pretrained("{MODELS / reward}", {reward_kwargs})\n'
        f"{value_line}"
        f"trainer = PPOTrainer(args={config}, processing_class=tokenizer, model=policy, ref_model=ref_policy,\n"
        f"                     reward_model=reward{value_arg}, train_dataset=dataset)\n"
    )


def guide_script_012(models: Path = MODELS, value: bool = False) -> str:
    """The popular guide's trl 0.12 call, with the fixture models: no value model."""
    value_line = f'value_model = AutoModelForSequenceClassification.from_pretrained("{models / "llama-rm"}", ' \
                 'num_labels=1)\n' if value else ""
    return (
        "from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer\n"
        "from trl import PPOConfig, PPOTrainer, create_reference_model\n"
        f'tokenizer = AutoTokenizer.from_pretrained("{models / "tok-pad"}")\n'
        f'model = AutoModelForCausalLM.from_pretrained("{models / "llama-causal"}")\n'
        "ref_model = create_reference_model(model)\n"
        f'reward_model = AutoModelForSequenceClassification.from_pretrained("{models / "llama-rm"}", num_labels=1)\n'
        f"{value_line}"
        "config = PPOConfig(output_dir='out', use_cpu=True)\n"
        "ppo_trainer = PPOTrainer(config=config, processing_class=tokenizer, policy=model, ref_policy=ref_model,\n"
        f"                         reward_model=reward_model{', value_model=value_model' if value else ''}, "
        "train_dataset=dataset)\n"
    )


CURRENT_PYTHON = sys.executable
