"""The warm probe worker (probe/warm.py, probe/worker_server.py): reused, restarted, bounded, and a
dead or hung one is an "unchecked" verdict within the time limit, never a hang.

The reuse and restart tests run the real worker in the real interpreters (trl 1.12 in .venv, 0.12.2
in .venv-trl012); the bounds run the real worker in an interpreter without site-packages (no torch:
its answers are errors, quickly); death and hanging are fake interpreters that speak the protocol.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from ppodoctor import api, core
from ppodoctor.pipeline.verdicts import annotate
from ppodoctor.probe import ProbeOptions, probe_files
from ppodoctor.probe.probe_checks import Built
from ppodoctor.probe.runner import worker_environment
from ppodoctor.probe.warm import Limits, ProbeFailed, WorkerPool
from ppodoctor.types import CONFIRMED, UNCHECKED
from probe_helpers import new_script, trl012_python

BROKEN = new_script(value=None)  # no value model: PPD101
FIXED = new_script()  # a separate single-logit value model


def _report(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return core.check_file(path)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _comparable(result) -> dict:
    found = result.to_dict()
    for volatile in ("wall_s", "peak_rss_bytes"):
        found.pop(volatile)
    return found


def test_one_warm_worker_answers_every_request_each_in_a_fresh_child(tmp_path):
    broken, fixed = _report(tmp_path, "broken.py", BROKEN), _report(tmp_path, "fixed.py", FIXED)
    pool = WorkerPool()
    try:
        with pool.active():
            (first,) = probe_files([broken.setup], ProbeOptions())
            started = time.monotonic()
            (second,) = probe_files([fixed.setup], ProbeOptions())
            warm_seconds = time.monotonic() - started
            (again,) = probe_files([broken.setup], ProbeOptions())
        assert first.ok and second.ok and again.ok, (first.reason, second.reason, again.reason)
        assert first.worker_pid == second.worker_pid == again.worker_pid and pool.started == 1
        assert (first.warm, second.warm, again.warm) == (False, True, True)
        assert warm_seconds < 5, warm_seconds  # no imports: a cold one pays several seconds here
        # Each request sees its own file: no value model, then one built, then none again.
        assert first.setup_facts(0).model("value").status is Built.ABSENT
        assert second.setup_facts(0).model("value").built
        assert {d.code: d.probe for d in annotate(broken.diagnostics, again)} == {"PPD101": CONFIRMED}
        # ... and the same facts a worker started for the one request finds (outside any pool).
        (alone,) = probe_files([broken.setup], ProbeOptions())
        assert alone.worker_pid != first.worker_pid and _comparable(alone) == _comparable(again)
    finally:
        pool.close()
    assert _gone(first.worker_pid)


def test_a_changed_installation_or_another_interpreter_gets_a_worker_of_its_own(tmp_path, monkeypatch):
    # A site-packages directory put on the interpreter's sys.path: installing a package there (a new
    # dist-info) changes what the worker may import. A file saved in another directory on it does not.
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True)
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join((str(project), str(site))))
    broken = _report(tmp_path, "broken.py", BROKEN)
    pool = WorkerPool()
    try:
        with pool.active():
            (first,) = probe_files([broken.setup], ProbeOptions())
            (project / "notes.py").write_text("# saved\n")
            (again,) = probe_files([broken.setup], ProbeOptions())
            assert again.worker_pid == first.worker_pid and again.warm
            (site / "newpkg-1.0.dist-info").mkdir()
            (second,) = probe_files([broken.setup], ProbeOptions())
            (third,) = probe_files([broken.setup], ProbeOptions())
            assert first.ok and second.ok and third.ok
            assert first.worker_pid != second.worker_pid == third.worker_pid and not second.warm and third.warm
            assert _gone(first.worker_pid)  # the stale worker was stopped, not left behind
            old = trl012_python()
            if old is None:
                pytest.skip("no trl 0.12 interpreter")
            (other,) = probe_files([broken.setup], ProbeOptions(python=old))
            assert other.versions and dict(other.versions)["trl"] == "0.12.2"
            assert other.worker_pid not in (second.worker_pid, 0) and len(pool.workers) == 2
            assert pool.started == 3
    finally:
        pool.close()


def test_fix_write_on_several_files_starts_one_worker(tmp_path):
    """Every file of one `fix --write` run, every round of its gate, asks the one worker, which it
    starts as soon as the first file has a fix to confirm."""
    from ppodoctor.pipeline.fix import fix_paths

    paths = []
    for index in range(3):
        paths.append(tmp_path / f"train_{index}.py")
        paths[-1].write_text(new_script(value=None, config=f"PPOConfig(output_dir='out{index}', use_cpu=True)"))
    pool = WorkerPool()
    try:
        with pool.active():  # fix's own session joins the pool it finds: this one, to be counted
            report = fix_paths(paths, write=True)
    finally:
        pool.close()
    outcomes = [outcome for result in report.files for outcome in result.outcomes]
    assert [(o.diagnostic.code, o.fixed, o.verdict.status) for o in outcomes] == [("PPD101", True, CONFIRMED)] * 3
    assert all("value_model=" in path.read_text() for path in paths) and pool.started == 1


@pytest.fixture
def bare_python(tmp_path) -> str:
    """This interpreter without site-packages: the real worker, answering fast (no torch to import)."""
    bare = tmp_path / "bare-python"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(0o755)
    return str(bare)


def _ask(pool: WorkerPool, python: str) -> dict:
    answer = pool.ask(python, worker_environment(ProbeOptions()), None, {"files": []}, 60)
    assert "No module named" in answer["error"], answer  # a real answer of the real worker
    return answer["_worker"]


def test_the_worker_retires_after_its_requests_and_past_its_memory_and_leaves_when_idle(bare_python):
    pool = WorkerPool(Limits(idle_s=3, max_requests=2))
    try:
        first, second, third = (_ask(pool, bare_python) for _ in range(3))
        assert first["pid"] == second["pid"] != third["pid"] and second["warm"] and not third["warm"]
        assert _gone(first["pid"])
        (worker,) = pool.workers.values()
        deadline = time.monotonic() + 20
        while worker.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert worker.process.poll() == 0  # it left by itself, idle
        fourth = _ask(pool, bare_python)
        assert fourth["pid"] != third["pid"] and not fourth["warm"] and pool.started == 3
    finally:
        pool.close()
    pool = WorkerPool(Limits(rss_limit=1))  # every answer finds it over its memory bound
    try:
        assert len({_ask(pool, bare_python)["pid"] for _ in range(2)}) == 2
    finally:
        pool.close()


def test_a_worker_started_ahead_answers_the_first_request(bare_python):
    pool = WorkerPool()
    try:
        pool.start(bare_python, worker_environment(ProbeOptions()), None)
        (ahead,) = pool.workers.values()
        first = _ask(pool, bare_python)
        assert first["pid"] == ahead.pid and not first["warm"] and pool.started == 1
    finally:
        pool.close()


def test_a_request_that_hangs_is_killed_by_the_worker_which_stays_warm(bare_python, tmp_path, monkeypatch):
    # The request's import check imports a module of the user's that never finishes importing.
    (tmp_path / "hangs_on_import.py").write_text("import time\ntime.sleep(600)\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    pool = WorkerPool()
    try:
        before = _ask(pool, bare_python)
        request = {"files": [{"imports": [{"module": "hangs_on_import", "name": ""}], "setups": []}]}
        started = time.monotonic()
        with pytest.raises(ProbeFailed, match="the probe worker did not finish within 2.7 s"):
            pool.ask(bare_python, worker_environment(ProbeOptions()), None, request, 3)
        assert time.monotonic() - started < 10
        after = _ask(pool, bare_python)
        assert after["pid"] == before["pid"] and after["warm"] and pool.started == 1
    finally:
        pool.close()


def _fake_worker(tmp_path: Path, after_request: str) -> str:
    """An interpreter whose worker says hello, then does `after_request` with the first request."""
    fake = tmp_path / "fake-python"
    fake.write_text(f"#!{sys.executable}\nimport json, os, sys, time\n"
                    f"print(json.dumps({{'hello': True, 'pid': os.getpid(), 'watch': []}}), flush=True)\n"
                    f"open({str(tmp_path / 'pid')!r}, 'w').write(str(os.getpid()))\n"
                    "sys.stdin.readline()\n"
                    f"{after_request}\n")
    fake.chmod(0o755)
    return str(fake)


@pytest.mark.parametrize("after_request, reason", [
    ("sys.stderr.write('out of luck\\n'); os._exit(3)",
     "the probe worker died in {python}: exit status 3 (out of luck)"),
    ("time.sleep(600)", "the probe worker did not finish within 3 s"),
])
def test_a_worker_that_dies_or_hangs_mid_request_gives_unchecked_verdicts_in_time(tmp_path, after_request, reason):
    broken = _report(tmp_path, "broken.py", BROKEN)
    python = _fake_worker(tmp_path, after_request)
    pool = WorkerPool()
    started = time.monotonic()
    try:
        with pool.active():
            (result,) = probe_files([broken.setup], ProbeOptions(python=python, timeout_s=3))
    finally:
        pool.close()
    assert time.monotonic() - started < 15
    assert not result.ok and result.reason == reason.format(python=python)
    assert {d.probe for d in annotate(broken.diagnostics, result)} == {UNCHECKED}
    assert _gone(int((tmp_path / "pid").read_text())) and not pool.workers


def test_the_protocol_is_one_json_line_each_way(bare_python):
    """What the worker says first: its pid and what to watch (the interpreter and its sys.path)."""
    import subprocess

    process = subprocess.run([bare_python, str(Path(api.__file__).parent / "probe" / "worker_server.py"),
                              json.dumps({"idle_s": 5})], input='{"id": 7, "request": {"files": []}}\n',
                             capture_output=True, text=True, timeout=60)
    hello, reply = map(json.loads, process.stdout.splitlines())
    assert hello["hello"] and sys.executable in hello["watch"] and hello["pid"] == reply["pid"]
    assert reply["id"] == 7 and reply["served"] == 1 and not reply["answer"]["ok"] and not reply["retire"]


def test_closing_the_pool_does_not_wait_for_a_request_under_way(tmp_path):
    """The language server closes its pool at shutdown, perhaps while a probe hangs in a thread."""
    import threading

    python = _fake_worker(tmp_path, "time.sleep(600)")
    pool = WorkerPool()
    failures = []

    def asking() -> None:
        try:
            pool.ask(python, worker_environment(ProbeOptions()), None, {"files": []}, 300)
        except ProbeFailed as error:
            failures.append(str(error))

    thread = threading.Thread(target=asking)
    thread.start()
    while not (tmp_path / "pid").exists() or not (tmp_path / "pid").read_text():
        time.sleep(0.05)
    started = time.monotonic()
    pool.close()
    thread.join(10)
    assert time.monotonic() - started < 10 and not thread.is_alive()
    assert failures and failures[0].startswith("the probe worker died") and not pool.workers
    assert _gone(int((tmp_path / "pid").read_text()))
