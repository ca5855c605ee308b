"""The gate of `migrate --write`: each new trainer call checked in the interpreter that will run it.

The ported text's calls (calls.py) go to the probe's worker (probe/worker.py, task "successor", whose
checks live in probe/worker_successor.py) in one run for all files: the same launch, limits and offline
environment as the PPO probe (probe/runner.py). A call is CONFIRMED when every check passed, REFUTED
when one failed (the ported script would fail there too), UNCHECKED otherwise; only files whose calls
are all confirmed are written.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..probe.runner import WORKER, ProbeOptions, _last_json_line, _no_core_dumps, coerce_options, worker_environment
from ..setup.model import to_json_dict
from .calls import successor_calls
from .model import FileMigration

CONFIRMED, REFUTED, UNCHECKED = "confirmed", "refuted", "unchecked"


@dataclass(frozen=True)
class ProbeCheck:
    """The probe's word on one new trainer call: a verdict and each check behind it."""

    status: str
    detail: str
    checks: tuple[tuple[str, str, str], ...] = ()  # (name, pass/fail/unchecked, error or reason)


def verdict(answer: dict) -> ProbeCheck:
    checks = tuple((name, result["status"], result.get("error") or result.get("reason") or "")
                   for name, result in answer.get("checks", ()))
    failed = [c for c in checks if c[1] == "fail"]
    if failed:
        return ProbeCheck(REFUTED, "; ".join(f"{name}: {why}" for name, _s, why in failed), checks)
    open_ = [c for c in checks if c[1] != "pass"]
    if open_:
        return ProbeCheck(UNCHECKED, "; ".join(f"{name}: {why}" for name, _s, why in open_), checks)
    return ProbeCheck(CONFIRMED, "import, signature, config and models check out", checks)


def _script_dir(path: str) -> str:
    candidate = Path(path)
    return str(candidate.resolve().parent) if path and candidate.exists() else str(Path.cwd())


def run(files: Sequence[tuple[str, Sequence]], options: ProbeOptions) -> dict:
    request = {
        "task": "successor",
        "files": [{"script_dir": directory, "calls": [to_json_dict(call) for call in calls]}
                  for directory, calls in files],
        "cwd": options.cwd or os.getcwd(),
        "model_paths": {name: str(Path(d).expanduser().resolve()) for name, d in options.model_paths},
        "online": options.online,
        "trust_remote_code": options.trust_remote_code,
        "memory_bytes": options.memory_bytes,
    }
    try:
        process = subprocess.Popen([options.python, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=worker_environment(options), text=True,
                                   cwd=options.cwd or None, start_new_session=True, preexec_fn=_no_core_dumps)
    except OSError as error:
        return {"ok": False, "error": f"cannot start {options.python}: {error.strerror or error}"}
    try:
        stdout, stderr = process.communicate(json.dumps(request), timeout=options.timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the worker's own session: nothing else is in it
        process.communicate()
        return {"ok": False, "error": f"the probe did not finish within {options.timeout_s:g} s"}
    answer = _last_json_line(stdout)
    if answer is None:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "error": f"the probe crashed in {options.python}: {tail}"}
    return answer


def probe_migrations(migrations: Sequence[FileMigration], options: Any = None) -> tuple[FileMigration, ...]:
    """Each migration with `probe` (one ProbeCheck per new call) or `probe_reason` filled in."""
    options = coerce_options(options) if options is not None else ProbeOptions()
    calls = [successor_calls(m.text) for m in migrations]
    answer = run([(_script_dir(m.path), found) for m, found in zip(migrations, calls)], options)
    if not answer.get("ok"):
        reason = answer.get("error") or "the probe gave no answer"
        return tuple(dataclasses.replace(m, probe_reason=reason) for m in migrations)
    results = answer.get("files") or []
    out = []
    for migration, found, answers in zip(migrations, calls, results):
        if len(answers) != len(found):
            out.append(dataclasses.replace(migration, probe_reason="the probe answered for other calls"))
            continue
        out.append(dataclasses.replace(migration, probe=tuple(verdict(a) for a in answers)))
    return tuple(out)
