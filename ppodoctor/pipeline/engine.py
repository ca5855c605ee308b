"""The fixed-point driver: check, fix what can be fixed together, re-check, until nothing changes.

Each round re-parses the current text, re-extracts the setup model and re-runs the rules, so
every fix is computed against code as it now is: fixes to nested or neighbouring nodes land in
later rounds instead of clobbering each other. A round applies every fix whose edits do not
collide with an earlier one's; the rest wait for the next round. The new text must parse (and
compile, if the old text did) or the offending fix is dropped.
"""

from __future__ import annotations

import warnings
from typing import Callable, Optional

import libcst as cst

from .. import files
from ..config import Settings
from ..fixes import edits as edit_ops
from ..fixes.source import SourceMap
from ..core import parse_setup, run_rules
from ..records import Record, record
from ..rules import rule_of
from ..rules.base import FixContext, setup_of
from ..setup.model import FileSetup
from ..trl_api.eras import Target
from ..types import Applicability, Declined, Diagnostic, Edit
from ..unbound import why_unbound

MAX_ROUNDS = 10
UNSAFE_REASON = "unsafe fix: apply it with --unsafe-fixes"


@record
class Skipped(Record):
    """A finding that has a fix which was not applied, and why."""

    diagnostic: Diagnostic
    reason: str


@record
class FixOutcome(Record):
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


def applies(diagnostic: Diagnostic, unsafe: bool) -> bool:
    """Whether a finding's fix may be applied at all: safe ones always, unsafe ones when asked."""
    applicability = diagnostic.fix.applicability
    return applicability == Applicability.SAFE or (unsafe and applicability == Applicability.UNSAFE)


def parses(text: str, must_compile: bool, filename: str) -> bool:
    try:
        cst.parse_module(text)
        if must_compile:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the script's own compile-time warnings are not ours to print
                compile(text, filename, "exec", dont_inherit=True)
    except (cst.ParserSyntaxError, SyntaxError, ValueError, RecursionError):
        return False
    return True


def refusal(old: str, new: str, must_compile: bool, filename: str) -> Optional[str]:
    """Why `new` may not replace `old`, or None: it must parse (and compile, if `old` did), and read
    no name that nothing binds where `old` read none (unbound.py)."""
    if not parses(new, must_compile, filename):
        return "the fixed code would not parse"
    unbound = why_unbound(old, new, files.is_notebook(filename))
    return f"the fixed code {unbound}" if unbound else None


def fix_text(text: str, filename: str, target: Target, settings: Settings, newline: str = "\n",
             unsafe: bool = False, allow: Optional[Callable[[Diagnostic], bool]] = None,
             setup: Optional[FileSetup] = None) -> FixOutcome:
    """Fix `text` to a fixed point; raises files.SourceError when the text cannot be parsed.

    Safe fixes are applied, and unsafe ones with `unsafe`. With `allow`, only findings it accepts are
    fixed, in every round (the probe gate: only confirmed fixes are written); the others are skipped
    with NOT_ALLOWED_REASON. `setup`: the setup model of `text` when the caller has parsed it already.
    """
    must_compile = parses(text, True, filename)
    before = setup = setup if setup is not None else parse_setup(text, filename)
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
            if applies(diagnostic, unsafe):
                # One group per finding: two findings may share a message (duplicate imports), never a span.
                groups.setdefault(_reason_key(diagnostic) + (diagnostic.span,), []).append(diagnostic)
        if not groups:
            break
        rounds += 1
        plans = _plan(list(groups.values()), setup, SourceMap(text, newline), target, reasons)
        chosen = edit_ops.select([plan_edits for _group, plan_edits in plans])
        new_text = edit_ops.apply(text, [e for i in chosen for e in plans[i][1]])
        if refusal(text, new_text, must_compile, filename) is not None:
            kept: list[int] = []
            for index in chosen:
                trial = edit_ops.apply(text, [e for i in kept + [index] for e in plans[i][1]])
                why = refusal(text, trial, must_compile, filename)
                if why is None:
                    kept.append(index)
                else:
                    for diagnostic in plans[index][0]:
                        reasons[_reason_key(diagnostic)] = why
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


def _plan(groups: list[list[Diagnostic]], setup: FileSetup, source: SourceMap, target: Target, reasons: dict):
    """Each group's edits, from its rule's own `fix()`; a rule that declines says why."""
    plans = []
    for group in groups:
        first = group[0]
        rule = rule_of(first)
        try:
            if rule is None:
                raise Declined(f"no rule {first.code}")
            context = FixContext(file=setup, setup=setup_of(setup, first), source=source, target=target)
            plan_edits = tuple(rule.fix(first, context))
            if not plan_edits:
                raise Declined("the fix has no edits")
        except (Declined, ValueError) as error:
            for diagnostic in group:
                reasons[_reason_key(diagnostic)] = f"cannot fix here: {error}"
            continue
        except Exception as error:  # noqa: BLE001 - one broken fix must not stop the others
            for diagnostic in group:
                reasons[_reason_key(diagnostic)] = f"internal error in the {first.code} fix: {type(error).__name__}: {error}"
            continue
        plans.append((group, plan_edits))
    return plans


def _why(diagnostic: Diagnostic, unsafe: bool, reasons: dict, rounds: int) -> str:
    reason: Optional[str] = reasons.get(_reason_key(diagnostic))
    if reason:
        return reason
    if diagnostic.fix.applicability == Applicability.DISPLAY_ONLY:
        return "advice only: the fix needs your decision"
    if not applies(diagnostic, unsafe):
        return UNSAFE_REASON
    if rounds >= MAX_ROUNDS:
        return f"still unfixed after {MAX_ROUNDS} rounds"
    return "its edits collided with another fix's"


def preview_edits(text: str, setup: FileSetup, diagnostic: Diagnostic, target: Optional[Target] = None,
                  source: Optional[SourceMap] = None) -> Optional[tuple[Edit, ...]]:
    """The edits of this one finding's fix, on their own, when they make text that parses (for SARIF's
    replacements and report previews). `target`: the TRL it was checked against (default: the newest
    with PPO); `source`, when given, is the SourceMap of `text` (a report's previews share one)."""
    if diagnostic.fix is None or setup is None:
        return None
    target = target or Target.default()
    newline = "\r\n" if "\r\n" in text else "\n"
    reasons: dict = {}
    plans = _plan([[diagnostic]], setup, source or SourceMap(text, newline), target, reasons)
    if not plans:
        return None
    return plans[0][1] if refusal(text, edit_ops.apply(text, plans[0][1]), False, "<preview>") is None else None


def preview_text(text: str, setup: FileSetup, diagnostic: Diagnostic, target: Optional[Target] = None) -> Optional[str]:
    """The whole text after this one finding's fix alone, or None if it declines. `setup` must be the
    setup model of `text` (the one the diagnostic was found in)."""
    found = preview_edits(text, setup, diagnostic, target)
    return None if found is None else edit_ops.apply(text, found)
