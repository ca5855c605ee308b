"""`ppodoctor fix --write` never loses a byte: atomic replace, mode kept, no stale overwrite, probe gate."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from ppodoctor import files
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_paths
from ppodoctor.trl_api.eras import Target
from ppodoctor.types import CONFIRMED, REFUTED, ProbeVerdict

CASES = Path(__file__).resolve().parent.parent / "fixtures" / "fix"
TARGET = Target.of("1.12.0", transformers="5.24.0")


def _copy(tmp_path: Path, case: str, name: str = "train.py") -> Path:
    path = tmp_path / name
    shutil.copyfile(CASES / case / "input.py", path)
    return path


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".ppodoctor.tmp")]


def _always(status):
    def confirm(sets, options):
        return [{i: ProbeVerdict(status, "test confirmer") for i in range(len(found))} for _b, _a, found in sets]
    return confirm


@pytest.mark.parametrize("case", ["crlf", "bom", "latin1", "comments_and_parens", "guide"])
def test_write_gives_the_expected_bytes(tmp_path, case):
    path = _copy(tmp_path, case)
    unsafe = (CASES / case / "args.txt").exists()
    report = fix_paths([path], Settings(), TARGET, unsafe=unsafe, write=True, probe=False)
    assert report.files[0].written, report.files[0]
    assert path.read_bytes() == (CASES / case / "expected.py").read_bytes()
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("mode", [0o640, 0o755, 0o600])
def test_write_keeps_the_file_mode(tmp_path, mode):
    path = _copy(tmp_path, "crlf")
    path.chmod(mode)
    fix_paths([path], Settings(), TARGET, write=True, probe=False)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_bytes() == (CASES / "crlf" / "expected.py").read_bytes()


def test_write_through_a_symlink_rewrites_its_target(tmp_path):
    real = _copy(tmp_path, "bom", "real.py")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    fix_paths([link], Settings(), TARGET, write=True, probe=False)
    assert link.is_symlink()
    assert real.read_bytes() == (CASES / "bom" / "expected.py").read_bytes()


def test_file_changed_on_disk_mid_fix_is_not_overwritten(tmp_path):
    path = _copy(tmp_path, "crlf")
    edited = b"# edited by someone else while ppodoctor was thinking\n" + path.read_bytes()

    def confirm_while_someone_edits(sets, options):
        path.write_bytes(edited)  # the probe runs between reading and writing: a real window
        return [{i: ProbeVerdict(CONFIRMED) for i in range(len(found))} for _b, _a, found in sets]

    report = fix_paths([path], Settings(), TARGET, write=True, confirm=confirm_while_someone_edits)
    result = report.files[0]
    assert not result.written
    assert "changed on disk" in result.error
    assert path.read_bytes() == edited
    assert _leftovers(tmp_path) == []


def test_write_atomic_refuses_stale_bytes_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "a.py"
    path.write_bytes(b"x = 1\n")
    with pytest.raises(files.SourceError, match="changed on disk"):
        files.write_atomic(path, b"x = 2\n", expected=b"x = 0\n")
    assert path.read_bytes() == b"x = 1\n"
    assert _leftovers(tmp_path) == []
    files.write_atomic(path, b"x = 2\n", expected=b"x = 1\n")
    assert path.read_bytes() == b"x = 2\n"


def test_interrupt_during_replace_leaves_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "a.py"
    path.write_bytes(b"x = 1\n")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.write_atomic(path, b"x = 2\n")
    monkeypatch.undo()
    assert path.read_bytes() == b"x = 1\n"
    assert _leftovers(tmp_path) == []


def test_confirmed_fixes_are_written(tmp_path):
    path = _copy(tmp_path, "crlf")
    seen = {}

    def confirm(sets, options):
        ((before, after, diagnostics),) = sets  # one file: one set, from one probe run
        seen.update(before=before, after=after, codes=[d.code for d in diagnostics], options=options)
        return [{i: ProbeVerdict(CONFIRMED, "ok") for i in range(len(diagnostics))}]

    settings = Settings()
    result = fix_paths([path], settings, TARGET, write=True, confirm=confirm).files[0]
    assert result.written
    # The probe gate proposes the unsafe PPD301 fix too (the tokenizer's files are not on disk).
    assert sorted(seen["codes"]) == ["PPD101", "PPD301"]
    assert seen["options"] is settings
    assert seen["before"].setups[0].role("value") is None
    assert seen["after"].setups[0].role("value") is not None
    assert [v.status for v in result.verdicts] == [CONFIRMED, CONFIRMED]


@pytest.mark.parametrize("answer", [_always(REFUTED), _always("unchecked"), lambda *a: [{}]])
def test_unconfirmed_fixes_are_not_written(tmp_path, answer):
    path = _copy(tmp_path, "crlf")
    before = path.read_bytes()
    result = fix_paths([path], Settings(), TARGET, write=True, confirm=answer).files[0]
    assert not result.written and result.error is None
    assert "--no-probe" in result.not_written
    assert path.read_bytes() == before


def test_a_failing_probe_blocks_the_write_and_says_why(tmp_path):
    path = _copy(tmp_path, "crlf")

    def broken(sets, options):
        raise RuntimeError("worker died")

    result = fix_paths([path], Settings(), TARGET, write=True, confirm=broken).files[0]
    assert not result.written
    assert "worker died" in result.not_written


def test_without_write_nothing_is_touched(tmp_path):
    path = _copy(tmp_path, "guide")
    before = path.read_bytes()
    mtime = path.stat().st_mtime_ns
    result = fix_paths([path], Settings(), TARGET).files[0]
    assert result.changed and not result.written
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    assert result.diff().startswith(f"--- {path}\n+++ {path}\n")


def test_a_broken_file_is_reported_and_others_still_fixed(tmp_path):
    broken = tmp_path / "a_broken.py"
    broken.write_text("from trl import PPOTrainer\ntrainer = PPOTrainer(\n")
    good = _copy(tmp_path, "crlf", "b_good.py")
    report = fix_paths([tmp_path], Settings(), TARGET, write=True, probe=False)
    by_name = {Path(f.path).name: f for f in report.files}
    assert "syntax error" in by_name["a_broken.py"].error
    assert by_name["b_good.py"].written
    assert good.read_bytes() == (CASES / "crlf" / "expected.py").read_bytes()


def test_text_with_a_latin1_cookie_is_not_decoded_twice():
    """A str is decoded already: its cookie names only the encoding to write it back in."""
    from ppodoctor.pipeline.fix import fix_source

    source = ("# -*- coding: latin-1 -*-\n# café\nfrom trl.experimental.ppo import PPOTrainer\n"
              "from transformers import AutoModelForCausalLM\n"
              "model = AutoModelForCausalLM.from_pretrained('sft')\n"
              "trainer = PPOTrainer(args=cfg, processing_class=tok, model=model, ref_model=model, reward_model=rm,\n"
              "                     value_model=critic, train_dataset=ds)\n")
    first = fix_source(source, "t.py")
    assert first.error is None and first.changed
    assert "# café\n" in first.text
    assert fix_source(first.text, "t.py").text == first.text
