"""The fixed-point driver: check, fix what can be fixed together, re-check, until nothing changes.

Each round re-parses the current text, re-extracts the setup model and re-runs the rules, so
every fix is computed against code as it now is: fixes to nested or neighbouring nodes land in
later rounds instead of clobbering each other. A round applies every fix whose edits do not
collide with an earlier one's; the rest wait for the next round. The new text must parse (and
compile, if the old text did) or the offending fix is dropped.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Callable, Optional

import libcst as cst

from .. import files
from ..config import Settings
from ..fixes import edits as edit_ops
from ..fixes.source import Elsewhere, SourceMap
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
class OtherFile(Record):
    """A project module (a file the script imports) that a fix edits where the cause is written."""

    path: str  # as the setup model's spans name it (Span.file)
    original: files.SourceText
    text: str

    @property
    def changed(self) -> bool:
        return self.text != self.original.text


@record
class FixOutcome(Record):
    text: str
    applied: tuple[Diagnostic, ...]  # the findings whose fixes landed, as they were reported
    skipped: tuple[Skipped, ...]
    remaining: tuple[Diagnostic, ...]  # what `check` reports on the fixed text
    before: FileSetup
    after: FileSetup
    rounds: int
    others: tuple[OtherFile, ...] = ()  # the other files a fix changed, with their new text


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
    A fix whose cause is written in a project module edits that module (`others`); each round
    re-reads the script over the modules' new texts.
    """
    files_ = _Files(text, filename, newline)
    before = setup = setup if setup is not None else parse_setup(text, filename)
    applied: list[Diagnostic] = []
    applied_keys: set = set()
    reasons: dict[tuple, str] = {}
    rounds = 0
    while rounds < MAX_ROUNDS:
        diagnostics = run_rules(setup, files_.texts[""], target, settings)
        lines = files_.texts[""].splitlines()
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
        plans = _plan(list(groups.values()), setup, files_.source_map, target, reasons)
        chosen = files_.apply(plans, reasons)
        if not chosen:
            break
        for index in chosen:
            for diagnostic in plans[index].group:
                applied.append(diagnostic)
                applied_keys.add(_key(diagnostic, lines))
        setup = parse_setup(files_.texts[""], filename, overlay=files_.overlay())
    remaining = run_rules(setup, files_.texts[""], target, settings)
    skipped = tuple(Skipped(d, _why(d, unsafe, reasons, rounds)) for d in remaining if d.fix is not None)
    return FixOutcome(files_.texts[""], tuple(applied), skipped, remaining, before, setup, rounds,
                      files_.others())


@record
class Plan(Record):
    """One finding group's edits, all in one file ("" the checked one, else Span.file's path)."""

    group: tuple[Diagnostic, ...]
    file: str
    edits: tuple[Edit, ...]


class _Files:
    """The texts a fix run works on: the checked file's and the project modules' its fixes edit."""

    def __init__(self, text: str, filename: str, newline: str) -> None:
        self.filename = filename
        self.texts = {"": text}
        self.newlines = {"": newline}
        self.originals: dict[str, files.SourceText] = {}
        self.must_compile: dict[str, bool] = {}  # whether each file's original text compiles
        self.maps: dict[str, SourceMap] = {}

    def source_map(self, file: str) -> SourceMap:
        """The map of the file's current text; Declined for a file a fix may not edit."""
        if file not in self.texts:
            self._read(file)
        found = self.maps.get(file)
        if found is None or found.text != self.texts[file]:
            found = self.maps[file] = SourceMap(self.texts[file], self.newlines[file], file)
        return found

    def _read(self, file: str) -> None:
        if files.is_notebook(file) or not file.endswith(".py"):
            raise Declined(f"the cause is in {file}, which is not a Python module")
        try:
            original = files.read_source(Path(os.path.abspath(file)))
        except files.SourceError as error:
            raise Declined(f"the cause is in {file}, which cannot be read: {error}") from None
        self.originals[file] = original
        self.texts[file], self.newlines[file] = original.text, original.newline

    def apply(self, plans: list[Plan], reasons: dict) -> list[int]:
        """Apply the plans whose edits collide with none before them (each file on its own) and whose
        new text passes `refusal`; the indexes of those applied."""
        chosen: list[int] = []
        for file in dict.fromkeys(plan.file for plan in plans):
            indexes = [i for i, plan in enumerate(plans) if plan.file == file]
            picked = [indexes[j] for j in edit_ops.select([plans[i].edits for i in indexes])]
            old = self.texts[file]
            name = self.filename if not file else file
            if file not in self.must_compile:  # a file changes only here: `old` is still its original
                self.must_compile[file] = parses(old, True, name)

            def text_of(kept: list[int]) -> str:
                return edit_ops.apply(old, [e for i in kept for e in plans[i].edits])

            new = text_of(picked)
            if refusal(old, new, self.must_compile[file], name) is not None:
                kept: list[int] = []
                for index in picked:
                    why = refusal(old, text_of(kept + [index]), self.must_compile[file], name)
                    if why is None:
                        kept.append(index)
                    else:
                        for diagnostic in plans[index].group:
                            reasons[_reason_key(diagnostic)] = why
                picked, new = kept, text_of(kept)
            if picked and new != old:
                self.texts[file] = new
                chosen.extend(picked)
        return sorted(chosen)

    def overlay(self) -> dict[str, str]:
        return {os.path.abspath(file): text for file, text in self.texts.items() if file}

    def others(self) -> tuple[OtherFile, ...]:
        return tuple(OtherFile(file, self.originals[file], self.texts[file]) for file in self.originals
                     if self.texts[file] != self.originals[file].text)


def _plan(groups: list[list[Diagnostic]], setup: FileSetup, source_map: Callable[[str], SourceMap],
          target: Target, reasons: dict) -> list[Plan]:
    """Each group's edits, from its rule's own `fix()`; a rule that declines says why. A fix that
    meets a span of another file (Elsewhere) is computed again over that file's map: its edits then
    belong there; one that needs two files is declined."""
    plans = []
    for group in groups:
        first = group[0]
        rule = rule_of(first)
        try:
            if rule is None:
                raise Declined(f"no rule {first.code}")
            call_setup = setup_of(setup, first)
            try:
                file, plan_edits = "", tuple(rule.fix(first, FixContext(file=setup, setup=call_setup, source=source_map(""), target=target)))
            except Elsewhere as moved:
                file = moved.file
                try:
                    plan_edits = tuple(rule.fix(first, FixContext(file=setup, setup=call_setup, source=source_map(file), target=target)))
                except Elsewhere:
                    raise Declined(f"{moved}, and the fix also edits another file") from None
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
        plans.append(Plan(tuple(group), file, plan_edits))
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


def preview_plan(text: str, setup: FileSetup, diagnostic: Diagnostic, target: Optional[Target] = None,
                 source: Optional[SourceMap] = None, filename: str = "<preview>") -> Optional[tuple[Plan, str]]:
    """This one finding's fix on its own (its edits, and the file they are in: "" for `text`, else the
    project module where the cause is written), with the text of that file they apply to, when they
    make text that parses and reads no unbound name. `target`: the TRL it was checked against (default: the newest with PPO); `source`, when
    given, is the SourceMap of `text` (a report's previews share one)."""
    if diagnostic.fix is None or setup is None:
        return None
    target = target or Target.default()
    texts = _Files(text, filename, "\r\n" if "\r\n" in text else "\n")
    if source is not None:
        texts.maps[""] = source
    plans = _plan([[diagnostic]], setup, texts.source_map, target, {})
    if not plans:
        return None
    plan = plans[0]
    old = texts.texts[plan.file]
    return (plan, old) if refusal(old, edit_ops.apply(old, plan.edits), False, plan.file or filename) is None else None


def preview_edits(text: str, setup: FileSetup, diagnostic: Diagnostic, target: Optional[Target] = None,
                  source: Optional[SourceMap] = None) -> Optional[tuple[Edit, ...]]:
    """The edits of this one finding's fix when they are all in `text` (for SARIF's replacements and
    report previews), else None."""
    found = preview_plan(text, setup, diagnostic, target, source)
    return found[0].edits if found is not None and not found[0].file else None


def preview_text(text: str, setup: FileSetup, diagnostic: Diagnostic, target: Optional[Target] = None) -> Optional[str]:
    """The whole text after this one finding's fix alone, or None if it declines or edits another
    file. `setup` must be the setup model of `text` (the one the diagnostic was found in)."""
    found = preview_edits(text, setup, diagnostic, target)
    return None if found is None else edit_ops.apply(text, found)
