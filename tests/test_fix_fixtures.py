"""Byte-for-byte fixture tests for `ppodoctor fix`, and properties every fix must keep.

fixtures/fix/<case>/input.py is fixed (options in args.txt: --unsafe-fixes, --trl-version=X) and
must give expected.py exactly: same encoding, BOM, line endings and every untouched byte.
"""

from __future__ import annotations

from pathlib import Path

import libcst
import pytest

from ppodoctor.api import check_source
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.rules import all_rules
from ppodoctor.trl_api.eras import Target

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "fix"
CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "input.py").exists())


def _options(case: Path) -> tuple[Target, bool]:
    args = (case / "args.txt").read_text().split() if (case / "args.txt").exists() else []
    version = next((a.split("=", 1)[1] for a in args if a.startswith("--trl-version=")), "1.12.0")
    transformers = "4.46.3" if version.startswith("0.") else "5.24.0"
    return Target.of(version, transformers=transformers), "--unsafe-fixes" in args


def _fix(data: bytes, target: Target, unsafe: bool):
    result = fix_source(data, "input.py", Settings(), target, unsafe)
    assert result.error is None, result.error
    return result


def test_there_are_cases_for_every_structural_fix():
    assert len(CASE_NAMES) >= 12
    codes = set()
    for name in CASE_NAMES:
        target, unsafe = _options(CASES / name)
        codes |= {d.code for d in _fix((CASES / name / "input.py").read_bytes(), target, unsafe).applied}
    fixable = {rule.code for rule in all_rules() if rule.fixable}
    assert {"PPD101", "PPD102", "PPD104", "PPD105", "PPD106", "PPD107", "PPD109", "PPD201", "PPD301"} <= codes
    assert codes <= fixable


@pytest.mark.parametrize("name", CASE_NAMES)
def test_fixture_output_is_byte_exact(name):
    case = CASES / name
    target, unsafe = _options(case)
    result = _fix((case / "input.py").read_bytes(), target, unsafe)
    assert result.applied, "every fixture has something to fix"
    assert result.new_bytes == (case / "expected.py").read_bytes()


def _assert_properties(source: bytes, target: Target, unsafe: bool) -> None:
    result = _fix(source, target, unsafe)
    assert not [s for s in result.skipped if "internal error" in s.reason], result.skipped
    if not result.changed:
        return
    fixed = result.new_bytes
    libcst.parse_module(result.text)
    compile(result.text, "fixed.py", "exec")
    recheck = check_source(fixed, "input.py", Settings(), target)
    fixed_codes = {d.code for d in result.applied}
    left = [d for d in recheck.diagnostics if d.code in fixed_codes and d.fix is not None
            and (unsafe or d.fix.applicability == "safe")]
    assert not left, [(d.code, d.message) for d in left]
    again = _fix(fixed, target, unsafe)
    assert not again.changed, again.diff()
    assert again.new_bytes == fixed


@pytest.mark.parametrize("name", CASE_NAMES)
def test_fixture_properties(name):
    case = CASES / name
    target, unsafe = _options(case)
    _assert_properties((case / "input.py").read_bytes(), target, unsafe)


EXAMPLES = [(rule.code, i, example) for rule in all_rules() if rule.fixable
            for i, example in enumerate(rule.examples("invalid"))]


@pytest.mark.parametrize("code,index,example", EXAMPLES, ids=[f"{c}-{i}" for c, i, _ in EXAMPLES])
@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_rule_examples_properties(code, index, example, unsafe):
    target = Target.of(example.trl_version, transformers="5.24.0")
    _assert_properties(example.code.encode("utf-8"), target, unsafe)


def test_safe_run_leaves_unsafe_fixes_alone():
    # A causal LM loaded as the reward model: the class swap cures the crash, but only a checkpoint
    # trained as a reward model gives meaningful rewards, which the source alone cannot show.
    case = CASES / "reward_classifier"
    result = _fix((case / "input.py").read_bytes(), *(_options(case)[0], False))
    assert not result.changed
    assert {s.diagnostic.code for s in result.skipped} == {"PPD104"}
    assert all("--unsafe-fixes" in s.reason for s in result.skipped)


def test_a_causal_lm_value_model_is_a_safe_fix():
    # The policy object as the value model never gets past the first rollout: replacing it cannot
    # change a script that runs.
    case = CASES / "value_is_policy"
    result = _fix((case / "input.py").read_bytes(), *(_options(case)[0], False))
    assert {d.code for d in result.applied} == {"PPD109"}  # PPD103 is silent beside it: one problem


def test_guide_script_gets_a_proper_value_model():
    guide = CASES.parent / "guide" / "guide_ppo.py"
    target = Target.of("1.12.0", transformers="5.24.0")
    result = _fix(guide.read_bytes(), target, False)
    assert "PPD101" in {d.code for d in result.applied}
    module = libcst.parse_module(result.text)
    assert "AutoModelForSequenceClassification.from_pretrained(" in result.text
    setup = check_source(result.new_bytes, "guide.py", Settings(), target).setup.setups[0]
    value = setup.role("value")
    assert value is not None and value.keyword == "value_model"
    assert value.origin.class_name.endswith("AutoModelForSequenceClassification")
    assert value.origin.keyword("num_labels").value.value == 1
    assert value.origin.path.text == setup.origin("reward").path.text
    assert module.code == result.text


def test_value_model_declined_when_no_path_is_visible():
    source = b"from trl.experimental.ppo import PPOTrainer\n" \
             b"trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,\n" \
             b"                     train_dataset=ds)\n"
    result = _fix(source, Target.of("1.12.0"), True)
    assert not result.changed
    assert [s.diagnostic.code for s in result.skipped] == ["PPD101"]
    assert "cannot fix here" in result.skipped[0].reason


def test_noqa_silenced_findings_are_not_fixed():
    case = CASES / "num_labels" / "input.py"
    text = case.read_text().replace("# two classes?", "# noqa: PPD105")
    result = _fix(text.encode(), Target.of("1.12.0"), False)
    assert "num_labels=2" in result.text and "num_labels = 1" in result.text
