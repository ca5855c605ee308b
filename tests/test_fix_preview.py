"""The preview is the write: `ppodoctor fix` (and `check --diff`) prints byte for byte the diff that
`fix --write` then applies, from the same probe gate, with the same per-finding outcomes.

The probe runs for real in this interpreter (trl 1.12, the meta device) over broken scripts in several
of the end-to-end matrix's styles, the repository's fix fixtures, the guide's script, a finding the probe
refutes, and a fix only --unsafe-fixes takes (the probe cannot check a change of meaning).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from e2e_matrix import CASES, CLEAN, STYLES, Case
from ppodoctor import files
from ppodoctor.cli import main
from ppodoctor.textdiff import file_diff
from probe_helpers import MODELS, ROOT, new_script

PIN = ("--trl-version", "1.12.0", "--python", sys.executable)
ACME = ("--model-path", f"acme/tokenizer={MODELS / 'tok-pad'}")
MATRIX_CASES = ("PPD101", "PPD106", "PPD107-both", "PPD109", "PPD205", "PPD301")
MATRIX_STYLES = ("inline", "helpers", "class")
# `init_kl_coef` has only a closest equivalent (`kl_coef`, fixed instead of adaptive): an unsafe fix the
# probe leaves unchecked, so it is in the diff and in the write only with --unsafe-fixes.
KL_ONLY = Case("PPD205", "", name="PPD205-closest", config_epochs="num_ppo_epochs=1, init_kl_coef=0.1")


def _models(root: Path) -> Path:
    """The matrix's model directories from the fixtures' configs and tokenizers (no weights: the probe
    builds them on the meta device)."""
    models = root / "models"
    for name, config in (("policy", "llama-causal"), ("rm", "llama-rm")):
        shutil.copytree(MODELS / config, models / name)
        for part in (MODELS / "tok-pad").iterdir():
            shutil.copy(part, models / name / part.name)
    shutil.copytree(MODELS / "tok-nopad", models / "tok-nopad")
    return models


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> tuple[Path, dict[Path, bytes]]:
    root = tmp_path_factory.mktemp("preview")
    models = _models(root)
    scripts = root / "scripts"
    by_label = {case.label: case for case in CASES}
    for case in [by_label[label] for label in MATRIX_CASES] + [KL_ONLY, CLEAN]:
        for style in MATRIX_STYLES:
            path = scripts / f"{case.label}-{style}" / "train.py"
            path.parent.mkdir(parents=True)
            path.write_text(STYLES[style](case, models))
    for case in ("guide", "value_is_policy", "crlf", "policy_value_head"):
        (scripts / f"fixture-{case}").mkdir()
        shutil.copyfile(ROOT / "fixtures" / "fix" / case / "input.py", scripts / f"fixture-{case}" / "train.py")
    (scripts / "guide").mkdir()
    shutil.copyfile(ROOT / "fixtures" / "guide" / "guide_ppo.py", scripts / "guide" / "train.py")
    # The tokenizer is a hub id only --model-path maps to a directory: `check` reports PPD301, the
    # probe reads a pad token and refutes it; the missing value model is confirmed.
    (scripts / "refuted").mkdir()
    (scripts / "refuted" / "train.py").write_text(
        new_script(value=None).replace(f'"{MODELS / "tok-pad"}"', '"acme/tokenizer"'))
    originals = {path: path.read_bytes() for path in sorted(scripts.rglob("*.py"))}
    return scripts, originals


def _restore(originals: dict[Path, bytes]) -> None:
    for path, data in originals.items():
        path.write_bytes(data)


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def _finding_lines(stderr: str) -> list[str]:
    return sorted(line for line in stderr.splitlines() if re.match(r"^\S+:\d+:\d+: PPD\d+ ", line))


def _written_diff(originals: dict[Path, bytes]) -> tuple[dict[Path, str], list[Path]]:
    """Each changed file's diff from its original to what is on disk now."""
    diffs = {}
    for path, data in originals.items():
        now = path.read_bytes()
        if now != data:
            diffs[path] = file_diff(str(path), files.decode(data).text, files.decode(now).text)
    return diffs, [path for path in originals if path not in diffs]


def _preview_then_write(scripts: Path, originals: dict[Path, bytes], *flags: str):
    _restore(originals)
    preview = _run("fix", *flags, *PIN, *ACME, str(scripts))
    assert {path: path.read_bytes() for path in originals} == originals  # a preview writes nothing
    write = _run("fix", "--write", *flags, *PIN, *ACME, str(scripts))
    diffs, untouched = _written_diff(originals)
    # Byte for byte: the preview is every written file's diff, and nothing else.
    for path, diff in diffs.items():
        assert diff in preview.stdout, f"{path}: the write's diff is not the preview's\n{diff}\n{preview.stdout}"
    assert len(preview.stdout) == sum(len(diff) for diff in diffs.values()), preview.stdout
    assert all(f"+++ {path}\n" not in preview.stdout for path in untouched)
    # The same decision, said in the preview's tense.
    assert _finding_lines(preview.stderr) == sorted(
        line.replace(" fixed (", " would fix (") for line in _finding_lines(write.stderr)), f"{preview.stderr}\n---\n{write.stderr}"
    assert preview.exit_code == (1 if diffs else 0)
    return preview, write, diffs


def _diff_of(diffs: dict[Path, str], scripts: Path, name: str) -> str:
    return diffs.get(scripts / name / "train.py", "")


def test_the_preview_is_what_write_writes(tree):
    scripts, originals = tree
    preview, write, diffs = _preview_then_write(scripts, originals)
    for style in MATRIX_STYLES:
        assert _diff_of(diffs, scripts, f"clean-{style}") == ""
        for label in ("PPD101", "PPD106", "PPD107-both", "PPD109", "PPD205"):
            assert _diff_of(diffs, scripts, f"{label}-{style}"), f"{label}-{style} is not fixed\n{write.stderr}"
        # The unsafe-only closest field is neither previewed nor written without --unsafe-fixes.
        assert _diff_of(diffs, scripts, f"PPD205-closest-{style}") == ""
    closest = scripts / "PPD205-closest-inline" / "train.py"
    assert re.search(rf"^{re.escape(str(closest))}:\d+:\d+: PPD205 not fixed: unchecked: .*--unsafe-fixes writes it",
                     preview.stderr, re.MULTILINE), preview.stderr
    refuted = scripts / "refuted" / "train.py"
    assert f"{refuted}:3:13: PPD301 not fixed: refuted: the finding does not reproduce" in preview.stderr
    assert f"{refuted}:7:11: PPD101 would fix (confirmed)" in preview.stderr
    assert "+    value_model=value_model," in _diff_of(diffs, scripts, "refuted") or \
        "value_model=value_model)" in _diff_of(diffs, scripts, "refuted")
    assert "add_special_tokens" not in _diff_of(diffs, scripts, "refuted")
    assert re.search(r"Would fix \d+ problems in \d+ files; run with --write to apply\.", preview.stderr)


def test_unsafe_fixes_preview_what_they_write(tree):
    scripts, originals = tree
    _preview, _write, diffs = _preview_then_write(scripts, originals, "--unsafe-fixes")
    for style in MATRIX_STYLES:
        assert "+" in _diff_of(diffs, scripts, f"PPD205-closest-{style}") and \
            "kl_coef=0.1" in _diff_of(diffs, scripts, f"PPD205-closest-{style}")


def test_check_diff_is_the_same_preview(tree):
    scripts, originals = tree
    _restore(originals)
    # In `check --diff`'s order (by path), which `fix` keeps as named.
    some = sorted([scripts / "refuted" / "train.py", scripts / "PPD205-closest-helpers" / "train.py",
                   scripts / "PPD107-both-class" / "train.py"], key=str)
    preview = _run("fix", *PIN, *ACME, *map(str, some))
    diff = _run("check", "--diff", *PIN, *ACME, *map(str, some))
    assert diff.stdout == preview.stdout and diff.exit_code == preview.exit_code == 1
    assert "add_special_tokens" not in diff.stdout and "kl_coef" not in diff.stdout
    refuted = scripts / "refuted" / "train.py"
    stdin = _run("check", "--diff", *PIN, *ACME, "--stdin-filename", str(refuted), "-",
                 input=originals[refuted].decode())
    assert stdin.stdout == _run("fix", *PIN, *ACME, str(refuted)).stdout != ""
    assert "PPD301 not fixed: refuted" in stdin.stderr
