"""scripts/corpus_check.py, the corpus precision report, on a few tiny scripts written here.

The real corpus (docs/corpus.tsv) is not in CI; these files only exercise the instrument: a finding
that is right, a crash no rule covers, a listed code that does not fire, a file that is not Python,
a notebook, a file missing from the folder and one missing from the manifest.
"""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from conftest import ROOT

# A 0.12-era script that forgets value_model: TRL 0.12.2 dies in the dropout loop (PPD101).
NO_VALUE_MODEL = '''\
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl import PPOConfig, PPOTrainer

name = "sft-checkpoint"
tokenizer = AutoTokenizer.from_pretrained(name)
tokenizer.add_special_tokens({"pad_token": "[PAD]"})
policy = AutoModelForCausalLM.from_pretrained(name)
reference = AutoModelForCausalLM.from_pretrained(name)
scorer = AutoModelForSequenceClassification.from_pretrained("reward-checkpoint", num_labels=1)
trainer = PPOTrainer(
    config=PPOConfig(output_dir="out"),
    processing_class=tokenizer,
    policy=policy,
    ref_policy=reference,
    reward_model=scorer,
    train_dataset=prompts,
)
trainer.train()
'''

# An old-era value-head loop whose PPOConfig cannot divide its batch (1 / 128 on trl 0.11): PPD402.
OLD_LOOP = '''\
from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer
from transformers import AutoTokenizer


def build(name):
    model = AutoModelForCausalLMWithValueHead.from_pretrained(name)
    tokenizer = AutoTokenizer.from_pretrained(name)
    tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


model, tokenizer = build("gpt2")
settings = PPOConfig(batch_size=1)
trainer = PPOTrainer(settings, model, None, tokenizer)
trainer.step([query], [response], [reward])
'''

# An old-era loop that hands `step` bare tensors: trl 0.11 raises `ValueError: queries must be a list of
# tensors` in its step safety checker: no rule yet.
OLD_STEP = OLD_LOOP.replace("PPOConfig(batch_size=1)", "PPOConfig(batch_size=1, mini_batch_size=1)").replace(
    "trainer.step([query], [response], [reward])", "trainer.step(query, response, reward)")

# A correct 0.12 setup; its manifest row wrongly expects PPD106, so the report must call it missed.
CORRECT_012 = NO_VALUE_MODEL.replace("    train_dataset=prompts,\n",
                                     "    train_dataset=prompts,\n    value_model=AutoModelForSequenceClassification"
                                     ".from_pretrained(\"reward-checkpoint\", num_labels=1),\n")

COLUMNS = ("file", "repo", "path", "commit", "trl_era", "trl_version", "expected", "expected_codes", "on_latest",
           "styles", "notes")


def load_script():
    spec = importlib.util.spec_from_file_location("corpus_check", ROOT / "scripts" / "corpus_check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def notebook(source: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# tiny\n"]},
             {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": ["%pip install trl==0.12.2\n"]},
             {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": source.splitlines(keepends=True)}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


@pytest.fixture
def corpus(tmp_path):
    files = tmp_path / "files"
    files.mkdir()
    (files / "no_value_model.py").write_text(NO_VALUE_MODEL)
    (files / "old_loop.py").write_text(OLD_LOOP)
    (files / "old_step.py").write_text(OLD_STEP)
    (files / "correct_012.py").write_text(CORRECT_012)
    (files / "broken.py").write_text("from trl import PPOConfig, PPOTrainer\ntrainer = PPOTrainer(\n")
    (files / "tutorial.ipynb").write_text(notebook(NO_VALUE_MODEL))
    (files / "stray.py").write_text("print('not listed')\n")
    rows = [
        ("no_value_model.py", "0.12.2", "crashes: no value_model", "PPD101", "crashes: ImportError"),
        ("old_loop.py", "0.11.4", "crashes: inexact division", "PPD402", "crashes: ImportError"),
        ("old_step.py", "0.11.4", "crashes: queries must be a list of tensors", "?step-arguments-not-lists",
         "crashes: ImportError"),
        ("correct_012.py", "0.12.2", "runs", "PPD106", "crashes: ImportError"),
        ("broken.py", "0.12.2", "crashes: SyntaxError", "bad-input", ""),
        ("tutorial.ipynb", "0.12.2", "crashes: no value_model", "PPD101", "crashes: ImportError"),
        ("absent.py", "0.12.2", "runs", "", "runs"),
    ]
    lines = ["\t".join(COLUMNS)]
    for name, version, expected, codes, latest in rows:
        fields = (name, "me/tiny", name, "0" * 40, "test", version, expected, codes, latest, "inline", "")
        lines.append("\t".join(fields))
    tsv = tmp_path / "corpus.tsv"
    tsv.write_text("\n".join(lines) + "\n")
    return files, tsv


def report_lines(output: str) -> dict[str, str]:
    return {line.split()[0]: line for line in output.splitlines() if line.strip() and not line.startswith(" ")}


def test_verdicts_on_each_kind_of_row(corpus, capsys):
    files, tsv = corpus
    script = load_script()
    assert script.main([str(files), "--tsv", str(tsv), "--latest", "none"]) == 0
    output = capsys.readouterr().out
    rows = report_lines(output)
    assert "PPD101 right" in rows["no_value_model.py"]
    assert "PPD402 right" in rows["old_loop.py"]
    assert "?step-arguments-not-lists uncovered" in rows["old_step.py"]
    assert "PPD106 MISSED" in rows["correct_012.py"]
    assert "bad-input right" in rows["broken.py"]
    assert "missing" in rows["absent.py"]
    if script.notebooks_supported():
        assert "PPD101 right" in rows["tutorial.ipynb"]
    else:
        assert "not checked" in rows["tutorial.ipynb"]
    assert "stray.py" in output.split("not in the manifest:")[1]
    assert "  missed crashes: 1" in output
    assert "  uncovered crashes (no rule yet): 1" in output
    assert "  error-level false alarms: 0" in output


def test_a_listed_crash_that_is_not_expected_is_a_false_alarm(corpus, capsys):
    files, tsv = corpus
    text = tsv.read_text().replace("no_value_model.py\tme/tiny\tno_value_model.py\t" + "0" * 40
                                   + "\ttest\t0.12.2\tcrashes: no value_model\tPPD101",
                                   "no_value_model.py\tme/tiny\tno_value_model.py\t" + "0" * 40
                                   + "\ttest\t0.12.2\truns\t")
    tsv.write_text(text)
    assert load_script().main([str(files), "--tsv", str(tsv), "--latest", "none"]) == 0
    rows = report_lines(capsys.readouterr().out)
    assert "PPD101 FALSE ALARM" in rows["no_value_model.py"]


def test_second_pass_against_the_last_trl_with_ppo(corpus, capsys):
    files, tsv = corpus
    assert load_script().main([str(files), "--tsv", str(tsv), "--latest", "1.12.0", "--markdown"]) == 0
    output = capsys.readouterr().out
    row = next(line for line in output.splitlines() if line.startswith("| no_value_model.py |"))
    # On 1.12 the 0.12 import path and keywords are errors: any error-level finding is right there.
    assert row.rstrip(" |").endswith("right")
    assert "**Totals on trl 1.12.0:**" in output


def test_unusable_arguments_exit_2(tmp_path, capsys):
    script = load_script()
    assert script.main([str(tmp_path / "nowhere")]) == 2
    bad = tmp_path / "bad.tsv"
    bad.write_text("file\tnotes\nx.py\t\n")
    assert script.main([str(tmp_path), "--tsv", str(bad)]) == 2
    assert "no column trl_version" in capsys.readouterr().err
