"""`ppodoctor explain`: rules by code or name, and TRL's error messages mapped back to the rules."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ppodoctor.cli import main
from ppodoctor.explain import KNOWN_ERRORS, match_errors
from ppodoctor.rules import find_rule

ROOT = Path(__file__).resolve().parents[1]
# Rules that other work in progress adds; every other code in the table must be registered already.
PENDING_CODES = {f"PPD20{n}" for n in range(1, 9)} | {f"PPD50{n}" for n in range(1, 5)}

# The messages of trl-ppo-facts.md, "What each mistake does", as TRL prints them.
FACTS = [
    ("AttributeError: 'NoneType' object has no attribute 'modules'", "value-model-none-modules", "PPD101"),
    ("TypeError: PPOTrainer.__init__() missing 1 required positional argument: 'value_model'",
     "value-model-required", "PPD101"),
    ("AttributeError: 'NoneType' object has no attribute 'base_model_prefix'", "value-model-none-prefix", "PPD102"),
    ("AttributeError: 'LlamaForCausalLM' object has no attribute 'score'", "no-score-head", "PPD103"),
    ("RuntimeError: output with shape [2] doesn't match the broadcast shape [2, 2]", "num-labels-shape", "PPD105"),
    ("ValueError: model and ref_model cannot be the same object", "reference-same-object", "PPD106"),
    ("AttributeError: 'AutoModelForCausalLMWithValueHead' object has no attribute 'generation_config'",
     "value-head-wrapper-generation-config", "PPD107"),
    ("AttributeError: 'AutoModelForCausalLMWithValueHead' object has no attribute 'base_model_prefix'",
     "value-head-wrapper-prefix", "PPD107"),
    ("ValueError: Asking to pad but the tokenizer does not have a padding token. Please select a token to use "
     "as `pad_token`", "pad-token-missing", "PPD301"),
    ("IndexError: index out of range in self", "vocab-mismatch", "PPD502"),
    ("ValueError: You should supply an encoding or a list of encodings to this method that includes input_ids, "
     "but you provided ['text']", "dataset-not-tokenized", "PPD404"),
    ("ValueError: Unable to create tensor, you should probably activate truncation", "dataset-extra-column", "PPD404"),
    ("AttributeError: 'LlamaModel' object has no attribute 'generation_config'. Did you mean: "
     "'generation_config_class'?", "policy-no-generation-config", "PPD110"),
    ("AttributeError: 'GPT2Model' object has no attribute 'generation_config'", "policy-no-generation-config",
     "PPD110"),
    ("AttributeError: 'BaseModelOutputWithPast' object has no attribute 'logits'", "reference-no-logits", "PPD110"),
    ("AttributeError: 'function' object has no attribute 'modules'", "scorer-is-function", "PPD111"),
    ("AttributeError: 'Plain' object has no attribute 'modules'", "scorer-is-function", "PPD111"),
    ("AttributeError: 'Scorer' object has no attribute 'base_model_prefix'", "scorer-no-base-model-prefix",
     "PPD111"),
    ('  File "/x/trl/experimental/ppo/ppo_trainer.py", line 616, in repeat_generator\n    while True:\n'
     "KeyboardInterrupt", "dataset-smaller-than-batch", "PPD405"),
    ("ValueError: batch_size must be a multiple of num_mini_batches", "mini-batches", "PPD401"),
    ("ValueError: Your setup doesn't support bf16/gpu.", "bf16-no-gpu", "PPD504"),
    ("TypeError: PPOTrainer.__init__() got an unexpected keyword argument 'args'", "other-era-keyword", "PPD201"),
    ("TypeError: PPOConfig.__init__() got an unexpected keyword argument 'ppo_epochs'", "old-config-field",
     "PPD205"),
    ("ValueError: model must be a PreTrainedModelWrapper, got <class 'LlamaForCausalLM'>",
     "needs-value-head-wrapper", "PPD206"),
    ("ImportError: cannot import name 'PPOTrainer' from 'trl' (/x/trl/__init__.py)", "import-path", "PPD202"),
    ("AttributeError: 'PPOTrainer' object has no attribute 'step'", "old-loop-on-new-trainer", "PPD204"),
    ("ModuleNotFoundError: No module named 'trl.experimental.ppo'", "ppo-removed", "PPD203"),
    ("ImportError: cannot import name 'SIMPLE_CHAT_TEMPLATE' from 'trl.trainer.utils' (/x/trl/trainer/utils.py)",
     "trl-import-missing", "PPD209"),
    ("ModuleNotFoundError: No module named 'trl.commands'", "trl-import-missing", "PPD209"),
    # trl 0.11.4 (measured in tests/test_era_rules_new.py) and the five-argument form of 0.7.11/0.8.6's exact_div
    ("ValueError: `batch_size` must be a multiple of `mini_batch_size * gradient_accumulation_steps`, inexact "
     "division: 8 / 128 = 0.0625", "old-inexact-division", "PPD402"),
    ("ValueError: `batch_size` must be a multiple of `mini_batch_size * gradient_accumulation_steps`, `batch_size`=8,"
     " `mini_batch_size * gradient_accumulation_steps`=128, inexact division: 8 / 128 = 0.0625",
     "old-inexact-division", "PPD402"),
    ("TypeError: PPOConfig.__init__() got an unexpected keyword argument 'entropy_coef'", "unknown-config-field",
     "PPD211"),
]


@pytest.mark.parametrize("message,key,code", FACTS, ids=[key for _, key, _ in FACTS])
def test_each_measured_error_maps_to_its_rule(message, key, code):
    matches = match_errors(message)
    assert matches, message
    assert matches[0].known.key == key
    assert (matches[0].known.codes[0] if matches[0].known.codes else None) == code


def test_none_and_wrapper_prefix_errors_are_told_apart():
    assert [m.known.key for m in match_errors("'NoneType' object has no attribute 'base_model_prefix'")] \
        == ["value-model-none-prefix"]
    assert [m.known.key for m in match_errors("'ValueHead' object has no attribute 'base_model_prefix'")] \
        == ["value-head-wrapper-prefix"]


def test_config_field_and_trainer_keyword_are_told_apart():
    assert match_errors("unexpected keyword argument 'model_name'")[0].known.key == "old-config-field"
    assert match_errors("unexpected keyword argument 'model'")[0].known.key == "other-era-keyword"
    assert match_errors("unexpected keyword argument 'foo'") == ()


def test_unrelated_text_matches_nothing():
    assert match_errors("KeyError: 'labels'\nCUDA out of memory") == ()


def test_table_codes_exist_or_are_pending():
    for known in KNOWN_ERRORS:
        re.compile(known.pattern)
        assert known.search(known.error), known.key  # each entry recognises its own sample message
        for code in known.codes:
            assert re.fullmatch(r"PPD\d{3}", code)
            assert find_rule(code) is not None or code in PENDING_CODES, code


def test_last_error_of_a_traceback_comes_first():
    text = ("During handling of the above exception, another exception occurred:\n"
            "IndexError: index out of range in self\n...\n"
            "AttributeError: 'NoneType' object has no attribute 'modules'\n")
    assert [m.known.key for m in match_errors(text)] == ["value-model-none-modules", "vocab-mismatch"]


def test_cli_explains_a_rule_by_code_and_name():
    for subject in ("PPD101", "ppd101", "value-model-missing"):
        result = CliRunner().invoke(main, ["explain", subject])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("# PPD101 value-model-missing (error)")


def test_cli_unknown_rule_is_a_usage_error():
    result = CliRunner().invoke(main, ["explain", "PPD999"])
    assert result.exit_code == 2
    assert "no rule named 'PPD999'" in result.output


def test_cli_explains_a_message_argument():
    result = CliRunner().invoke(main, ["explain", "model and ref_model cannot be the same object"])
    assert result.exit_code == 0, result.output
    assert "caught by: PPD106 reference-is-policy" in result.output
    assert "more:      ppodoctor explain PPD106" in result.output


def test_cli_reads_a_traceback_from_stdin_and_prints_json():
    traceback = ('Traceback (most recent call last):\n  File "train.py", line 9, in <module>\n'
                 "AttributeError: 'LlamaForCausalLM' object has no attribute 'score'\n")
    result = CliRunner().invoke(main, ["explain", "-", "--json"], input=traceback)
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data[0]["key"] == "no-score-head"
    assert {"code": "PPD103", "registered": True} in data[0]["rules"]


def test_cli_says_so_when_nothing_matches():
    result = CliRunner().invoke(main, ["explain", "-"], input="all fine here\n")
    assert result.exit_code == 1
    assert "No known TRL PPOTrainer error" in result.output


def _python_012() -> str | None:
    for candidate in (os.environ.get("PPODOCTOR_TRL012_PYTHON"), ROOT / ".venv-trl012" / "bin" / "python",
                      "/tmp/venv012/bin/python"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


# Each snippet makes the real TRL raise; the traceback goes through `ppodoctor explain -` unchanged.
REAL_ERRORS_112 = [
    ("from trl import PPOTrainer", "import-path"),
    ("from trl.experimental.ppo import PPOTrainer\nPPOTrainer(args=None, processing_class=None, model=None, "
     "ref_model=None, reward_model=None, train_dataset=None)", "value-model-required"),
    ("from trl.experimental.ppo import PPOConfig\nPPOConfig(output_dir='o', ppo_epochs=4)", "old-config-field"),
]
REAL_ERRORS_012 = [
    ("from trl import PPOTrainer\nPPOTrainer(args=None)", "other-era-keyword"),
    ("import trl.experimental.ppo", "import-path"),  # 0.12 has no trl.experimental at all
    ("from trl import PPOTrainer\nPPOTrainer.__new__(PPOTrainer).step()", "old-loop-on-new-trainer"),
]


def _traceback(python: str, code: str) -> str:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRL_EXPERIMENTAL_SILENCE="1")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode != 0, done.stdout
    return done.stderr


def test_real_trl_112_errors_are_recognised():
    pytest.importorskip("trl")
    for code, key in REAL_ERRORS_112:
        result = CliRunner().invoke(main, ["explain", "-", "--json"], input=_traceback(sys.executable, code))
        assert result.exit_code == 0, (code, result.output)
        assert json.loads(result.output)[0]["key"] == key, code


def test_real_trl_012_errors_are_recognised():
    python = _python_012()
    if python is None:
        pytest.skip("no trl 0.12 interpreter (PPODOCTOR_TRL012_PYTHON, .venv-trl012 or /tmp/venv012)")
    for code, key in REAL_ERRORS_012:
        result = CliRunner().invoke(main, ["explain", "-", "--json"], input=_traceback(python, code))
        assert result.exit_code == 0, (code, result.output)
        assert json.loads(result.output)[0]["key"] == key, code


# --- rules without a fix say why (issue 21) ------------------------------------------------------------
@pytest.mark.parametrize("rule", [r for r in __import__("ppodoctor.rules", fromlist=["all_rules"]).all_rules()
                                  if r.severity == "error" and not r.fixable], ids=lambda r: r.code)
def test_an_error_rule_without_a_fix_says_why_in_explain(rule):
    shown = CliRunner().invoke(main, ["explain", rule.code]).output
    assert len(rule.no_fix_reason) > 40 and f"No automatic fix: {rule.no_fix_reason}." in shown


def test_a_rule_with_a_fix_gives_no_reason_for_having_none():
    from ppodoctor.rules import all_rules

    fixable = [rule for rule in all_rules() if rule.fixable]
    assert fixable and not [rule.code for rule in fixable if rule.no_fix_reason]
    assert "No automatic fix" not in CliRunner().invoke(main, ["explain", "PPD404"]).output
