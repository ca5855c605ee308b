"""The probe's runs and their results (the package's face, probe/__init__.py, re-exports them).

A library below the rules: `probe_files` runs the worker once for many files and gives each its
`FileFacts` (facts.py), which the rules' `reproduce`/`validate_fix` read. What the verdicts make of
those facts is a pipeline stage (pipeline/verdicts.py). Importing this package imports no torch:
the work happens in a subprocess (runner.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from ..setup.model import FileSetup
from .facts import FileFacts
from .setup_facts import ImportAttempt, SetupFacts
from .memory import MemoryPlan, memory_plan
from .runner import ProbeAnswer, ProbeFailed, ProbeOptions, coerce_options, run_worker

__all__ = ["FileFacts", "ProbeOptions", "ProbeResult", "probe_file_setup", "probe_files"]


@dataclass(frozen=True)
class ProbeResult:
    """The probe's view of one file: its facts, and how the worker run went."""

    facts: FileFacts
    accelerator: str = ""
    peak_rss_bytes: int = 0
    wall_s: float = 0.0
    worker_pid: int = 0  # the warm worker that answered (0: none did)
    warm: bool = False  # whether that worker was already running, its imports paid before

    @property
    def ok(self) -> bool:
        return self.facts.ok

    @property
    def reason(self) -> str:
        return self.facts.reason

    @property
    def versions(self) -> tuple[tuple[str, str], ...]:
        return tuple((k, str(v)) for k, v in self.facts.versions.items())

    def setup_facts(self, index: Optional[int]) -> Optional[SetupFacts]:
        return self.facts.setup(index)

    def memory(self, index: int) -> MemoryPlan:
        return memory_plan(self.facts.setup(index))

    def to_dict(self) -> dict:
        return {"ok": self.ok, "reason": self.reason or None, "versions": dict(self.versions),
                "accelerator": self.accelerator, "peak_rss_bytes": self.peak_rss_bytes,
                "wall_s": round(self.wall_s, 3),
                "setups": [None if facts is None else {"models": facts.raw.get("models"),
                                                      "tokenizer": facts.raw.get("tokenizer"),
                                                      "checks": facts.raw.get("checks"), "config": facts.raw.get("config"),
                                                      "memory": memory_plan(facts).to_dict()}
                           for facts in self.facts.setups]}


def _file_imports(file_setup: FileSetup, api: dict) -> tuple[ImportAttempt, ...]:
    attempts = {attempt.key: attempt for attempt in map(ImportAttempt.read, api.get("imports") or ())}
    found = []
    for record in file_setup.imports:
        attempt = attempts.get((record.module, (record.name,) if record.name else ()))
        if attempt is not None and attempt not in found:
            found.append(attempt)
    return tuple(found)


def _result(answer: ProbeAnswer, index: int, file_setup: FileSetup) -> ProbeResult:
    facts = FileFacts(file_setup, tuple(map(SetupFacts.read, answer.files[index])),
                      _file_imports(file_setup, answer.api), answer.api,
                      dict(answer.versions))
    return ProbeResult(facts, str(answer.accelerator.get("name", "")), answer.peak_rss_bytes, answer.wall_s,
                       answer.worker_pid, answer.warm)


def probe_files(file_setups: Sequence[FileSetup], options: ProbeOptions) -> tuple[ProbeResult, ...]:
    """One worker run for all of `file_setups` (different files, or one file before and after a fix)."""
    if not file_setups:
        return ()
    if not any(fs.all_setups() or fs.imports for fs in file_setups):
        return tuple(ProbeResult(FileFacts(fs, reason="no trainer setup to probe")) for fs in file_setups)
    try:
        answer = run_worker(file_setups, coerce_options(options))
    except ProbeFailed as error:
        return tuple(ProbeResult(FileFacts(fs, tuple(None for _ in fs.all_setups()), reason=str(error)))
                     for fs in file_setups)
    return tuple(_result(answer, index, fs) for index, fs in enumerate(file_setups))


def probe_file_setup(file_setup: FileSetup, options: ProbeOptions) -> ProbeResult:
    return probe_files([file_setup], options)[0]
