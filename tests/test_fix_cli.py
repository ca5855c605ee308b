"""The `ppodoctor fix` command: diff by default, --write, --unsafe-fixes, --select, the probe gate, exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from ppodoctor.cli import main

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "fix"
PIN = ["--trl-version", "1.12.0"]


def _copy(tmp_path: Path, case: str, name: str = "train.py") -> Path:
    path = tmp_path / name
    shutil.copyfile(CASES / case / "input.py", path)
    return path


def _run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_default_prints_a_diff_writes_nothing_and_exits_1(tmp_path):
    path = _copy(tmp_path, "crlf")
    before = path.read_bytes()
    result = _run("fix", "--no-probe", str(path), *PIN)  # the probe's preview: tests/test_fix_preview.py
    assert result.exit_code == 1
    assert f"--- {path}" in result.stdout
    assert '+value_model = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)' in result.stdout
    # The tokenizer's files are not on disk: PPD301's fix is unsafe and not in the diff.
    assert "Would fix 1 problem in 1 file" in result.stderr and "1 more fix available" in result.stderr
    assert path.read_bytes() == before


def test_write_no_probe_applies_then_check_is_clean_and_fix_is_a_no_op(tmp_path):
    path = _copy(tmp_path, "guide")
    result = _run("fix", "--write", "--no-probe", str(path), *PIN)
    # The gemma tokenizer's files are not on disk: whether it has a pad token is unknown, so PPD301's
    # fix is unsafe and stays (a finding left: exit 1, as ruff's).
    assert result.exit_code == 1, result.output
    assert "not confirmed by the runtime probe (--no-probe)" in result.stderr
    assert "Fixed 7 problems in 1 file." in result.stderr
    assert "1 more fix available with --unsafe-fixes." in result.stderr
    assert "value_model=value_model," in path.read_text()
    check = _run("check", "--output-format", "concise", str(path), *PIN)
    assert [line.split(": ")[1].split()[0] for line in check.stdout.splitlines() if ": PPD" in line] == ["PPD301"]
    fixed = path.read_bytes()
    again = _run("fix", str(path), *PIN)
    assert again.exit_code == 0 and again.stdout == ""  # no diff to show (PPD301 has no safe fix)
    assert "Nothing to fix." in again.stderr
    assert path.read_bytes() == fixed


def test_unsafe_fixes_need_the_flag(tmp_path):
    path = _copy(tmp_path, "reward_classifier")
    before = path.read_bytes()
    result = _run("fix", "--write", "--no-probe", str(path), *PIN)
    assert "1 more fix available with --unsafe-fixes." in result.stderr
    assert path.read_bytes() == before
    assert result.exit_code == 1  # the findings remain
    result = _run("fix", "--write", "--no-probe", "--unsafe-fixes", str(path), *PIN)
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == (CASES / "reward_classifier" / "expected.py").read_bytes()


def test_select_and_ignore_limit_the_fixes(tmp_path):
    path = _copy(tmp_path, "crlf")
    result = _run("fix", "--no-probe", "--select", "PPD301", "--unsafe-fixes", str(path), *PIN)
    assert "+tokenizer.add_special_tokens" in result.stdout
    assert "value_model" not in result.stdout
    result = _run("fix", "--no-probe", "--ignore", "PPD301", str(path), *PIN)
    assert "add_special_tokens" not in result.stdout and "+    value_model=value_model," in result.stdout


def test_check_marks_fixable_findings_and_their_safety(tmp_path):
    path = _copy(tmp_path, "value_is_policy")
    result = _run("check", str(path), *PIN)
    assert "PPD109 [*]" in result.stdout and "= fix (safe): Replace the value model" in result.stdout
    result = _run("check", str(_copy(tmp_path, "reward_classifier", "rm.py")), *PIN)
    assert "fix (unsafe: written once the probe confirms it, or with --unsafe-fixes)" in result.stdout


def test_default_probe_without_local_models_writes_only_what_it_confirms(tmp_path):
    # The probe runs for real in this interpreter: hub ids are not cached offline, so the model fixes stay
    # unchecked and unwritten. The import's fix and the keyword renames are confirmed and written: the
    # PPOConfig's bf16, which this CPU machine refuses, fails for a role they do not touch, but that is a
    # fact of the machine (PPD504's own finding, Rule.machine_dependent), which refutes no other fix.
    path = _copy(tmp_path, "guide")
    result = _run("fix", "--write", str(path), *PIN)
    assert result.exit_code == 1
    assert f"{path}:10:13: PPD301 not fixed: unchecked: the tokenizer: `google/gemma-2-2b-it` is not in the " \
           "Hugging Face cache" in result.stderr
    assert f"{path}:32:15: PPD101 not fixed: unchecked:" in result.stderr
    assert f"{path}:5:17: PPD202 fixed (confirmed)" in result.stderr
    assert f"{path}:35:5: PPD201 fixed (confirmed)" in result.stderr
    text = path.read_text()
    assert "from trl.experimental.ppo import" in text and "    args=config,\n" in text and "    model=model,\n" in text
    assert "value_model" not in text and "add_special_tokens" not in text


def test_errors_exit_2_and_other_files_are_still_fixed(tmp_path):
    (tmp_path / "a.py").write_text("import trl\nx = (\n")
    good = _copy(tmp_path, "bom", "b.py")
    result = _run("fix", "--write", "--no-probe", str(tmp_path), *PIN)
    assert result.exit_code == 2
    assert "a.py: error: syntax error" in result.stderr
    assert good.read_bytes() == (CASES / "bom" / "expected.py").read_bytes()


def test_nothing_to_fix_exits_0(tmp_path):
    path = tmp_path / "clean.py"
    path.write_bytes((CASES / "crlf" / "expected.py").read_bytes())
    result = _run("fix", str(path), *PIN)
    assert result.exit_code == 0 and result.stdout == ""


def test_a_write_names_what_is_left_that_no_fix_covers(tmp_path):
    """`Fixed 0 problems` never stands alone: a finding without a fix is named with why it has none."""
    path = tmp_path / "train.py"
    path.write_bytes((Path(__file__).resolve().parents[1] / "fixtures" / "styles" / "old_step_loop" /
                      "broken.py").read_bytes())
    result = _run("fix", "--write", "--no-probe", "--trl-version", "0.12.2", str(path))
    assert result.exit_code == 1
    (left,) = [line for line in result.stderr.splitlines() if " left: " in line]
    assert left.startswith(f"{path}:") and " PPD206 left: no automatic fix: the whole script is written for the " \
                                            "old API" in left
