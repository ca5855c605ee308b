"""Notebooks made in the tests, in nbformat's own style, and the PPO snippets they hold."""

from __future__ import annotations

import json


def nbformat_bytes(document: dict) -> bytes:
    """What Jupyter writes (nbformat.writes): indent 1, sorted keys, non-ASCII kept, a newline."""
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def notebook(*cells, language: str = "python") -> bytes:
    """A notebook with these cells: a string is a code cell, ("markdown", text) another kind."""
    made = []
    for cell in cells:
        kind, text = ("code", cell) if isinstance(cell, str) else cell
        entry = {"cell_type": kind, "metadata": {}, "source": text.splitlines(True)}
        if kind == "code":
            entry.update(execution_count=None, outputs=[])
        made.append(entry)
    return nbformat_bytes({"cells": made, "metadata": {"kernelspec": {"language": language, "name": language}},
                           "nbformat": 4, "nbformat_minor": 5})


def sources(data: bytes) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in json.loads(data.decode("utf-8-sig"))["cells"]]


IMPORTS = ("from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification\n"
           "from trl.experimental.ppo import PPOConfig, PPOTrainer\n")
MODELS = ('policy = AutoModelForCausalLM.from_pretrained("sft")\n'
          'reward_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)\n'
          'value_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)\n')
REFERENCE_IS_POLICY = ("trainer = PPOTrainer(args=PPOConfig(output_dir='out'), processing_class=tok, model=policy,\n"
                       "                     ref_model=policy, reward_model=reward_model, value_model=value_model,\n"
                       "                     train_dataset=ds)\n")
