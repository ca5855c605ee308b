"""The probe's verdicts: what each rule's own probe check makes of the facts the probe gathered.

`annotate` gives each finding the verdict of its rule's `reproduce`; `runtime_findings` adds what
only the probe sees (the rules' `from_probe`); `confirm_fix_sets` tells `fix --write` which fixes
cure what they claim: the rule's `reproduce` on the setup as it is, its `validate_fix` on the setup
as fixed, every other role's TRL steps passing on the fixed setup (probe.facts.CHECK_ROLES), and
nothing that passed before may fail after.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from typing import Sequence

from ..probe.results import ProbeResult, probe_files
from ..probe.facts import FileFacts, left_broken, regressions
from ..rules import all_rules, rule_of
from ..rules.base import runs_on_target
from ..setup.model import FileSetup
from ..types import CONFIRMED, REFUTED, UNCHECKED, Diagnostic, ProbeVerdict


def _rule(diagnostic: Diagnostic):
    return rule_of(diagnostic)


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
    for index, setup in enumerate(file_setup.all_setups()):
        facts = result.setup_facts(index)
        if facts is None or (target is not None and setup.guards and not runs_on_target(setup, target)):
            continue
        # The rules whose findings this setup has: a rule's runtime findings never repeat its own static
        # ones, and a rule that another supersedes (its `superseded_by`) stays silent beside it.
        already = {d.rule or type(rule_of(d)) for d in existing if d.setup_index == index}
        for rule in rules:
            if setup.kind not in rule.trainer_kinds or type(rule) in already or already & set(rule.superseded_by):
                continue
            for diagnostic, detail in rule.from_probe(setup, facts, already):
                found.append(dataclasses.replace(diagnostic, setup_index=index, filename=file_setup.path,
                                                 probe=CONFIRMED, probe_detail=f"reproduced: {detail}"))
    return tuple(found)


@lru_cache(maxsize=1)
def _machine_errors() -> tuple:
    """The errors of findings about the probe's machine (Rule.machine_dependent): met on another role of a
    fixed setup, they do not refute a fix (that finding is reported on its own, and the script may train
    on a machine where they do not happen)."""
    return tuple(re.compile(known.pattern) for rule in all_rules() if rule.machine_dependent
                 for known in rule.known_errors)


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
    # Confirmed means TRL's own steps run for every role, not only those the finding is about.
    broken = [line for line in left_broken(after, diagnostic.setup_index, rule.roles_of(diagnostic), rule.steps)
              if not any(pattern.search(line) for pattern in _machine_errors())]
    if broken:
        return ProbeVerdict(REFUTED, f"the fixed setup still fails: {broken[0]}", True)
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
