"""Scanning many files: the worker pool gives what the serial path gives; the check path stays light."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ppodoctor import api, scan
from ppodoctor.config import Settings
from ppodoctor.trl_api.eras import Target

from conftest import FIXTURES

BROKEN = ("from trl.experimental.ppo import PPOTrainer\n"
          "from transformers import AutoModelForCausalLM\n"
          "policy = AutoModelForCausalLM.from_pretrained('sft')\n"
          "trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=policy,\n"
          "                     reward_model=rm, train_dataset=ds)\n")


def mixed_tree(root: Path) -> Path:
    """More candidates than PARALLEL_THRESHOLD, plus clean files, bad files and real fixtures."""
    for index in range(scan.PARALLEL_THRESHOLD + 6):
        directory = root / f"group{index % 4}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"train_{index:02}.py").write_text(BROKEN.replace("'sft'", f"'sft-{index}'"))
        (directory / f"util_{index:02}.py").write_text("import os\n\nprint(os.getcwd())\n")
    (root / "broken_syntax.py").write_text("import trl\ndef f(:\n")
    (root / "nul.py").write_bytes(b"import trl\x00")
    fixtures = root / "fixtures"
    for source in sorted(FIXTURES.rglob("*.py"))[:40]:
        target = fixtures / source.relative_to(FIXTURES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    return root


def test_the_pool_gives_exactly_what_the_serial_path_gives(tmp_path):
    root = mixed_tree(tmp_path)
    settings = Settings()
    serial = api.check_paths([root], settings, jobs=1)
    pooled = api.check_paths([root], settings, jobs=2)
    assert serial == pooled  # frozen dataclasses all the way down: diagnostics, setups, sources, targets
    paths = [report.path for report in serial.files]
    assert paths == sorted(paths) and len(paths) == len(set(paths))
    assert sum(1 for report in serial.files if report.diagnostics) >= scan.PARALLEL_THRESHOLD
    assert {Path(report.path).name for report in serial.errors} == {"broken_syntax.py", "nul.py"}


def test_the_pool_is_used_for_many_candidates(tmp_path, monkeypatch):
    """A guard for the test above: it must really exercise the pool, not the serial path twice."""
    root = mixed_tree(tmp_path)
    used = []
    real = scan._in_pool

    def spy(work, settings, workers):
        used.append((len(work), workers))
        return real(work, settings, workers)

    monkeypatch.setattr(scan, "_in_pool", spy)  # observes only; the real pool runs
    api.check_paths([root], Settings(), jobs=2)
    api.check_paths([root], Settings(), jobs=1)
    assert len(used) == 1 and used[0][0] > scan.PARALLEL_THRESHOLD and used[0][1] == 2


def test_progress_is_told_the_total_and_advanced_once_per_file(tmp_path):
    root = mixed_tree(tmp_path)
    calls = {"total": None, "advanced": 0}

    def progress(total):
        calls["total"] = total

        def advance():
            calls["advanced"] += 1
        return advance

    report = api.check_paths([root], Settings(), progress=progress, jobs=2)
    assert calls["total"] == calls["advanced"] == len(report.files)


def test_a_given_target_is_used_for_every_file(tmp_path):
    root = mixed_tree(tmp_path)
    target = Target.of("0.12.2")
    report = api.check_paths([root], Settings(), target=target, jobs=2)
    assert {file.target for file in report.files if file.error is None} == {target}


HEAVY = ("torch", "transformers", "trl", "libcst.codemod", "libcst.matchers")


def imported_by(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "ppodoctor", "check", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, 1, 2) and "Traceback" not in result.stderr, result.stderr[-2000:]
    return {match.strip() for match in re.findall(r"^import time:\s+\d+ \|\s+\d+ \|(.*)$", result.stderr,
                                                   re.MULTILINE)}


@pytest.mark.parametrize("what", ["one-fixture", "directory-with-pool"])
def test_check_imports_neither_the_ml_stack_nor_heavy_libcst_modules(tmp_path, what):
    if what == "one-fixture":
        modules = imported_by(str(sorted(FIXTURES.rglob("*.py"))[0]))
    else:
        modules = imported_by(str(mixed_tree(tmp_path)))
    assert "libcst" in modules and "ppodoctor.api" in modules  # the measurement works
    heavy = sorted(name for name in modules if name in HEAVY or name.startswith(tuple(h + "." for h in HEAVY)))
    assert heavy == []


def test_a_script_without_ppo_does_not_even_import_libcst(tmp_path):
    script = tmp_path / "utils.py"
    script.write_text("import os\n")
    assert "libcst" not in imported_by("--trl-version", "1.12.0", str(script))


def test_text_with_a_coding_cookie_is_not_decoded_twice():
    text = "# -*- coding: latin-1 -*-\nname = 'été'; " + BROKEN
    from_text = api.check_source(text, "x.py", target=Target.of("1.12.0"))
    from_bytes = api.check_source(text.encode("latin-1"), "x.py", target=Target.of("1.12.0"))
    assert from_text.source.text == from_bytes.source.text == text
    assert from_text.diagnostics == from_bytes.diagnostics and len(from_text.diagnostics) == 2


def count_forks(monkeypatch) -> list[int]:
    """The pids of the children os.fork makes from now on (it still forks for real)."""
    children: list[int] = []
    real_fork = os.fork

    def counting_fork():
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", counting_fork)
    return children


@pytest.mark.skipif(not scan._can_fork(), reason="screening is shared with forked children on Linux only")
@pytest.mark.parametrize("jobs", [2, 3])
def test_forked_screening_gives_exactly_what_screening_here_gives(tmp_path, monkeypatch, jobs):
    root = mixed_tree(tmp_path)
    (root / "sft.py").write_text("from trl import SFTTrainer\ntrainer = SFTTrainer(model=m)\n")  # Python rules it out
    (root / "latin.py").write_bytes(b"import trl\nname = '\xe9t\xe9'\n")  # invalid UTF-8
    serial = api.check_paths([root], Settings(), jobs=1)
    forks = count_forks(monkeypatch)
    monkeypatch.setattr(scan, "SCREEN_PARALLEL_FILES", 0)
    shared = api.check_paths([root], Settings(), jobs=jobs, target=None)
    assert len(forks) >= jobs - 1  # screening children (the check pool may fork more)
    assert shared == serial
    assert {Path(report.path).name for report in serial.errors} == {"broken_syntax.py", "nul.py", "latin.py"}
    sft = next(report for report in serial.files if report.path.endswith("sft.py"))
    assert sft.source is not None and sft.diagnostics == ()


@pytest.mark.skipif(not scan._can_fork(), reason="screening is shared with forked children on Linux only")
def test_a_child_that_fails_has_its_share_screened_here(tmp_path, monkeypatch):
    root = mixed_tree(tmp_path)
    readable = [(index, str(path)) for index, path in enumerate(sorted(root.rglob("*.py")))]
    parent = os.getpid()
    real_screen = scan.screen_file

    def screen_failing_in_children(name, named=False):
        if os.getpid() != parent:
            raise RuntimeError("a bug in a child")
        return real_screen(name, named)

    monkeypatch.setattr(scan, "screen_file", screen_failing_in_children)
    screened = scan._screen_forked(readable, 3)
    assert sorted(screened, key=lambda item: item[0]) == [(index, real_screen(name)) for index, name in readable]


@pytest.mark.skipif(not scan._can_fork(), reason="screening is shared with forked children on Linux only")
def test_an_interrupted_screening_leaves_no_child_running(tmp_path, monkeypatch):
    root = mixed_tree(tmp_path)
    readable = [(index, str(path)) for index, path in enumerate(sorted(root.rglob("*.py")))]
    parent, children = os.getpid(), count_forks(monkeypatch)

    def screen(name, named=False):
        if os.getpid() != parent:
            time.sleep(60)  # a child that would outlive the scan if nobody stopped it
        raise KeyboardInterrupt

    monkeypatch.setattr(scan, "screen_file", screen)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        scan._screen_forked(readable, 3)
    assert time.monotonic() - started < 10 and len(children) == 2
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # already reaped: killed and waited for


@pytest.mark.skipif(not scan._can_fork(), reason="screening is shared with forked children on Linux only")
def test_a_share_that_cannot_be_forked_is_screened_here(tmp_path, monkeypatch):
    root = mixed_tree(tmp_path)
    readable = [(index, str(path)) for index, path in enumerate(sorted(root.rglob("*.py")))]
    real_fork, forks = os.fork, []

    def fork_once():
        if forks:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        forks.append(real_fork())
        return forks[-1]

    monkeypatch.setattr(os, "fork", fork_once)
    screened = scan._screen_forked(readable, 3)
    assert len(forks) == 1  # one child, and one share taken back here
    assert sorted(screened, key=lambda item: item[0]) == [(index, scan.screen_file(name)) for index, name in readable]


@pytest.mark.parametrize("failure", ["raises", "dies", "raises-here-too"])
def test_a_check_that_fails_in_a_worker_is_run_here(tmp_path, monkeypatch, failure):
    """A worker that raises, or dies (out of memory, killed), does not lose its file: the file is
    checked here, so the report, or the error, is what the serial path gives."""
    root = mixed_tree(tmp_path)
    serial = api.check_paths([root], Settings(), jobs=1)
    parent, real, children = os.getpid(), scan._check_one, count_forks(monkeypatch)

    def check_one(item, settings):
        if item[1].name.endswith(("train_03.py", "train_07.py")) and (os.getpid() != parent or failure == "raises-here-too"):
            if failure == "dies":
                os._exit(1)
            raise RuntimeError("a bug")
        return real(item, settings)

    monkeypatch.setattr(scan, "_check_one", check_one)
    if failure == "raises-here-too":
        with pytest.raises(RuntimeError, match="a bug"):
            api.check_paths([root], Settings(), jobs=2)
    else:
        assert api.check_paths([root], Settings(), jobs=2) == serial
    assert len(children) == 2
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # every worker reaped


def test_a_check_interrupted_between_results_kills_the_busy_workers(tmp_path, monkeypatch):
    """Ctrl-C in the caller's code (a progress bar, a notebook, the language server) between two
    results: the workers are killed then and there, mid-file, not when the generator is collected.
    Each worker answers its first file and then sits on the next, deaf to SIGTERM."""
    root = mixed_tree(tmp_path)
    parent, real, children, taken = os.getpid(), scan._check_one, count_forks(monkeypatch), []

    def check_one(item, settings):
        if os.getpid() != parent:
            taken.append(item)  # this worker's own copy of the list
            if len(taken) > 1:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                time.sleep(60)
        return real(item, settings)

    def progress(total):
        def advance():
            if children:  # the workers have started: this is a result
                raise KeyboardInterrupt
        return advance

    monkeypatch.setattr(scan, "_check_one", check_one)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        api.check_paths([root], Settings(), progress=progress, jobs=2)
    assert time.monotonic() - started < 5 and len(children) == 2
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # killed and reaped before check_paths returned


def _square(state, item):
    return item * item + state


@pytest.mark.skipif(not scan._can_fork(), reason="forked workers on Linux only")
@pytest.mark.parametrize("can_start", [0, 1])
def test_workers_that_cannot_start_leave_their_share_to_the_others(monkeypatch, can_start):
    """Out of processes or memory: the workers that started (or this process) take every item."""
    import multiprocessing

    from ppodoctor.workers import run_unordered

    context = multiprocessing.get_context("fork")
    real_start, started = context.Process.start, []

    def start(process):
        if len(started) == can_start:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        started.append(process)
        real_start(process)

    monkeypatch.setattr(context.Process, "start", start)
    assert sorted(run_unordered(_square, 1, list(range(40)), 3, context)) == [i * i + 1 for i in range(40)]
    assert len(started) == can_start and all(process.exitcode == 0 for process in started)
