"""The runtime probe: builds each setup's models on the meta device, in the user's interpreter.

`probe_files` runs the worker once for many files; `annotate` gives each finding the verdict of its
own rule's `reproduce`; `runtime_findings` adds what only the probe sees (the rules' `from_probe`);
`confirm_fix_sets` tells `fix --write` which fixes cure what they claim: the rule's `reproduce` on
the setup as it is, its `validate_fix` on the setup as fixed, and nothing that passed before may
fail after. Importing this package imports no torch: the work happens in a subprocess (runner.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Sequence

from ..rules import find_rule
from ..rules.base import runs_on_target
from ..setup.model import FileSetup
from ..types import CONFIRMED, REFUTED, UNCHECKED, Diagnostic, ProbeVerdict
from .facts import FileFacts, regressions
from .memory import MemoryPlan, memory_plan
from .runner import ProbeAnswer, ProbeFailed, ProbeOptions, coerce_options, run_worker

__all__ = ["CONFIRMED", "REFUTED", "UNCHECKED", "ProbeOptions", "ProbeVerdict", "ProbeResult", "FileFacts",
           "annotate", "confirm_fixes", "confirm_fix_sets", "probe_file_setup", "probe_files", "runtime_findings"]


@dataclass(frozen=True)
class ProbeResult:
    """The probe's view of one file: its facts, and how the worker run went."""

    facts: FileFacts
    accelerator: str = ""
    peak_rss_bytes: int = 0
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.facts.ok

    @property
    def reason(self) -> str:
        return self.facts.reason

    @property
    def versions(self) -> tuple[tuple[str, str], ...]:
        return tuple((k, str(v)) for k, v in self.facts.versions.items())

    def setup_facts(self, index: Optional[int]) -> Optional[dict]:
        return self.facts.setup(index)

    def memory(self, index: int) -> MemoryPlan:
        return memory_plan(self.facts.setup(index))

    def to_dict(self) -> dict:
        return {"ok": self.ok, "reason": self.reason or None, "versions": dict(self.versions),
                "accelerator": self.accelerator, "peak_rss_bytes": self.peak_rss_bytes,
                "wall_s": round(self.wall_s, 3),
                "setups": [None if facts is None else {"models": facts.get("models"), "tokenizer": facts.get("tokenizer"),
                                                      "checks": facts.get("checks"), "config": facts.get("config"),
                                                      "memory": memory_plan(facts).to_dict()}
                           for facts in self.facts.setups]}


def _file_imports(file_setup: FileSetup, api: dict) -> tuple[dict, ...]:
    attempts = {(a["module"], tuple(a["names"])): a for a in api.get("imports") or ()}
    found = []
    for record in file_setup.imports:
        attempt = attempts.get((record.module, (record.name,) if record.name else ()))
        if attempt is not None and attempt not in found:
            found.append(attempt)
    return tuple(found)


def _result(answer: ProbeAnswer, index: int, file_setup: FileSetup) -> ProbeResult:
    facts = FileFacts(file_setup, tuple(answer.files[index]), _file_imports(file_setup, answer.api), answer.api,
                      dict(answer.versions))
    return ProbeResult(facts, str(answer.accelerator.get("name", "")), answer.peak_rss_bytes, answer.wall_s)


def probe_files(file_setups: Sequence[FileSetup], options: ProbeOptions) -> tuple[ProbeResult, ...]:
    """One worker run for all of `file_setups` (different files, or one file before and after a fix)."""
    if not file_setups:
        return ()
    if not any(fs.setups or fs.imports for fs in file_setups):
        return tuple(ProbeResult(FileFacts(fs, reason="no PPOTrainer setup to probe")) for fs in file_setups)
    try:
        answer = run_worker(file_setups, coerce_options(options))
    except ProbeFailed as error:
        return tuple(ProbeResult(FileFacts(fs, tuple(None for _ in fs.setups), reason=str(error)))
                     for fs in file_setups)
    return tuple(_result(answer, index, fs) for index, fs in enumerate(file_setups))


def probe_file_setup(file_setup: FileSetup, options: ProbeOptions) -> ProbeResult:
    return probe_files([file_setup], options)[0]


def _rule(diagnostic: Diagnostic):
    return find_rule(diagnostic.code)


def verdict_for(diagnostic: Diagnostic, facts: FileFacts) -> ProbeVerdict:
    """Does the finding reproduce in the setup as it is? Its own rule's `reproduce` says."""
    rule = _rule(diagnostic)
    if rule is None:
        return ProbeVerdict(UNCHECKED, f"no rule {diagnostic.code}")
    found, detail = rule.reproduce(diagnostic, facts)
    if found is None:
        return ProbeVerdict(UNCHECKED, detail)
    if found:
        return ProbeVerdict(CONFIRMED, f"reproduced: {detail}")
    return ProbeVerdict(REFUTED, f"does not reproduce: {detail}")


def annotate(diagnostics: Sequence[Diagnostic], result: ProbeResult) -> tuple[Diagnostic, ...]:
    """Each finding with its verdict (findings that already carry one keep it)."""
    annotated = []
    for diagnostic in diagnostics:
        if diagnostic.probe is None:
            verdict = verdict_for(diagnostic, result.facts)
            diagnostic = dataclasses.replace(diagnostic, probe=verdict.status, probe_detail=verdict.detail)
        annotated.append(diagnostic)
    return tuple(annotated)


def runtime_findings(file_setup: FileSetup, result: ProbeResult, existing: Sequence[Diagnostic],
                     rules, target=None) -> tuple[Diagnostic, ...]:
    """The rules' findings from the probe's facts, each confirmed by construction: the runtime-only
    rules (PPD501-504) and static rules that see more at runtime (PPD105: num_labels from the config).
    A trainer call in a TRL-version branch that `target` does not take gets none: it never runs."""
    found = []
    for index, setup in enumerate(file_setup.setups):
        facts = result.setup_facts(index)
        if facts is None or (target is not None and setup.guards and not runs_on_target(setup, target)):
            continue
        already = {d.code for d in existing if d.setup_index == index}
        for rule in rules:
            for diagnostic, detail in rule.from_probe(setup, facts, already):
                found.append(dataclasses.replace(diagnostic, setup_index=index, filename=file_setup.path,
                                                 probe=CONFIRMED, probe_detail=f"reproduced: {detail}"))
    return tuple(found)


def fix_verdict(diagnostic: Diagnostic, before: FileFacts, after: FileFacts, worse: Sequence[str]) -> ProbeVerdict:
    """Both halves: the original fails the way the rule says, and the fixed setup passes."""
    rule = _rule(diagnostic)
    if rule is None:
        return ProbeVerdict(UNCHECKED, f"no rule {diagnostic.code}")
    found, detail = rule.reproduce(diagnostic, before)
    if found is None:
        return ProbeVerdict(UNCHECKED, detail)
    if not found:
        return ProbeVerdict(REFUTED, f"the finding does not reproduce: {detail}")
    cured, cured_detail = rule.validate_fix(diagnostic, before, after)
    if cured is None:
        return ProbeVerdict(UNCHECKED, f"reproduced `{detail}`, but the fixed setup could not be checked: "
                                       f"{cured_detail}", True)
    if not cured:
        return ProbeVerdict(REFUTED, f"the fix does not cure it: {cured_detail}", True)
    if worse:
        return ProbeVerdict(REFUTED, f"the fixed script fails where the original did not: {worse[0]}", True)
    return ProbeVerdict(CONFIRMED, f"reproduced `{detail}`; the fixed setup passes", True)


def confirm_fix_sets(sets: Sequence[tuple[FileSetup, FileSetup, Sequence[Diagnostic]]],
                     options) -> list[dict[int, ProbeVerdict]]:
    """For each (before, after, fixed findings): a verdict per finding, from one worker run for all.

    `options` is a ProbeOptions, or any object with like-named fields (config.Settings: `python`).
    """
    file_setups = [setup for before, after, _found in sets for setup in (before, after)]
    results = probe_files(file_setups, options)
    answers = []
    for position, (_before, _after, diagnostics) in enumerate(sets):
        before, after = results[2 * position].facts, results[2 * position + 1].facts
        if not before.ok or not after.ok:
            reason = before.reason or f"the fixed setup: {after.reason}"
            answers.append({i: ProbeVerdict(UNCHECKED, reason) for i in range(len(diagnostics))})
            continue
        worse = regressions(before, after)
        answers.append({i: fix_verdict(d, before, after, worse) for i, d in enumerate(diagnostics)})
    return answers


def confirm_fixes(before: FileSetup, after: FileSetup, diagnostics: Sequence[Diagnostic],
                  options) -> dict[int, ProbeVerdict]:
    """confirm_fix_sets for one file; keys are indexes into `diagnostics`."""
    return confirm_fix_sets([(before, after, diagnostics)], options)[0]
