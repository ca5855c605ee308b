"""The gate of `migrate --write`: each new trainer call checked in the interpreter that will run it.

The ported text's calls (calls.py) go to the probe's worker (probe/worker.py, task "successor", whose
checks live in probe/worker_successor.py) in one run for all files: the same launch, limits and offline
environment as the PPO probe (probe/runner.py). A call is CONFIRMED when every check passed, REFUTED
when one failed (the ported script would fail there too), UNCHECKED otherwise; only files whose calls
are all confirmed are written.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

from ..probe.probe_checks import Status
from ..probe.runner import ProbeFailed, ProbeOptions, ask_worker, base_request, coerce_options
from ..setup.model import to_json_dict
from ..types import CONFIRMED, REFUTED, UNCHECKED, ProbeVerdict
from .calls import successor_calls
from .model import FileMigration


def verdict(answer: dict) -> ProbeVerdict:
    """The probe's word on one new trainer call: a verdict and each check behind it."""
    checks = tuple((name, Status(result["status"]), result.get("error") or result.get("reason") or "")
                   for name, result in answer.get("checks", ()))
    failed = [c for c in checks if c[1] is Status.FAIL]
    if failed:
        return ProbeVerdict(REFUTED, "; ".join(f"{name}: {why}" for name, _s, why in failed), checks=checks)
    open_ = [c for c in checks if c[1] is not Status.PASS]
    if open_:
        return ProbeVerdict(UNCHECKED, "; ".join(f"{name}: {why}" for name, _s, why in open_), checks=checks)
    return ProbeVerdict(CONFIRMED, "import, signature, config and models check out", checks=checks)


def _script_dir(path: str) -> str:
    candidate = Path(path)
    return str(candidate.resolve().parent) if path and candidate.exists() else str(Path.cwd())


def run(files: Sequence[tuple[str, Sequence]], options: ProbeOptions) -> dict:
    request = dict(base_request(options), task="successor",
                   files=[{"script_dir": directory, "calls": [to_json_dict(call) for call in calls]}
                          for directory, calls in files])
    try:
        return ask_worker(request, options)
    except ProbeFailed as error:
        return {"ok": False, "error": str(error)}


def probe_migrations(migrations: Sequence[FileMigration], options: Any = None) -> tuple[FileMigration, ...]:
    """Each migration with `probe` (one ProbeVerdict per new call) or `probe_reason` filled in."""
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
