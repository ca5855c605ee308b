"""fix_source / fix_paths: what `ppodoctor fix` and other tools call.

A fix run is two steps. `decide` (pure: nothing touches a disk) settles each file's final text: with
the probe (the default), every fix the rules can make is proposed and the probe decides which stay
(those it confirmed, both halves: the original fails as the rule says, the fixed setup passes;
unchecked ones too with `unsafe`; never a refuted one); when it confirms some fixes and not others,
the file is fixed again with only the confirmed findings allowed. Without the probe (`probe=False`)
the safe fixes stay, and the unsafe ones with `unsafe`. Then, only with `write=True`, each decided
text that changes its file is written; without it the same decided text is the preview's diff, so
the preview shows exactly what `--write` writes. A text is written only when it parsed again and
encodes in the file's own encoding (BOM and line endings kept), onto a file that still holds the
bytes that were read, atomically (files.write_atomic).
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence, Union

from .. import files
from ..config import Settings
from ..core import parse_screened
from ..screening import screen
from ..setup.model import FileSetup
from ..trl_api.eras import Target
from ..trl_api.target import resolve_target
from ..types import CONFIRMED, REFUTED, UNCHECKED, Diagnostic, ExitStatus, ProbeVerdict, Screen, exit_status
from .engine import FixOutcome, OtherFile, Skipped, finding_key, fix_text, parses
from .probe_gate import Confirmer, confirm_with_probe, warm_probe, warm_up
from ..textdiff import file_diff


@dataclass(frozen=True)
class FindingOutcome:
    """What `fix --write` did with one fixable finding, and why."""

    diagnostic: Diagnostic
    verdict: Optional[ProbeVerdict]  # None when the probe did not look (--no-probe)
    fixed: bool
    detail: str = ""  # why a fix the gate allowed was still left out

    @property
    def text(self) -> str:
        return self.describe(written=True)

    def describe(self, written: bool) -> str:
        """One line: what the write did with the finding (`written`), or what it would do (a preview)."""
        done = "fixed" if written else "would fix"
        verdict = self.verdict
        if verdict is None:
            return f"{done} ({self.diagnostic.fix.applicability}, not probed)" if self.fixed else \
                f"not fixed: {self.detail}"
        if self.fixed:
            return f"{done} (confirmed)" if verdict.status == CONFIRMED else \
                f"{done} (unconfirmed, --unsafe-fixes): {verdict.detail}"
        if self.detail:
            return f"not fixed: {verdict.status}, but {self.detail}"
        why = f": {verdict.detail}" if verdict.detail else ""
        hint = " (--unsafe-fixes writes it unconfirmed)" if verdict.status == UNCHECKED else ""
        return f"not fixed: {verdict.status}{why}{hint}"


@dataclass(frozen=True)
class FileFix:
    path: str
    original: Optional[files.SourceText] = None
    text: Optional[str] = None  # the fixed text (None when the file could not be read or parsed)
    applied: tuple[Diagnostic, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    remaining: tuple[Diagnostic, ...] = ()
    before: Optional[FileSetup] = None
    after: Optional[FileSetup] = None
    rounds: int = 0
    error: Optional[str] = None
    written: bool = False
    not_written: str = ""  # why a changed file was left alone
    verdicts: tuple[ProbeVerdict, ...] = ()  # one per `proposed` fix when the probe looked
    proposed: tuple[Diagnostic, ...] = ()  # every fix the engine would apply, when the probe gated them
    outcomes: tuple[FindingOutcome, ...] = ()  # one per proposed fix: written or not, and why
    others: tuple[OtherFile, ...] = ()  # project modules a fix edits where the cause is written

    @property
    def remaining_problems(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.remaining if not d.refuted)

    @property
    def changed(self) -> bool:
        return self.changed_here or any(other.changed for other in self.others)

    @property
    def changed_here(self) -> bool:
        """Whether this file's own text changed (`changed` counts the other files too)."""
        return self.original is not None and self.text is not None and self.text != self.original.text

    @property
    def new_bytes(self) -> bytes:
        return files.encode(self.original, self.text)

    def diff(self) -> str:
        """This file's diff, then each other file's a fix edits."""
        here = file_diff(self.path, self.original.text, self.text, self.original.is_notebook) if self.changed_here else ""
        return here + "".join(file_diff(other.path, other.original.text, other.text, False)
                              for other in self.others if other.changed)


@dataclass(frozen=True)
class FixReport:
    """Every file's fix, with the run's summary and exit status (ruff's: 1 while a finding is left)."""

    files: tuple[FileFix, ...]
    write: bool = False
    probe: bool = True

    @property
    def applied(self) -> tuple[Diagnostic, ...]:
        return tuple(d for f in self.files for d in f.applied)

    @property
    def errors(self) -> tuple[FileFix, ...]:
        return tuple(f for f in self.files if f.error)

    @property
    def fixed(self) -> tuple[Diagnostic, ...]:
        """What was written (with `write`), or would be (without)."""
        if not self.write:
            return self.applied
        return tuple(d for f in self.files if f.written for d in f.applied)

    @property
    def exit_code(self) -> ExitStatus:
        """ERROR for a file that could not be read or written; else FINDINGS when a diff has changes to
        show, or when a write leaves a finding (a fix held back, or one no fix can touch)."""
        if not self.write:
            left = any(result.changed for result in self.files)
        else:
            left = any(any(not outcome.fixed for outcome in result.outcomes) or result.remaining_problems
                       or (result.changed and not result.written) for result in self.files)
        return exit_status(errors=bool(self.errors), left=left)


def fix_source(source: Union[str, bytes], filename: str = "<stdin>", settings: Optional[Settings] = None,
               target: Optional[Target] = None, unsafe: bool = False,
               allow: Optional[Callable[[Diagnostic], bool]] = None, strict: bool = False) -> FileFix:
    """Fix one source text in memory; nothing is written. `allow` limits which findings are fixed;
    `strict` (a file the user named) has Python compile it first, its refusal being the error."""
    settings = settings or Settings()
    screened = screen(source, filename, strict)
    if screened.screen == Screen.ERROR:
        return FileFix(filename, error=screened.error)
    if screened.screen == Screen.UNREAD:
        return FileFix(filename)
    decoded = screened.source
    if screened.screen == Screen.CLEAN:
        return FileFix(filename, decoded, decoded.text)
    target = target or resolve_target(settings, Path(filename) if filename != "<stdin>" else None)
    try:
        outcome: FixOutcome = fix_text(decoded.text, filename, target, settings, decoded.newline, unsafe, allow,
                                       parse_screened(screened))
    except files.SourceError as error:
        return FileFix(filename, decoded, error=str(error))
    fixed = FileFix(filename, decoded, outcome.text, outcome.applied, outcome.skipped, outcome.remaining,
                    outcome.before, outcome.after, outcome.rounds, others=outcome.others)
    if fixed.changed:
        try:
            fixed.new_bytes
            for other in fixed.others:
                files.encode(other.original, other.text)
        except UnicodeEncodeError as error:
            return FileFix(filename, decoded, error=f"the fixed text cannot be written as {decoded.encoding}: "
                                                    f"{error.reason}")
        except ValueError as error:  # a notebook whose fixed program cannot be put back into its cells
            return FileFix(filename, decoded, error=str(error))
    return fixed


Refix = Callable[[Callable[[Diagnostic], bool]], FileFix]  # the same source fixed again, only `allow`ed findings


@dataclass(frozen=True)
class Pending:
    """One source whose fixes change it: the engine's proposal and how to fix it again with fewer."""

    proposal: FileFix
    refix: Refix
    path: Optional[Path] = None  # where a write goes; None for a text that is never written (stdin)


def fix_paths(paths: Iterable[Path], settings: Optional[Settings] = None, target: Optional[Target] = None,
              unsafe: bool = False, write: bool = False, probe: bool = True,
              confirm: Optional[Confirmer] = None, probe_options: Any = None,
              sources: Sequence[tuple[str, bytes]] = ()) -> FixReport:
    """_fix_paths with one warm probe worker per interpreter for the whole run (every file, every
    round of the gate), started only if the probe is asked, stopped at the end."""
    with warm_probe():
        return _fix_paths(paths, settings, target, unsafe, write, probe, confirm, probe_options, sources)


def _fix_paths(paths: Iterable[Path], settings: Optional[Settings] = None, target: Optional[Target] = None,
               unsafe: bool = False, write: bool = False, probe: bool = True,
               confirm: Optional[Confirmer] = None, probe_options: Any = None,
               sources: Sequence[tuple[str, bytes]] = ()) -> FixReport:
    """Fix files: decide each file's final text (see the module docstring), then, with `write`,
    replace each changed one atomically. Without `write` the report holds the very texts a write would
    write (its diff is the preview).

    With `probe` (the default) every fix the rules can make is proposed and the probe decides: the
    confirmed ones stay, and with `unsafe` the unchecked ones too, never a refuted one. Without
    `probe`, safe fixes stay, and unsafe ones with `unsafe`. The probe runs once for all files:
    `confirm` replaces its default (pipeline.verdicts.confirm_fix_sets); `probe_options` (a
    probe.ProbeOptions) is handed to it, `settings` when None. `sources` are (name, bytes) texts from
    an editor or stdin, decided with the files (one probe run) and never written.
    """
    settings = settings or Settings()
    # The probe decides about every fix, unsafe ones included; without it the unsafe ones need `unsafe`.
    propose_unsafe = unsafe or probe
    results: list[FileFix] = []
    pending: dict[int, Pending] = {}

    def propose(data: bytes, name: str, strict: bool, path: Optional[Path]) -> None:
        fixed = fix_source(data, name, settings, target, propose_unsafe, strict=strict)
        if fixed.changed and not fixed.error:
            if probe and confirm is None and not pending:  # the first source the probe will gate
                warm_up(probe_options or settings)
            pending[len(results)] = Pending(fixed, lambda allow: fix_source(data, name, settings, target,
                                                                            propose_unsafe, allow), path)
        results.append(fixed)

    for name, data in sources:
        propose(data, name, True, None)  # an editor's text is named by the user: compiled first
    paths = list(paths)
    named = files.named_files(paths)
    for path, problem in files.discover(paths, settings.is_excluded if settings.exclude else None):
        if problem is not None:
            results.append(FileFix(str(path), error=problem))
            continue
        try:
            data = files.read_bytes(path)
        except files.SourceError as error:
            results.append(FileFix(str(path), error=str(error)))
            continue
        propose(data, str(path), str(path) in named, path)
    decided = decide(pending, unsafe, probe_options or settings, confirm) if probe else \
        {i: dataclasses.replace(item.proposal, outcomes=tuple(FindingOutcome(d, None, True)
                                                              for d in item.proposal.applied))
         for i, item in pending.items()}
    for position, result in decided.items():
        path = pending[position].path
        if write and path is not None and result.changed:
            result = write_decided(path, result, pending[position].proposal.original.raw)
        results[position] = result
    return FixReport(tuple(results), write, probe)


# A fix the probe refutes in one text may be cured in a text without the fixes that were held back
# (another fix's edit broke what it needs): the gate proposes the smaller text again, a bounded
# number of times, and keeps only a text whose every fix the probe confirmed in that very text.
MAX_GATE_ROUNDS = 4  # all proposed; the confirmed and once-retried; the confirmed; that text probed


def decide(pending: dict[int, Pending], unsafe: bool, options: Any,
           confirm: Optional[Confirmer] = None) -> dict[int, FileFix]:
    """The probe gate, pure: each pending source's final text (its original when no fix may stay),
    with one outcome per proposed fix (kept or not, and why). Nothing is written here."""
    def allowed(verdict: ProbeVerdict) -> bool:
        return verdict.status == CONFIRMED or (unsafe and verdict.status == UNCHECKED)

    current = {i: item.proposal for i, item in pending.items()}
    verdicts: dict[int, dict] = {i: {} for i in pending}  # finding key -> its latest verdict
    retried: dict[int, set] = {i: set() for i in pending}
    done: dict[int, Optional[FileFix]] = {}
    why_not: dict[int, str] = {}
    for _round in range(MAX_GATE_ROUNDS):
        todo = [i for i in pending if i not in done]
        if not todo:
            break
        answers = confirm_with_probe([(current[i].before, current[i].after, current[i].applied) for i in todo],
                                     options, confirm)
        for i, answer in zip(todo, answers):
            fix = current[i]
            verdicts[i].update({finding_key(d): v for d, v in zip(fix.applied, answer)})
            keys = {finding_key(d) for d in fix.applied}
            ok = {k for k in keys if allowed(verdicts[i][k])}
            again = {k for k in keys - ok if verdicts[i][k].status == REFUTED and verdicts[i][k].reproduced
                     and k not in retried[i]}
            if ok == keys:
                done[i] = fix
                continue
            keep = ok | again
            retried[i] |= again
            if not keep:
                done[i] = None
                continue
            smaller, problem = _allowed_only(pending[i].refix, keep)
            if smaller is None or not smaller.changed:
                done[i], why_not[i] = None, problem
                continue
            current[i] = smaller
    return {i: _settled(item.proposal, done.get(i), verdicts[i], why_not.get(i, ""), allowed)
            for i, item in pending.items()}


def _settled(fixed: FileFix, final: Optional[FileFix], verdicts: dict, why_not: str,
             allowed: Callable[[ProbeVerdict], bool]) -> FileFix:
    """The decided FileFix of one source: `final` (None: no fix stays) with every proposed fix's outcome."""
    written_keys = {finding_key(d) for d in final.applied} if final is not None else set()
    written = _written_flags(fixed.applied, final.applied if final is not None else ())
    outcomes = []
    for d, was_written in zip(fixed.applied, written):
        verdict = verdicts.get(finding_key(d), ProbeVerdict(UNCHECKED, "not probed"))
        detail = ""
        if allowed(verdict) and not was_written:
            detail = why_not or (HELD_WITH_ANOTHER if finding_key(d) in written_keys else
                                 "" if final is not None else OUT_OF_ROUNDS)
        outcomes.append(FindingOutcome(d, verdict, was_written, detail))
    all_verdicts = tuple(verdicts.get(finding_key(d), ProbeVerdict(UNCHECKED, "not probed")) for d in fixed.applied)
    if final is None:
        doubtful = sorted({f"{v.status}: {v.detail}" if v.detail else str(v.status)
                           for v in all_verdicts if not allowed(v)})
        why = why_not or (f"{len(doubtful)} of {len(all_verdicts)} fixes not confirmed by the runtime "
                          f"probe ({'; '.join(doubtful)}); --no-probe writes the safe ones unconfirmed")
        # The original text stays: a preview shows no diff, a write writes nothing.
        return dataclasses.replace(fixed, text=fixed.original.text, others=(), after=fixed.before,
                                   outcomes=tuple(outcomes),
                                   verdicts=all_verdicts, proposed=fixed.applied, applied=(), not_written=why)
    held = {finding_key(d) for d, was_written in zip(fixed.applied, written) if not was_written} - written_keys
    return dataclasses.replace(final, verdicts=all_verdicts, proposed=fixed.applied, outcomes=tuple(outcomes),
                               skipped=tuple(s for s in final.skipped if finding_key(s.diagnostic) not in held))


# The gate stopped before the text with only the confirmed fixes was probed itself.
OUT_OF_ROUNDS = f"the text without the other fixes was not probed again within {MAX_GATE_ROUNDS} rounds"


# A finding met in a later round inside code another fix added (a value model's new statement copies
# the policy's `torch_dtype=`): when that fix is held back, so is the code, and this finding with it.
HELD_WITH_ANOTHER = "it was in code that a fix held back would have added"


def _written_flags(proposed: Sequence[Diagnostic], written: Sequence[Diagnostic]) -> list[bool]:
    """For each proposed finding, whether the written text holds its fix. Findings are matched by
    finding_key, which two findings of one rule on the same name share (the message names no line):
    as many of them count as written as the written text fixed, in order."""
    left = Counter(finding_key(d) for d in written)
    flags = []
    for diagnostic in proposed:
        key = finding_key(diagnostic)
        flags.append(left[key] > 0)
        left[key] -= 1
    return flags


def _allowed_only(refix, allowed: set) -> tuple[Optional[FileFix], str]:
    """The file fixed again with only the allowed findings; (None, why) when that fails."""
    partial = refix(lambda diagnostic: finding_key(diagnostic) in allowed)
    if partial.error or partial.text is None:
        return None, f"fixing only the confirmed findings failed: {partial.error or 'no text'}"
    if any(finding_key(d) not in allowed for d in partial.applied):
        return None, "fixing only the confirmed findings also changed others"
    if partial.changed and not parses(partial.text, False, partial.path):
        return None, "the text with only the confirmed fixes does not parse"
    return partial, ""


def write_decided(path: Path, fixed: FileFix, expected: bytes) -> FileFix:
    """The write step: the decided text onto `path` (if it still holds `expected`, the bytes read) and
    onto the other files its fixes edit, each atomically and only over the bytes that were read; when
    one write fails, those already written get their old bytes back, so a fix is in every file it
    edits or in none."""
    writes = [(Path(os.path.abspath(other.path)), files.encode(other.original, other.text), other.original.raw)
              for other in fixed.others if other.changed]
    if fixed.changed_here:
        writes.append((path, fixed.new_bytes, expected))
    done: list[tuple[Path, bytes, bytes]] = []
    for target, new, old in writes:
        try:
            files.write_atomic(target, new, expected=old)
        except (files.SourceError, OSError) as error:
            for written, written_new, written_old in reversed(done):
                try:
                    files.write_atomic(written, written_old, expected=written_new)
                except (files.SourceError, OSError):
                    pass  # changed again meanwhile: leave what is there
            cause = str(error) if isinstance(error, files.SourceError) else f"cannot write: {error.strerror or error}"
            where = "" if target == path else f"{target}: "
            return dataclasses.replace(fixed, error=where + cause)
        done.append((target, new, old))
    return dataclasses.replace(fixed, written=True)
