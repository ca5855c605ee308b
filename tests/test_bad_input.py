"""Bad input through the real CLI: one line naming the file and the cause, exit 2, no traceback, and
every other file still checked. Valid-but-unusual input (BOM, CRLF, tabs, a latin-1 cookie, an empty
file) is checked normally, with findings at the right line and column."""

from __future__ import annotations

import codecs
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ppodoctor import api, files, scan
from ppodoctor.config import Settings

BROKEN = ("from trl.experimental.ppo import PPOTrainer\n"
          "from transformers import AutoModelForCausalLM\n"
          "policy = AutoModelForCausalLM.from_pretrained('sft')\n"
          "trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=policy,\n"
          "                     reward_model=rm, train_dataset=ds)\n")
GOOD_NAME = "zz_still_checked.py"


def check(*args: str, cwd: Path | None = None, timeout: float = 60, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--output-format", "concise",
                           "--trl-version", "1.12.0", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd, **popen)


def findings(result: subprocess.CompletedProcess, path: Path) -> list[tuple[int, int, str]]:
    found = re.findall(rf"^{re.escape(str(path))}:(\d+):(\d+): (PPD\d+)", result.stdout, re.MULTILINE)
    return [(int(line), int(column), code) for line, column, code in found]


def error_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if ": error: " in line]


def assert_one_error(result: subprocess.CompletedProcess, path: Path, cause: str) -> None:
    """Exit 2, exactly one error line, for `path`, containing `cause`; no traceback anywhere."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith(f"{path}: error: ") and cause in lines[0], lines


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / GOOD_NAME
    path.write_text(BROKEN)
    return path


def assert_good_still_checked(result: subprocess.CompletedProcess, good: Path) -> None:
    assert [code for _, _, code in findings(result, good)] == ["PPD101", "PPD106"], result.stdout


# --- each bad input, with a good file beside it that must still be checked ------------------------
BAD_BYTES = {
    "syntax_error.py": (b"from trl import PPOTrainer\ndef broken(:\n    pass\n", "syntax error at 2:12: invalid syntax"),
    "nul_bytes.py": (b"from trl import PPOTrainer\x00\n", "file contains NUL bytes"),
    "invalid_utf8.py": (b"from trl import PPOTrainer\nname = '\xff\xfe'\n", "invalid utf-8 at byte 35"),
    "unknown_encoding.py": (b"# -*- coding: klingon -*-\nfrom trl import PPOTrainer\n", "unknown encoding"),
    "wrong_for_cookie.py": (b"# coding: ascii\nfrom trl import PPOTrainer\nname = '\xe9'\n",
                            "invalid ascii at byte 51"),
    "bom_and_cookie_disagree.py": (codecs.BOM_UTF8 + b"# coding: latin-1\nimport trl\n", "encoding problem"),
}


@pytest.mark.parametrize("name", sorted(BAD_BYTES))
def test_bad_bytes_are_one_line_errors_and_the_rest_is_checked(tmp_path, good, name):
    data, cause = BAD_BYTES[name]
    bad = tmp_path / name
    bad.write_bytes(data)
    result = check(bad, good)
    assert_one_error(result, bad, cause)
    assert_good_still_checked(result, good)


def test_all_bad_inputs_in_one_directory_scan(tmp_path):
    for name, (data, _cause) in BAD_BYTES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / GOOD_NAME).write_text(BROKEN)
    (tmp_path / "loop_a.py").symlink_to(tmp_path / "loop_b.py")
    (tmp_path / "loop_b.py").symlink_to(tmp_path / "loop_a.py")
    result = check(tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    causes = dict(line.split(": error: ", 1) for line in error_lines(result))
    expected = {str(tmp_path / name): cause for name, (_data, cause) in BAD_BYTES.items()}
    expected.update({str(tmp_path / "loop_a.py"): "symbolic link loop", str(tmp_path / "loop_b.py"): "loop"})
    assert set(causes) == set(expected), causes
    for path, cause in expected.items():
        assert cause in causes[path], (path, causes[path])
    assert_good_still_checked(result, tmp_path / GOOD_NAME)


def test_missing_path(tmp_path, good):
    missing = tmp_path / "not_there.py"
    result = check(missing, good)
    assert_one_error(result, missing, "no such file or directory")
    assert_good_still_checked(result, good)


def test_symlink_loop_named_explicitly(tmp_path, good):
    loop = tmp_path / "loop.py"
    loop.symlink_to(tmp_path / "loop.py")
    result = check(loop, good)
    assert_one_error(result, loop, "symbolic link loop")
    assert_good_still_checked(result, good)


def test_symlinked_directory_loop_is_not_followed(tmp_path, good):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path)
    result = check(tmp_path, timeout=30)
    assert result.returncode == 1 and error_lines(result) == [], result.stdout
    assert_good_still_checked(result, good)


def test_too_large_file_is_refused_quickly(tmp_path, good):
    big = tmp_path / "generated.py"
    big.write_bytes(b"from trl import PPOTrainer\n" + b"x = 1\n" * (20 * 1024 * 1024 // 6))
    start = time.monotonic()
    result = check(big, good)
    assert time.monotonic() - start < 30
    assert_one_error(result, big, "too large to check (20.0 MB > 10 MB)")
    assert_good_still_checked(result, good)


def test_fifo_named_like_a_script_does_not_hang(tmp_path, good):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    result = check(tmp_path, timeout=30)  # discovered by the walk, and named explicitly below
    assert_one_error(result, fifo, "not a regular file")
    assert_one_error(check(fifo, good, timeout=30), fifo, "not a regular file")
    assert_good_still_checked(result, good)


def test_directory_named_like_a_script_is_walked(tmp_path):
    """`x.py/` is a directory: it is walked like any other, and the script inside it is checked."""
    directory = tmp_path / "x.py"
    directory.mkdir()
    (directory / "train.py").write_text(BROKEN)
    result = check(directory)
    assert result.returncode == 1 and error_lines(result) == [], result.stdout + result.stderr
    assert [code for _, _, code in findings(result, directory / "train.py")] == ["PPD101", "PPD106"]
    (directory / "train.py").unlink()
    empty = check(directory)
    assert empty.returncode == 0 and error_lines(empty) == [], empty.stdout


def test_a_path_that_became_a_directory_is_an_error(tmp_path):
    """Read after discovery: a directory where a file was is reported, not crashed on."""
    directory = tmp_path / "x.py"
    directory.mkdir()
    with pytest.raises(files.SourceError, match="^is a directory$"):
        files.read_bytes(directory)


def _drop_file_access() -> None:
    """preexec_fn: as root, give up the capabilities that let root read any file (for this child and
    what it executes), so that file permissions apply to it as to anyone else."""
    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for capability in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, capability, 0, 0, 0) != 0:
            os._exit(97)


def test_unreadable_file(tmp_path, good):
    bad = tmp_path / "secret.py"
    bad.write_text(BROKEN)
    bad.chmod(0)
    popen = {}
    if os.geteuid() == 0:
        probe = subprocess.run([sys.executable, "-c", f"open({str(bad)!r}).read()"], capture_output=True,
                               preexec_fn=_drop_file_access)
        if b"PermissionError" not in probe.stderr:
            pytest.skip(f"running as root and cannot give up CAP_DAC_OVERRIDE here (rc {probe.returncode})")
        popen["preexec_fn"] = _drop_file_access
    result = check(bad, good, **popen)
    assert_one_error(result, bad, "permission denied")
    assert_good_still_checked(result, good)


def test_file_deleted_between_discovery_and_reading(tmp_path):
    """The race, made deterministic: progress(total) is called after discovery, before any read."""
    names = [f"script_{index}.py" for index in range(5)]
    for name in names:
        (tmp_path / name).write_text(BROKEN)

    def delete_one(total: int):
        assert total == 5
        (tmp_path / "script_2.py").unlink()
        return None

    report = api.check_paths([tmp_path], Settings(), progress=delete_one)
    by_name = {Path(file.path).name: file for file in report.files}
    assert sorted(by_name) == names
    assert by_name["script_2.py"].error == "no such file or directory"
    assert all(by_name[name].error is None and len(by_name[name].diagnostics) == 2
               for name in names if name != "script_2.py")
    assert report.exit_code == 2


def test_files_deleted_while_the_cli_scans(tmp_path):
    """The same race through the CLI, undeterministically: whatever vanishes is one line each."""
    tree = tmp_path / "tree"
    for index in range(400):
        directory = tree / f"d{index % 20}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"s{index}.py").write_text(BROKEN if index % 4 == 0 else "import os\n" * 200)
    process = subprocess.Popen([sys.executable, "-m", "ppodoctor", "check", "--output-format", "concise",
                                "--trl-version", "1.12.0", str(tree)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    for index in range(0, 400, 3):
        (tree / f"d{index % 20}" / f"s{index}.py").unlink()
    out, err = process.communicate(timeout=120)
    assert "Traceback" not in err and process.returncode in (0, 1, 2), err
    for line in error_lines(subprocess.CompletedProcess([], 0, out, err)):
        assert line.endswith(": error: no such file or directory"), line


# --- valid but unusual input -------------------------------------------------------------------------
def test_empty_file_is_valid(tmp_path):
    empty = tmp_path / "__init__.py"
    empty.write_bytes(b"")
    result = check(empty)
    assert result.returncode == 0 and "All checks passed!" in result.stdout and not error_lines(result)


@pytest.mark.parametrize("variant", ["bom", "crlf", "bom_crlf", "latin1_cookie", "cr_only"])
def test_unusual_but_valid_encodings_report_the_same_positions(tmp_path, variant):
    plain = tmp_path / "plain.py"
    plain.write_text(BROKEN)
    text = BROKEN
    if variant == "latin1_cookie":
        data = ("# -*- coding: latin-1 -*-\n" + text.replace("'sft'", "'sft-é'")).encode("latin-1")
    else:
        newline = {"crlf": "\r\n", "bom_crlf": "\r\n", "cr_only": "\r"}.get(variant, "\n")
        data = text.replace("\n", newline).encode("utf-8")
        if variant.startswith("bom"):
            data = codecs.BOM_UTF8 + data
    odd = tmp_path / f"{variant}.py"
    odd.write_bytes(data)
    result = check(plain, odd)
    assert result.returncode == 1 and not error_lines(result), result.stdout + result.stderr
    shift = 1 if variant == "latin1_cookie" else 0  # the cookie is one line more
    expected = [(line + shift, column, code) for line, column, code in findings(result, plain)]
    assert expected and findings(result, odd) == expected


def test_tabs_are_checked_with_character_columns(tmp_path):
    spaces = "def main():\n" + "".join("    " + line + "\n" for line in BROKEN.splitlines())
    tabs = spaces.replace("    ", "\t")
    (tmp_path / "spaces.py").write_text(spaces)
    (tmp_path / "tabs.py").write_text(tabs)
    result = check(tmp_path / "spaces.py", tmp_path / "tabs.py")
    with_spaces, with_tabs = findings(result, tmp_path / "spaces.py"), findings(result, tmp_path / "tabs.py")
    assert with_spaces and [code for *_, code in with_tabs] == [code for *_, code in with_spaces]
    # A tab is one character: every column on an indented line moves left by three.
    assert [(line, column + 3) for line, column, _ in with_tabs] == [(line, column) for line, column, _ in with_spaces]


def test_stdin_with_a_filename_for_editors(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--output-format", "concise",
                             "--trl-version", "1.12.0", "--stdin-filename", "src/train.py", "-"],
                            input=BROKEN, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    (tmp_path / "train.py").write_text(BROKEN)
    as_file = check(tmp_path / "train.py")
    assert findings(result, Path("src/train.py")) == findings(as_file, tmp_path / "train.py") != []
    bad = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--stdin-filename", "edit.py", "-"],
                         input=b"import trl\x00", capture_output=True, timeout=60)
    assert bad.returncode == 2 and b"edit.py: error: file contains NUL bytes" in bad.stdout + bad.stderr
    assert b"Traceback" not in bad.stderr


# --- Ctrl-C --------------------------------------------------------------------------------------------
def _children(pid: int) -> set[int]:
    try:
        return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _catches_sigint(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", status, re.MULTILINE).group(1), 16)
    return bool(caught >> (signal.SIGINT - 1) & 1)


# `ppodoctor` with slow workers, made here and not left to a busy machine: each file a worker process
# takes (a check in the pool, or screening in a forked child) leaves a mark named after its pid in
# BUSY, then takes a minute, deaf to SIGTERM as well as SIGINT (as a worker that inherited a host's
# graceful-shutdown handler, or sits in a long C call under one, would be). The parent is left as it
# is; three workers whatever the machine has. A test-only patch: ppodoctor has no hook for it.
SLOW_WORKERS = """
import faulthandler, os, signal, sys, time
from ppodoctor import cli, scan

busy, parent = sys.argv.pop(1), os.getpid()
faulthandler.register(signal.SIGUSR1)  # where the parent is stuck, should it ever be

def slow(real):
    def work(*args):
        if os.getpid() != parent:
            signal.signal(signal.SIGTERM, lambda *_: None)
            open(os.path.join(busy, str(os.getpid())), "w").close()
            time.sleep(60)
        return real(*args)
    return work

scan._check_one, scan.screen_file = slow(scan._check_one), slow(scan.screen_file)
scan.available_cpus = lambda: 3
sys.argv[0] = "ppodoctor"
cli.main()
"""
WORKERS = {"check-pool": 3, "forked-screening": 2}  # the parent screens a share itself
PROMPT_S = 2.0  # the bound, from the signal to the exit


def _slow_tree(root: Path, phase: str) -> Path:
    """Candidates enough for the check pool; or files enough to share screening with children."""
    pool = phase == "check-pool"
    for index in range(scan.PARALLEL_THRESHOLD + 20 if pool else scan.SCREEN_PARALLEL_FILES + 200):
        (root / f"pkg{index % 10}").mkdir(parents=True, exist_ok=True)
        (root / f"pkg{index % 10}" / f"train_{index}.py").write_text(BROKEN if pool else "import os\n")
    return root


def _snapshot(tree: Path) -> dict:
    return {path.relative_to(tree): path.read_bytes() if path.is_file() else None for path in tree.rglob("*")}


def _stuck(process: subprocess.Popen, workers: set[int]) -> str:
    alive, status = sorted(filter(_alive, workers)), process.poll()  # the parent may be gone, not they
    if status is None:
        process.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
    os.killpg(process.pid, signal.SIGKILL)
    return (f"not done 10 s after the signal; workers alive: {alive}; the parent's exit status: {status}; "
            "its stderr:\n" + process.communicate()[1][-3000:])


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc to watch the worker processes")
@pytest.mark.parametrize("phase", list(WORKERS))
@pytest.mark.parametrize("whole_group", [True, False], ids=["terminal-ctrl-c", "signal-to-main-only"])
def test_ctrl_c_exits_130_promptly_without_traceback_or_leftovers(tmp_path, whole_group, phase):
    """Ctrl-C while every worker is busy with a slow file: exit 130 within PROMPT_S, no worker left,
    no temporary file, the tree untouched. The workers are not waited for: they are killed."""
    tree = _slow_tree(tmp_path / "tree", phase)
    before = _snapshot(tree)
    scratch, busy, runner = tmp_path / "tmp", tmp_path / "busy", tmp_path / "slow_workers.py"
    scratch.mkdir()
    busy.mkdir()
    runner.write_text(SLOW_WORKERS)
    # SIGINT as a terminal's foreground job has it: a shell that starts a job in the background
    # (`pytest &` in a script) makes it ignore SIGINT, and ppodoctor, like Python, leaves it ignored.
    process = subprocess.Popen([sys.executable, str(runner), str(busy), "check", "--trl-version", "1.12.0",
                                str(tree)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, TMPDIR=str(scratch)), start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while len(list(busy.iterdir())) < WORKERS[phase] and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        working, workers = {int(mark.name) for mark in busy.iterdir()}, _children(process.pid)
        assert len(working) == WORKERS[phase] and working <= workers, (working, workers, process.poll())
        assert all(_alive(pid) for pid in working) and _catches_sigint(process.pid)
        interrupted = time.monotonic()
        if whole_group:
            os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        else:
            process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=10)  # at EOF: the workers hold the pipes too
        except subprocess.TimeoutExpired:
            pytest.fail(_stuck(process, workers))
        took = time.monotonic() - interrupted
        assert took < PROMPT_S, f"exited {took:.2f} s after the signal"
        assert process.returncode == 130, (process.returncode, err[-2000:])
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
        assert err.strip().endswith("ppodoctor: interrupted"), err[-500:]
        assert not any(_alive(pid) for pid in workers), "worker processes left running"
        assert list(scratch.iterdir()) == []
        assert _snapshot(tree) == before
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # a failed run's workers would sleep on
        except ProcessLookupError:
            pass
        process.wait()
