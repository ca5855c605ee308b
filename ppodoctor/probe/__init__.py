"""The runtime probe: builds each setup's models on the meta device, in the user's interpreter.

`probe_file_report` annotates a check's findings (confirmed / refuted / unchecked) and adds the
runtime-only findings (PPD501-504); `confirm_fixes` tells the fix engine which fixes cure what they
claim. Importing this package imports no torch: the work happens in a subprocess (runner.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..rules.base import Diagnostic
from ..setup.model import FileSetup
from . import api_checks
from .findings import reproduces
from .memory import MemoryPlan, memory_plan
from .runner import ProbeAnswer, ProbeFailed, ProbeOptions, coerce_options, run_worker

__all__ = ["CONFIRMED", "REFUTED", "UNCHECKED", "ProbeOptions", "ProbeVerdict", "ProbeResult", "confirm_fixes",
           "probe_file_setup", "annotate", "runtime_findings"]

CONFIRMED, REFUTED, UNCHECKED = "confirmed", "refuted", "unchecked"


@dataclass(frozen=True)
class ProbeVerdict:
    status: str  # CONFIRMED, REFUTED or UNCHECKED
    detail: str


@dataclass(frozen=True)
class ProbeResult:
    """The probe's view of one file: facts per setup, or the reason there are none."""

    setups: tuple[Optional[dict], ...]
    reason: str = ""  # why the probe gave no facts (then every setup is None)
    versions: tuple[tuple[str, str], ...] = ()
    accelerator: str = ""
    peak_rss_bytes: int = 0
    wall_s: float = 0.0
    api: Optional[dict] = None  # the interpreter's TRL API and import checks (worker_api.py)

    @property
    def ok(self) -> bool:
        return not self.reason

    def facts(self, index: Optional[int]) -> Optional[dict]:
        if index is None or not 0 <= index < len(self.setups):
            return None
        return self.setups[index]

    def memory(self, index: int) -> MemoryPlan:
        return memory_plan(self.facts(index))

    def to_dict(self) -> dict:
        return {"ok": self.ok, "reason": self.reason or None, "versions": dict(self.versions),
                "accelerator": self.accelerator, "peak_rss_bytes": self.peak_rss_bytes,
                "wall_s": round(self.wall_s, 3),
                "setups": [None if facts is None else {"models": facts.get("models"), "tokenizer": facts.get("tokenizer"),
                                                      "checks": facts.get("checks"), "config": facts.get("config"),
                                                      "memory": memory_plan(facts).to_dict()}
                           for facts in self.setups]}


def _script_dir(file_setup: FileSetup) -> str:
    path = Path(file_setup.path)
    return str(path.resolve().parent) if file_setup.path and path.exists() else str(Path.cwd())


def _result(answer: ProbeAnswer, index: int) -> ProbeResult:
    return ProbeResult(answer.files[index], versions=tuple((k, str(v)) for k, v in answer.versions.items()),
                       accelerator=str(answer.accelerator.get("name", "")), peak_rss_bytes=answer.peak_rss_bytes,
                       wall_s=answer.wall_s, api=answer.api)


def probe_file_setups(file_setups: Sequence[FileSetup], options: ProbeOptions,
                      imports: Sequence[tuple[str, Sequence[str]]] = ()) -> tuple[ProbeResult, ...]:
    """One worker run for several versions of a script (they share its directory).

    `imports`: (module, names) the worker tries to import (PPD202 fixes), setups or not.
    """
    if not imports and not any(fs.setups for fs in file_setups):
        return tuple(ProbeResult((), reason="no PPOTrainer setup to probe") for _ in file_setups)
    try:
        answer = run_worker(file_setups, _script_dir(file_setups[0]), options, imports)
    except ProbeFailed as error:
        return tuple(ProbeResult(tuple(None for _ in fs.setups), reason=str(error)) for fs in file_setups)
    return tuple(_result(answer, index) for index in range(len(file_setups)))


def probe_file_setup(file_setup: FileSetup, options: ProbeOptions) -> ProbeResult:
    return probe_file_setups([file_setup], options)[0]


def verdict_for(diagnostic: Diagnostic, result: ProbeResult) -> ProbeVerdict:
    """Does the finding reproduce in the setup as it is?"""
    if not result.ok:
        return ProbeVerdict(UNCHECKED, result.reason)
    found, detail = reproduces(diagnostic.code, result.facts(diagnostic.setup_index))
    if found is None:
        return ProbeVerdict(UNCHECKED, detail)
    if found:
        return ProbeVerdict(CONFIRMED, f"reproduced: {detail}")
    return ProbeVerdict(REFUTED, f"does not reproduce: {detail}")


def annotate(diagnostics: Sequence[Diagnostic], result: ProbeResult,
             file_setup: Optional[FileSetup] = None) -> tuple[Diagnostic, ...]:
    """Each finding with its verdict; the era rules' (with `file_setup`) from the interpreter's API."""
    annotated = []
    for diagnostic in diagnostics:
        if diagnostic.probe is not None:
            annotated.append(diagnostic)
            continue
        if file_setup is not None and diagnostic.code in api_checks.CODES:
            verdict = ProbeVerdict(*api_checks.reproduction(diagnostic, file_setup, result.api, result.reason))
        else:
            verdict = verdict_for(diagnostic, result)
        annotated.append(dataclasses.replace(diagnostic, probe=verdict.status, probe_detail=verdict.detail))
    return tuple(annotated)


def runtime_findings(file_setup: FileSetup, result: ProbeResult, existing: Sequence[Diagnostic],
                     rules) -> tuple[Diagnostic, ...]:
    """The rules' findings from the probe's facts, each confirmed by construction: the runtime-only
    rules (PPD501-504) and static rules that see more at runtime (PPD105: num_labels from the config)."""
    found = []
    for index, setup in enumerate(file_setup.setups):
        facts = result.facts(index)
        if facts is None:
            continue
        already = {d.code for d in existing if d.setup_index == index}
        for rule in rules:
            if not callable(getattr(rule, "from_probe", None)):
                continue
            for diagnostic, detail in rule.from_probe(setup, facts, already):
                found.append(dataclasses.replace(diagnostic, setup_index=index, filename=file_setup.path,
                                                 probe=CONFIRMED, probe_detail=f"reproduced: {detail}"))
    return tuple(found)


def confirm_fixes(before: FileSetup, after: FileSetup, diagnostics: Sequence[Diagnostic],
                  options: ProbeOptions) -> dict[int, ProbeVerdict]:
    """For each finding: does it reproduce as the setup is, and is it gone as the fix would make it?

    Keys are indexes into `diagnostics`. A fix is worth writing only where the verdict is CONFIRMED.
    `options` is a ProbeOptions, or any object with like-named fields (config.Settings: `python`).
    """
    imports = api_checks.import_questions(before, diagnostics)
    results = probe_file_setups([before, after], coerce_options(options), imports)
    verdicts = {}
    for position, diagnostic in enumerate(diagnostics):
        if diagnostic.code in api_checks.CODES:
            # Era fixes: is the old spelling what this interpreter rejects, the new one what it accepts?
            verdicts[position] = ProbeVerdict(*api_checks.verdict(diagnostic, before, results[0].api,
                                                                  results[0].reason))
        else:
            verdicts[position] = _fix_verdict(diagnostic, results[0], results[1])
    return verdicts


def _fix_verdict(diagnostic: Diagnostic, before: ProbeResult, after: ProbeResult) -> ProbeVerdict:
    if not before.ok:
        return ProbeVerdict(UNCHECKED, before.reason)
    found, detail = reproduces(diagnostic.code, before.facts(diagnostic.setup_index))
    if found is None:
        return ProbeVerdict(UNCHECKED, detail)
    if not found:
        return ProbeVerdict(REFUTED, f"the finding does not reproduce: {detail}")
    if not after.ok:
        return ProbeVerdict(UNCHECKED, f"the fixed setup: {after.reason}")
    fixed, fixed_detail = reproduces(diagnostic.code, after.facts(diagnostic.setup_index))
    if fixed is None:
        return ProbeVerdict(UNCHECKED, f"reproduced `{detail}`, but the fixed setup could not be checked: "
                                       f"{fixed_detail}")
    if fixed:
        return ProbeVerdict(REFUTED, f"the fix does not cure it: {fixed_detail}")
    return ProbeVerdict(CONFIRMED, f"reproduced `{detail}`; the fixed setup passes")
