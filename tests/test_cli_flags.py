"""ruff's everyday flags on `ppodoctor check`, with ruff's meanings and exit codes."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from click.testing import CliRunner

from ppodoctor.cli import main

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "fix"
PIN = ("--trl-version", "1.12.0")
BROKEN = ("from transformers import AutoModelForCausalLM\n"
          "from trl.experimental.ppo import PPOTrainer\n\n"
          "model = AutoModelForCausalLM.from_pretrained('sft')\n"
          "trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=model,\n"
          "                     reward_model=rm, train_dataset=ds)\n")


def run(*args, input=None):
    return CliRunner().invoke(main, ["check", *PIN, *map(str, args)], input=input, catch_exceptions=False)


def copy(tmp_path: Path, case: str, name: str = "train.py") -> Path:
    path = tmp_path / name
    shutil.copyfile(CASES / case / "input.py", path)
    return path


@pytest.fixture
def broken(tmp_path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(BROKEN)
    return path


def test_help_documents_every_flag():
    text = CliRunner().invoke(main, ["check", "--help"]).output
    for flag in ("--fix", "--unsafe-fixes", "--diff", "--statistics", "--exit-zero", "--exit-non-zero-on-fix",
                 "--quiet", "--silent", "--extend-select", "--show-fixes", "--per-file-ignores",
                 "--extend-per-file-ignores", "gitlab", "junit", "-q", "-s", "-e"):
        assert flag in text, flag


# --- --fix -------------------------------------------------------------------------------------------
def test_fix_writes_then_reports_what_is_left(tmp_path):
    # The policy object as the value model: PPD109 (safe: the script cannot run); PPD103 says the same
    # of that argument and stays silent (one problem, one finding).
    path = copy(tmp_path, "value_is_policy")
    result = run("--fix", "--no-probe", path)
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == (CASES / "value_is_policy" / "expected.py").read_bytes()
    assert "Found 1 problem (1 fixed, 0 remaining)." in result.stdout
    assert "not confirmed by the runtime probe (--no-probe)" in result.stderr
    again = run("--fix", "--no-probe", path)
    assert again.exit_code == 0 and "All checks passed!" in again.stdout


def test_exit_non_zero_on_fix(tmp_path):
    path = copy(tmp_path, "value_is_policy")
    result = run("--fix", "--no-probe", "--exit-non-zero-on-fix", path)
    assert result.exit_code == 1 and path.read_bytes() == (CASES / "value_is_policy" / "expected.py").read_bytes()
    assert run("--fix", "--no-probe", "--exit-non-zero-on-fix", path).exit_code == 0  # nothing left to fix


def test_fix_leaves_unsafe_fixes_to_unsafe_fixes(tmp_path):
    # A reward checkpoint loaded as a causal LM: loading it as a classifier is only right if it was
    # trained as a reward model, which the source cannot show (unsafe).
    path = copy(tmp_path, "reward_classifier")
    before = path.read_bytes()
    result = run("--fix", "--no-probe", path)
    assert result.exit_code == 1 and path.read_bytes() == before
    hint = "(1 more fix written by `--fix` once the probe confirms it, or with the `--unsafe-fixes` option.)"
    assert "PPD104" in result.stdout and hint in result.stdout
    hinted = run(path)
    assert hint in hinted.stdout and "[*] " not in hinted.stdout.split("Found")[1]
    assert "[*] 1 fixable with the `--fix --unsafe-fixes` options." in run("--unsafe-fixes", path).stdout
    result = run("--fix", "--unsafe-fixes", "--no-probe", path)
    assert result.exit_code == 0, result.output
    assert path.read_bytes() == (CASES / "reward_classifier" / "expected.py").read_bytes()


def test_fix_is_gated_by_the_probe_as_fix_write_is(tmp_path):
    """The real probe: the import's fix and the keyword renames are confirmed and written (the fixed
    call's PPOConfig still asks for bf16, which this CPU machine refuses: PPD504's own finding, a fact of
    the machine, refutes no other fix), the model fixes stay unchecked (hub ids not cached offline) and
    are reported as remaining, exactly as `fix --write` does."""
    by_check, by_fix = copy(tmp_path, "guide", "a.py"), copy(tmp_path, "guide", "b.py")
    result = run("--fix", by_check)
    assert result.exit_code == 1
    assert f"{by_check}:5:17: PPD202 fixed (confirmed)" in result.stderr
    assert f"{by_check}:35:5: PPD201 fixed (confirmed)" in result.stderr
    assert f"{by_check}:32:15: PPD101 not fixed: unchecked:" in result.stderr
    assert "PPD101" in result.stdout and "fixed, " in result.stdout and " remaining)." in result.stdout
    CliRunner().invoke(main, ["fix", "--write", *PIN, str(by_fix)], catch_exceptions=False)
    assert by_check.read_bytes() == by_fix.read_bytes() != (CASES / "guide" / "input.py").read_bytes()


def test_show_fixes_lists_what_was_fixed_and_no_show_fixes_drops_previews(tmp_path):
    path = copy(tmp_path, "crlf")
    shown = run("--no-show-fixes", path).stdout
    assert "= fix (safe)" in shown and "+tokenizer.add_special_tokens" not in shown
    assert "+tokenizer.add_special_tokens" in run(path).stdout
    result = run("--fix", "--no-probe", "--show-fixes", path)
    # PPD301's fix is unsafe here (the tokenizer's files are not on disk): only PPD101 is written.
    assert f"Fixed 1 problem:\n- {path}:\n    1 × PPD101 (value-model-missing)\n" in result.stdout


def test_fix_refuses_stdin():
    result = run("--fix", "-", input=BROKEN)
    assert result.exit_code == 2 and "--fix cannot write to stdin" in result.stderr


# --- --diff ------------------------------------------------------------------------------------------
def test_diff_prints_the_fixes_and_writes_nothing(tmp_path):
    # --no-probe: the safe fixes (the probe-gated --diff: tests/test_fix_preview.py)
    path = copy(tmp_path, "crlf")
    before = path.read_bytes()
    result = run("--diff", "--no-probe", path)
    assert result.exit_code == 1 and path.read_bytes() == before
    assert result.stdout.startswith(f"--- {path}\n+++ {path}\n") and "+    value_model=value_model," in result.stdout
    assert "+tokenizer.add_special_tokens" not in result.stdout  # unsafe: only with --unsafe-fixes
    assert "Would fix 1 problem in 1 file." in result.stderr
    assert run("--diff", "--no-probe", "--exit-zero", path).exit_code == 0
    clean = tmp_path / "clean.py"
    clean.write_bytes((CASES / "crlf" / "expected.py").read_bytes())
    nothing = run("--diff", "--no-probe", clean)
    assert nothing.exit_code == 0 and nothing.stdout == ""
    from_stdin = run("--diff", "--no-probe", "--stdin-filename", "edit.py", "-", input=path.read_text())
    assert from_stdin.exit_code == 1 and from_stdin.stdout.startswith("--- edit.py\n")


def test_diff_exits_by_the_fixes_alone(tmp_path):
    """As ruff's: findings without a fix do not make --diff fail."""
    path = tmp_path / "t.py"
    path.write_text("from trl.experimental.ppo import PPOTrainer\ntrainer = PPOTrainer(args=cfg, "
                    "processing_class=tok, model=policy, ref_model=ref, reward_model=rm, train_dataset=ds,"
                    " value_model=critic)\ntrainer.step(q, r, s)\n")
    assert run(path).exit_code == 1
    assert run("--diff", path).exit_code == 0


# --- reporting ----------------------------------------------------------------------------------------
def test_statistics_count_per_code(tmp_path, broken):
    unsafe = copy(tmp_path, "reward_classifier", "unsafe.py")
    result = run("--statistics", broken, unsafe)
    assert result.exit_code == 1
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(count.strip(), code.strip(), rest) for count, code, rest in rows] == [
        ("1", "PPD101", "[*] value-model-missing"), ("1", "PPD104", "[-] reward-model-not-classifier"),
        ("1", "PPD106", "[*] reference-is-policy")]
    (tmp_path / "same.py").write_text(BROKEN)
    twice = run("--statistics", broken, tmp_path / "same.py")
    assert twice.stdout.splitlines()[0] == "2\tPPD101\t[*] value-model-missing"
    as_json = json.loads(run("--statistics", "--output-format", "json", broken).stdout)
    assert as_json == [{"code": "PPD101", "name": "value-model-missing", "count": 1, "fixable": True, "hidden_fixes": 0},
                       {"code": "PPD106", "name": "reference-is-policy", "count": 1, "fixable": True, "hidden_fixes": 0}]


def test_exit_zero(broken, tmp_path):
    result = run("--exit-zero", broken)
    assert result.exit_code == 0 and "PPD101" in result.stdout
    assert run("-e", broken).exit_code == 0
    assert run("--exit-zero", broken, tmp_path / "missing.py").exit_code == 2  # a bad input is never a pass


def test_quiet_prints_only_the_findings(broken):
    result = run("--quiet", "--output-format", "concise", broken)
    assert result.exit_code == 1
    assert [line.split(": ")[1].split()[0] for line in result.stdout.splitlines()] == ["PPD101", "PPD106"]
    assert result.stderr == ""
    assert "Found" not in run("-q", broken).stdout and "Checked against" not in run("-q", broken).stdout


def test_silent_prints_nothing(broken, tmp_path):
    result = run("--silent", broken)
    assert result.exit_code == 1 and result.output == ""
    out = tmp_path / "report.json"
    result = run("-s", "--output-format", "json", "-o", out, broken)
    assert result.exit_code == 1 and result.output == "" and len(json.loads(out.read_text())) == 2


# --- which rules ---------------------------------------------------------------------------------------
def test_extend_select_adds_to_the_selection(tmp_path, broken):
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\nselect = ["PPD3"]\n')
    assert run(broken).exit_code == 0
    result = run("--extend-select", "PPD106", "--output-format", "json", broken)
    assert [d["code"] for d in json.loads(result.stdout)] == ["PPD106"]
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\nselect = ["PPD3"]\nextend-select = ["PPD101"]\n')
    result = run("--extend-select", "PPD106", "--output-format", "json", broken)
    assert [d["code"] for d in json.loads(result.stdout)] == ["PPD101", "PPD106"]
    assert run("--extend-select", "XYZ1", broken).exit_code == 2


def test_per_file_ignores_from_the_configuration_and_the_command_line(tmp_path):
    (tmp_path / "legacy").mkdir()
    legacy, current = tmp_path / "legacy" / "old.py", tmp_path / "train.py"
    legacy.write_text(BROKEN)
    current.write_text(BROKEN)

    def codes(*args):
        result = run("--output-format", "json", *args, tmp_path)
        return sorted((Path(d["filename"]).name, d["code"]) for d in json.loads(result.stdout))

    everything = [("old.py", "PPD101"), ("old.py", "PPD106"), ("train.py", "PPD101"), ("train.py", "PPD106")]
    assert codes() == everything
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\nper-file-ignores = {"legacy/*.py" = ["PPD1"]}\n')
    assert codes() == [("train.py", "PPD101"), ("train.py", "PPD106")]
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\nper-file-ignores = {"legacy/*.py" = ["PPD101"]}\n'
                                             'extend-per-file-ignores = {"train.py" = ["PPD106"]}\n')
    assert codes() == [("old.py", "PPD106"), ("train.py", "PPD101")]
    # The command line's replaces the configuration's; its extend adds to it.
    assert codes("--per-file-ignores", "train.py:PPD101,PPD106") == [("old.py", "PPD101"), ("old.py", "PPD106")]
    assert codes("--extend-per-file-ignores", "legacy/*:PPD106") == [("train.py", "PPD101")]
    assert run("--per-file-ignores", "PPD101", tmp_path).exit_code == 2
    assert run("--per-file-ignores", "x.py:NOPE1", tmp_path).exit_code == 2
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\nper-file-ignores = ["legacy/*.py"]\n')
    bad = run(tmp_path)
    assert bad.exit_code == 2 and "per-file-ignores must be a table" in bad.stderr


def test_per_file_ignores_apply_to_fixes_too(tmp_path):
    path = copy(tmp_path, "crlf")
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\nper-file-ignores = {"train.py" = ["PPD301"]}\n')
    diff = CliRunner().invoke(main, ["fix", "--no-probe", *PIN, str(path)]).stdout
    assert "value_model=value_model" in diff and "add_special_tokens" not in diff


# --- formats -------------------------------------------------------------------------------------------
def test_gitlab_code_quality(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)
    (tmp_path / "src").mkdir()
    script = tmp_path / "src" / "train.py"
    script.write_text(BROKEN)
    issues = json.loads(run("--output-format", "gitlab", script).stdout)
    assert [issue["check_name"] for issue in issues] == ["PPD101", "PPD106"]
    first = issues[0]
    assert set(first) == {"description", "check_name", "fingerprint", "severity", "location"}
    assert first["location"] == {"path": "src/train.py", "lines": {"begin": 5, "end": 5}}
    assert first["severity"] == "major" and first["description"].startswith("PPD101: PPOTrainer is built without")
    assert len({issue["fingerprint"] for issue in issues}) == 2
    # A finding keeps its fingerprint when the code above it moves.
    script.write_text("import os\n\n" + BROKEN)
    moved = json.loads(run("--output-format", "gitlab", script).stdout)
    assert [i["fingerprint"] for i in moved] == [i["fingerprint"] for i in issues]
    assert moved[0]["location"]["lines"]["begin"] == 7
    monkeypatch.setenv("CI_PROJECT_DIR", str(tmp_path / "src"))
    assert json.loads(run("--output-format", "gitlab", script).stdout)[0]["location"]["path"] == "train.py"


def test_gitlab_warnings_are_minor(tmp_path):
    path = copy(tmp_path, "crlf")
    issues = json.loads(run("--output-format", "gitlab", path).stdout)
    assert {issue["check_name"]: issue["severity"] for issue in issues} == {"PPD301": "minor", "PPD101": "major"}


def test_junit(tmp_path, broken):
    root = ElementTree.fromstring(run("--output-format", "junit", broken).stdout)
    assert (root.tag, root.get("name"), root.get("tests"), root.get("failures")) == ("testsuites", "ppodoctor", "2", "2")
    suite = root.find("testsuite")
    assert suite.get("name") == str(broken)
    cases = suite.findall("testcase")
    assert [(c.get("name"), c.get("line"), c.get("column")) for c in cases] == [
        ("ppodoctor.PPD101", "5", "11"), ("ppodoctor.PPD106", "5", "77")]
    assert cases[0].get("classname") == str(broken.with_suffix(""))
    failure = cases[0].find("failure")
    assert failure.get("type") == "PPD101" and failure.text.startswith("line 5, col 11, PPOTrainer is built")
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n")
    empty = ElementTree.fromstring(run("--output-format", "junit", clean).stdout)
    assert empty.get("failures") == "0" and [c.get("name") for c in empty.iter("testcase")] == ["No problems found"]


def test_junit_survives_characters_xml_cannot_carry(tmp_path):
    odd = tmp_path / "odd\x1bname.py"
    odd.write_text(BROKEN)
    root = ElementTree.fromstring(run("--output-format", "junit", odd).stdout)
    assert root.get("failures") == "2"


# --- exit codes in every mode ----------------------------------------------------------------------------
@pytest.mark.parametrize("args, content, expected", [
    ((), "clean", 0), ((), "broken", 1), ((), "bad", 2),
    (("--exit-zero",), "broken", 0), (("--exit-zero",), "bad", 2),
    (("--diff",), "clean", 0), (("--diff", "--no-probe"), "fixable", 1), (("--diff",), "broken", 0),
    (("--diff",), "bad", 2),
    (("--statistics",), "clean", 0), (("--statistics",), "broken", 1), (("--statistics",), "bad", 2),
    (("--quiet",), "broken", 1), (("--silent",), "broken", 1), (("--silent",), "bad", 2),
    (("--fix", "--no-probe"), "clean", 0), (("--fix", "--no-probe"), "fixable", 0),
    (("--fix", "--no-probe"), "broken", 1), (("--fix", "--no-probe"), "bad", 2),
    (("--fix", "--no-probe", "--exit-non-zero-on-fix"), "fixable", 1),
    (("--fix", "--no-probe", "--exit-non-zero-on-fix"), "clean", 0),
    (("--fix", "--no-probe", "--exit-zero"), "broken", 0),
    (("--output-format", "junit"), "broken", 1), (("--output-format", "gitlab"), "bad", 2),
])
def test_exit_codes(tmp_path, args, content, expected):
    path = tmp_path / "t.py"
    if content == "fixable":  # every finding has a safe fix
        shutil.copyfile(CASES / "value_is_policy" / "input.py", path)
    elif content == "broken":  # a finding no fix can remove (the old-era loop on the new trainer)
        path.write_text(BROKEN.replace("model=model, ref_model=model", "model=model, ref_model=ref, value_model=v")
                        + "trainer.step(q, r, s)\n")
    else:
        path.write_text({"clean": "x = 1\n", "bad": "x = (\n"}[content])
    assert run(*args, path).exit_code == expected
