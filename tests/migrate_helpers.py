"""Shared by the migrate tests: the fixture scripts, the trl 1.16 interpreter, small script builders."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ppodoctor.pipeline.migrate import migrate_source

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "fixtures" / "migrate"
EXPECTED = SCRIPTS / "expected"
STYLES = sorted(path.stem for path in SCRIPTS.glob("*.py"))
TARGETS = ("rloo", "grpo")


def trl116_python() -> str | None:
    for candidate in (os.environ.get("PPODOCTOR_TRL116_PYTHON"), ROOT / ".venv-trl116" / "bin" / "python"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def ported(source: str, target: str = "rloo", **kwargs) -> str:
    migration = migrate_source(source, "train.py", target, **kwargs)
    assert not migration.error and not migration.declined, (migration.error, migration.declined)
    return migration.text


def config_script(config: str, imports: str = "from trl.experimental.ppo import PPOConfig, PPOTrainer",
                  trainer: str = "") -> str:
    """A trl 1.12-style PPO script around `config` (the PPOConfig(...) call's source)."""
    return (
        "from datasets import Dataset\n"
        "from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer\n"
        f"{imports}\n"
        'tok = AutoTokenizer.from_pretrained("models/policy")\n'
        'policy = AutoModelForCausalLM.from_pretrained("models/policy")\n'
        'ref = AutoModelForCausalLM.from_pretrained("models/policy")\n'
        'rm = AutoModelForSequenceClassification.from_pretrained("models/rm", num_labels=1)\n'
        'critic = AutoModelForSequenceClassification.from_pretrained("models/rm", num_labels=1)\n'
        'ds = Dataset.from_dict({"input_ids": [[5, 6, 7]]})\n'
        f"config = {config}\n"
        + (trainer or "trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, "
                      "reward_model=rm, value_model=critic, train_dataset=ds)\n")
        + "trainer.train()\n"
    )


# --- a port broken one way at a time: what the PPD6xx rules must catch on migrate's output ------------------
def break_generations(text: str) -> str:
    """num_generations=2 (every port writes it) → 7, which no port's generation batch divides."""
    assert "num_generations=2" in text
    return text.replace("num_generations=2", "num_generations=7")


def break_reward_signature(text: str) -> str:
    """A reward function without **kwargs, defined after the imports and put first in `reward_funcs` (and a
    None first in `reward_processing_classes`, where the port passes them)."""
    lines = text.splitlines(keepends=True)
    at = max(i for i, line in enumerate(lines) if line.startswith(("import ", "from ")))
    while lines[at].count("(") > lines[at].count(")"):  # an import over several lines: after its `)`
        at += 1
        if ")" in lines[at]:
            break
    lines.insert(at + 1, "\n\ndef wrong_signature(completions):\n    return [0.0 for _ in completions]\n\n")
    broken, count = re.subn(r'(reward_funcs"?\s*[=:]\s*)(\[([^\]]*)\]|\w+)',
                            lambda m: f"{m.group(1)}[wrong_signature, {m.group(3) or m.group(2)}]",
                            "".join(lines), count=1)
    assert count == 1
    # its processing class (None for a function) keeps one per reward function: PPD608 stays out of it
    return re.sub(r'(reward_processing_classes"?\s*[=:]\s*)(\[([^\]]*)\]|\w+)',
                  lambda m: f"{m.group(1)}[None, {m.group(3) or m.group(2)}]", broken, count=1)


def break_prompt_column(text: str) -> str:
    """The dataset's `prompt` column (built or decoded by the port) named `question` instead."""
    assert '{"prompt":' in text
    return text.replace('{"prompt":', '{"question":')


PORT_BREAKS = {"PPD601": break_generations, "PPD603": break_reward_signature, "PPD604": break_prompt_column}
