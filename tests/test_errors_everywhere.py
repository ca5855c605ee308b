"""Errors are never silent: every file that could not be checked is one `path: error: cause` line on
stderr in every output format, and is in the machine formats too. Files named on the command line
are read, decoded and compiled by Python even when they hold no PPO code; files found by walking a
directory may still be screened out unread."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from ppodoctor.report import FORMATS

BROKEN = ("from trl.experimental.ppo import PPOTrainer\n"
          "from transformers import AutoModelForCausalLM\n"
          "policy = AutoModelForCausalLM.from_pretrained('sft')\n"
          "trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=policy,\n"
          "                     reward_model=rm, train_dataset=ds)\n")
PARENS = "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
# name -> (bytes, the cause on the error line); None: made in the test (missing, symlink loop).
BAD = {
    "syntax_error.py": (b"from trl import PPOTrainer\ndef broken(:\n    pass\n", "syntax error at 2:12: invalid syntax"),
    "plain_syntax_error.py": (b"def broken(:\n    pass\n", "syntax error at 1:12: invalid syntax"),
    "nul_bytes.py": (b"import os\x00\n", "file contains NUL bytes"),
    "undeclared_latin1.py": (b"name = '\xe9t\xe9'\n", "invalid utf-8 at byte 8"),
    "nested_parentheses.py": (PARENS.encode(), "too many nested parentheses"),
    "nested_with_ppo.py": (b"from trl import PPOTrainer\n" + PARENS.encode(), "too many nested parentheses"),
    "return_outside.py": (b"return 1\n", "'return' outside function"),
    "missing.py": (None, "no such file or directory"),
    "loop.py": (None, "symbolic link loop"),
}
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-2.1.0-rtm.5.schema.json").read_text())


def ppodoctor(*args, input=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ppodoctor", *map(str, args)], capture_output=True, text=True,
                          timeout=120, input=input, cwd=cwd)


@pytest.fixture(scope="module")
def bad_tree(tmp_path_factory) -> tuple[Path, list[Path], Path]:
    root = tmp_path_factory.mktemp("bad")
    paths = []
    for name, (data, _cause) in BAD.items():
        path = root / name
        if name == "loop.py":
            path.symlink_to(path)
        elif data is not None:
            path.write_bytes(data)
        paths.append(path)
    good = root / "zz_good.py"
    good.write_text(BROKEN)
    return root, paths, good


def error_lines(stderr: str) -> dict[str, str]:
    lines = [line for line in stderr.splitlines() if ": error: " in line]
    found = dict(line.split(": error: ", 1) for line in lines)
    assert len(found) == len(lines), "one line per file"
    return found


def assert_every_cause_on_stderr(result, paths) -> None:
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-2000:])
    causes = error_lines(result.stderr)
    assert set(causes) == {str(path) for path in paths}, causes
    for path in paths:
        assert BAD[path.name][1] in causes[str(path)], (path.name, causes[str(path)])


@pytest.mark.parametrize("output_format", FORMATS)
def test_every_bad_input_says_why_on_stderr_in_every_format(bad_tree, output_format):
    _root, paths, good = bad_tree
    result = ppodoctor("check", "--trl-version", "1.12.0", "--output-format", output_format, *paths, good)
    assert_every_cause_on_stderr(result, paths)
    out = result.stdout
    assert ": error: " not in out, "errors belong on stderr, not among the findings"
    if output_format in ("text", "concise"):
        assert f"{good}:4:" in out and "PPD106" in out  # the good file is still checked
        assert f"{len(paths)} files could not be checked" in out
    elif output_format == "json":
        items = json.loads(out)
        errors = {item["filename"]: item for item in items if item["code"] is None}
        assert set(errors) == {str(path) for path in paths}
        assert all(BAD[Path(name).name][1] in item["message"] for name, item in errors.items())
        assert errors[str(paths[0])]["location"] == {"row": 2, "column": 12}
        assert {item["code"] for item in items} == {None, "PPD101", "PPD106"}
    elif output_format == "json-lines":
        items = [json.loads(line) for line in out.splitlines()]
        assert {item["filename"] for item in items if item["code"] is None} == {str(path) for path in paths}
    elif output_format == "sarif":
        log = json.loads(out)
        assert not list(Draft4Validator(SARIF_SCHEMA).iter_errors(log))
        invocation = log["runs"][0]["invocations"][0]
        notified = [n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    for n in invocation["toolExecutionNotifications"]]
        assert notified == [path.as_uri() for path in sorted(paths)] and not invocation["executionSuccessful"]
        assert len(log["runs"][0]["results"]) == 2
    elif output_format == "github":
        for path in paths:
            assert f"::error file={path}" in out and BAD[path.name][1] in out
        assert out.count("::error file=") == len(paths) + 2
    elif output_format == "gitlab":
        issues = json.loads(out)
        failed = {issue["location"]["path"]: issue for issue in issues if issue["check_name"] == "file-error"}
        assert set(failed) == {str(path) for path in paths}  # outside the working directory: kept absolute
        assert failed[str(paths[0])]["location"]["lines"]["begin"] == 2
    elif output_format == "junit":
        root = ElementTree.fromstring(out)
        cases = {suite.get("name"): [case.get("name") for case in suite] for suite in root}
        for path in paths:
            assert cases[str(path)] == ["ppodoctor.file-error"]
        assert cases[str(good)] == ["ppodoctor.PPD101", "ppodoctor.PPD106"]
        assert root.get("failures") == str(len(paths) + 2)


@pytest.mark.parametrize("flag", ["--quiet", "--statistics", "--exit-zero", "--fix", "--diff"])
def test_errors_stay_on_stderr_and_exit_2_with_every_mode(bad_tree, tmp_path, flag):
    _root, paths, good = bad_tree
    copy = tmp_path / good.name
    copy.write_text(BROKEN)
    extra = ("--no-probe",) if flag in ("--fix", "--diff") else ()
    result = ppodoctor("check", "--trl-version", "1.12.0", flag, *extra, *paths, copy)
    assert_every_cause_on_stderr(result, paths)


def test_silent_prints_nothing_but_still_exits_2(bad_tree):
    _root, paths, good = bad_tree
    result = ppodoctor("check", "--silent", *paths, good)
    assert result.returncode == 2 and result.stdout == "" and result.stderr == ""


def test_fix_names_every_bad_file_too(bad_tree):
    _root, paths, good = bad_tree
    result = ppodoctor("fix", "--no-probe", "--trl-version", "1.12.0", *paths, good)
    assert_every_cause_on_stderr(result, paths)
    assert f"+++ {good}" in result.stdout  # the good file's diff is still printed


def test_walked_files_may_be_screened_out_but_named_ones_are_compiled(tmp_path):
    (tmp_path / "no_ppo_broken.py").write_bytes(b"def broken(:\n")
    (tmp_path / "undeclared.py").write_bytes(b"s = '\xe9'\n")
    walked = ppodoctor("check", tmp_path)
    assert walked.returncode == 0 and "All checks passed!" in walked.stdout, walked.stderr
    named = ppodoctor("check", tmp_path / "no_ppo_broken.py", tmp_path / "undeclared.py")
    assert named.returncode == 2
    assert set(error_lines(named.stderr)) == {str(tmp_path / "no_ppo_broken.py"), str(tmp_path / "undeclared.py")}


def test_stdin_is_compiled_like_a_named_file():
    result = ppodoctor("check", "--stdin-filename", "edit.py", "-", input="x = (\n")
    assert result.returncode == 2
    assert result.stderr.strip() == "edit.py: error: syntax error at 1:5: '(' was never closed"
    clean = ppodoctor("check", "--stdin-filename", "edit.py", "-", input="x = 1\n")
    assert clean.returncode == 0 and clean.stderr == ""


def test_a_valid_named_file_without_ppo_code_still_passes(tmp_path):
    for name, text in {"plain.py": "import os\n\nprint(os.getcwd())\n", "empty.py": "",
                       "latin.py": "# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n", "notes.txt": "x = 1\n"}.items():
        (tmp_path / name).write_bytes(text.encode("latin-1"))
    result = ppodoctor("check", *sorted(tmp_path.iterdir()))
    assert result.returncode == 0 and result.stderr == "", result.stderr
