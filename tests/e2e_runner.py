"""Runs training scripts as `python script.py` would, in forked children of one interpreter.

Started as `python tests/e2e_runner.py < jobs.json` by the interpreter under test (a venv's python).
It imports torch, transformers, datasets and trl once, then forks a child per script: the child is
its own process with the script as `__main__`, its directory as the working directory, its stdout
and stderr in files, and a time limit; nothing it does reaches the parent or the next script. The
parent only imports, so the children inherit no model, thread pool or accelerator state. It answers
one JSON line: per script, the exit status and the tail of its stderr.

Jobs: [{"script": path, "timeout": seconds}], run two at a time (the machine has two cores).
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import traceback

PARALLEL = 2


def _warm() -> None:
    import warnings

    warnings.simplefilter("ignore")
    import datasets  # noqa: F401
    import torch
    import transformers  # noqa: F401
    import trl  # noqa: F401

    torch.set_num_threads(1)
    try:
        import trl.experimental.ppo  # noqa: F401
    except ImportError:
        pass  # a TRL without PPO: the scripts' own imports say so


def _child(script: str, timeout: int) -> None:
    directory = os.path.dirname(os.path.abspath(script))
    os.chdir(directory)
    out = os.open(script + ".stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(script + ".stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    sys.argv = [script]
    sys.path[0] = directory
    signal.alarm(timeout)
    code = 0
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - the script's own failure is the result
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> int:
    jobs = json.loads(sys.stdin.read())
    _warm()
    results: dict[str, dict] = {}
    running: dict[int, str] = {}
    pending = list(jobs)
    while pending or running:
        while pending and len(running) < PARALLEL:
            job = pending.pop(0)
            pid = os.fork()
            if pid == 0:
                _child(job["script"], int(job.get("timeout", 300)))
            running[pid] = job["script"]
        pid, status = os.wait()
        script = running.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        with open(script + ".stderr", encoding="utf-8", errors="replace") as handle:
            stderr = handle.read()
        results[script] = {"returncode": code, "stderr": stderr[-6000:]}
    sys.stdout.write(json.dumps(results) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
