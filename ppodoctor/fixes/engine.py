"""The fixed-point driver: check, fix what can be fixed together, re-check, until nothing changes.

Each round re-parses the current text, re-extracts the setup model and re-runs the rules, so
every fix is computed against code as it now is: fixes to nested or neighbouring nodes land in
later rounds instead of clobbering each other. A round applies every fix whose edits do not
collide with an earlier one's; the rest wait for the next round. The new text must parse (and
compile, if the old text did) or the offending fix is dropped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import libcst as cst

from ..config import Settings
from ..rules.base import SAFE, Diagnostic
from ..setup.model import FileSetup
from ..trl_api.eras import Target
from . import edits as edit_ops
from .builders import BUILDERS
from .source import Declined, SourceMap

MAX_ROUNDS = 10
UNSAFE_REASON = "unsafe fix: apply it with --unsafe-fixes"


@dataclass(frozen=True)
class Skipped:
    """A finding that has a fix which was not applied, and why."""

    diagnostic: Diagnostic
    reason: str


@dataclass(frozen=True)
class FixOutcome:
    text: str
    applied: tuple[Diagnostic, ...]  # the findings whose fixes landed, as they were reported
    skipped: tuple[Skipped, ...]
    remaining: tuple[Diagnostic, ...]  # what `check` reports on the fixed text
    before: FileSetup
    after: FileSetup
    rounds: int


def _key(diagnostic: Diagnostic, lines: list[str]) -> tuple:
    """Identifies a finding across rounds, though edits above it move its span."""
    span = diagnostic.span
    return (diagnostic.code, diagnostic.setup_index, diagnostic.message, tuple(lines[span.line - 1:span.end_line]))


def _reason_key(diagnostic: Diagnostic) -> tuple:
    return (diagnostic.code, diagnostic.setup_index, diagnostic.message)


def finding_key(diagnostic: Diagnostic) -> tuple:
    """Names one finding in any round of any run over the same file: code, trainer call and message
    (the message names the keyword, import or field, never a line number, so edits above it do not
    change it). `fix_text(allow=...)` callers match findings by this key."""
    return _reason_key(diagnostic)


NOT_ALLOWED_REASON = "left out: the caller did not allow this fix"


def _group_key(diagnostic: Diagnostic) -> tuple:
    fix = diagnostic.fix
    if fix.kind == "replace":
        return ("replace", diagnostic.code, diagnostic.span, fix.params)
    # Two rules asking for the same structural fix of one trainer get it once.
    return (fix.kind, diagnostic.setup_index, fix.params)


def _parses(text: str, must_compile: bool, filename: str) -> bool:
    try:
        cst.parse_module(text)
        if must_compile:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the script's own compile-time warnings are not ours to print
                compile(text, filename, "exec", dont_inherit=True)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError):
        return False
    return True


def fix_text(text: str, filename: str, target: Target, settings: Settings, newline: str = "\n",
             unsafe: bool = False, allow: Optional[Callable[[Diagnostic], bool]] = None) -> FixOutcome:
    """Fix `text` to a fixed point; raises files.SourceError when the text cannot be parsed.

    With `allow`, only findings it accepts are fixed, in every round (the probe gate: only confirmed
    fixes are written); the others are skipped with NOT_ALLOWED_REASON.
    """
    from ..api import parse_setup, run_rules

    must_compile = _parses(text, True, filename)
    before = setup = parse_setup(text, filename)
    applied: list[Diagnostic] = []
    applied_keys: set = set()
    reasons: dict[tuple, str] = {}
    rounds = 0
    while rounds < MAX_ROUNDS:
        diagnostics = run_rules(setup, text, target, settings)
        lines = text.splitlines()
        groups: dict[tuple, list[Diagnostic]] = {}
        for diagnostic in diagnostics:
            if diagnostic.fix is None:
                continue
            if allow is not None and not allow(diagnostic):
                reasons[_reason_key(diagnostic)] = NOT_ALLOWED_REASON
                continue
            if _key(diagnostic, lines) in applied_keys:
                reasons[_reason_key(diagnostic)] = "the fix was applied but the finding remains"
                continue
            groups.setdefault(_group_key(diagnostic), []).append(diagnostic)
        groups = {key: group for key, group in groups.items()
                  if unsafe or any(d.fix.applicability == SAFE for d in group)}
        if not groups:
            break
        rounds += 1
        plans = _plan(list(groups.values()), setup, SourceMap(text, newline), reasons)
        chosen = edit_ops.select([plan_edits for _group, plan_edits in plans])
        new_text = edit_ops.apply(text, [e for i in chosen for e in plans[i][1]])
        if not _parses(new_text, must_compile, filename):
            kept: list[int] = []
            for index in chosen:
                trial = edit_ops.apply(text, [e for i in kept + [index] for e in plans[i][1]])
                if _parses(trial, must_compile, filename):
                    kept.append(index)
                else:
                    for diagnostic in plans[index][0]:
                        reasons[_reason_key(diagnostic)] = "the fixed code would not parse"
            chosen = kept
            new_text = edit_ops.apply(text, [e for i in chosen for e in plans[i][1]])
        if not chosen or new_text == text:
            break
        for index in chosen:
            for diagnostic in plans[index][0]:
                applied.append(diagnostic)
                applied_keys.add(_key(diagnostic, lines))
        text = new_text
        setup = parse_setup(text, filename)
    remaining = run_rules(setup, text, target, settings)
    skipped = tuple(Skipped(d, _why(d, unsafe, reasons, rounds)) for d in remaining if d.fix is not None)
    return FixOutcome(text, tuple(applied), skipped, remaining, before, setup, rounds)


def _plan(groups: list[list[Diagnostic]], setup: FileSetup, source: SourceMap, reasons: dict):
    plans = []
    for group in groups:
        first = group[0]
        builder = BUILDERS.get(first.fix.kind)
        try:
            if builder is None:
                raise Declined(f"no fix engine for kind {first.fix.kind!r}")
            index = first.setup_index
            trainer = setup.setups[index] if index is not None and index < len(setup.setups) else None
            if trainer is None and first.fix.kind != "replace":
                raise Declined("the finding is not tied to a trainer call")
            plan_edits = builder(first, trainer, source)
        except (Declined, ValueError) as error:
            for diagnostic in group:
                reasons[_reason_key(diagnostic)] = f"cannot fix here: {error}"
            continue
        except Exception as error:  # noqa: BLE001 - one broken fix must not stop the others
            for diagnostic in group:
                reasons[_reason_key(diagnostic)] = f"internal error in the {first.fix.kind} fix: {type(error).__name__}: {error}"
            continue
        plans.append((group, tuple(plan_edits)))
    return plans


def _why(diagnostic: Diagnostic, unsafe: bool, reasons: dict, rounds: int) -> str:
    reason: Optional[str] = reasons.get(_reason_key(diagnostic))
    if reason:
        return reason
    if diagnostic.fix.applicability != SAFE and not unsafe:
        return UNSAFE_REASON
    if rounds >= MAX_ROUNDS:
        return f"still unfixed after {MAX_ROUNDS} rounds"
    return "its edits collided with another fix's"


def preview(text: str, setup: FileSetup, diagnostic: Diagnostic) -> Optional[str]:
    if diagnostic.fix is None or setup is None:
        return None
    newline = "\r\n" if "\r\n" in text else "\n"
    reasons: dict = {}
    plans = _plan([[diagnostic]], setup, SourceMap(text, newline), reasons)
    if not plans:
        return None
    fixed = edit_ops.apply(text, plans[0][1])
    return fixed if _parses(fixed, False, "<preview>") else None
