"""fix_source / fix_paths: what `ppodoctor fix` and other tools call.

Nothing is written unless asked (`write=True`), and then only: fixes the runtime probe confirmed
(or every fix, when the caller opted out with `probe=False`), in a text that parsed again and
encodes in the file's own encoding (BOM and line endings kept), onto a file that still holds the
bytes that were read. When the probe confirms some fixes and not others, the file is fixed again
with only the confirmed findings allowed, and that text is written. The write is atomic
(files.write_atomic).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

from .. import files
from ..config import Settings
from ..rules.base import Diagnostic
from ..setup.model import FileSetup
from ..trl_api.eras import Target
from ..trl_api.target import resolve_target
from .engine import FixOutcome, Skipped, finding_key, fix_text
from .probe_hook import CONFIRMED, Confirmer, ProbeVerdict, confirm_with_probe


@dataclass(frozen=True)
class FindingOutcome:
    """What `fix --write` did with one fixable finding once the probe had looked."""

    diagnostic: Diagnostic
    verdict: ProbeVerdict
    fixed: bool
    detail: str = ""  # why a confirmed fix was still left out

    @property
    def text(self) -> str:
        if self.fixed:
            return "fixed (confirmed)"
        if self.verdict.status == CONFIRMED:
            return f"not fixed: confirmed, but {self.detail}"
        why = f": {self.verdict.detail}" if self.verdict.detail else ""
        return f"not fixed: {self.verdict.status}{why}"


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

    @property
    def changed(self) -> bool:
        return self.original is not None and self.text is not None and self.text != self.original.text

    @property
    def new_bytes(self) -> bytes:
        return files.encode(self.original, self.text)

    def diff(self) -> str:
        if not self.changed:
            return ""
        old = [line.rstrip("\r\n") + "\n" for line in self.original.text.splitlines(True)]
        new = [line.rstrip("\r\n") + "\n" for line in self.text.splitlines(True)]
        return "".join(difflib.unified_diff(old, new, self.path, self.path))


@dataclass(frozen=True)
class FixReport:
    files: tuple[FileFix, ...]

    @property
    def applied(self) -> tuple[Diagnostic, ...]:
        return tuple(d for f in self.files for d in f.applied)

    @property
    def errors(self) -> tuple[FileFix, ...]:
        return tuple(f for f in self.files if f.error)


def fix_source(source: Union[str, bytes], filename: str = "<stdin>", settings: Optional[Settings] = None,
               target: Optional[Target] = None, unsafe: bool = False,
               allow: Optional[Callable[[Diagnostic], bool]] = None, strict: bool = False) -> FileFix:
    """Fix one source text in memory; nothing is written. `allow` limits which findings are fixed;
    `strict` (a file the user named) has Python compile it first, its refusal being the error."""
    settings = settings or Settings()
    try:
        decoded = files.decode(source) if isinstance(source, bytes) else files.from_text(source)
        if strict:
            files.compile_source(decoded.text, filename)
    except files.SourceError as error:
        return FileFix(filename, error=str(error))
    target = target or resolve_target(settings, Path(filename) if filename != "<stdin>" else None)
    if not files.may_hold_setup(decoded.raw):
        return FileFix(filename, decoded, decoded.text)
    try:
        outcome: FixOutcome = fix_text(decoded.text, filename, target, settings, decoded.newline, unsafe, allow)
    except files.SourceError as error:
        return FileFix(filename, decoded, error=str(error))
    fixed = FileFix(filename, decoded, outcome.text, outcome.applied, outcome.skipped, outcome.remaining,
                    outcome.before, outcome.after, outcome.rounds)
    if fixed.changed:
        try:
            fixed.new_bytes
        except UnicodeEncodeError as error:
            return FileFix(filename, decoded, error=f"the fixed text cannot be written as {decoded.encoding}: "
                                                    f"{error.reason}")
    return fixed


def fix_paths(paths: Iterable[Path], settings: Optional[Settings] = None, target: Optional[Target] = None,
              unsafe: bool = False, write: bool = False, probe: bool = True,
              confirm: Optional[Confirmer] = None, probe_options: Any = None) -> FixReport:
    """Fix files; with `write`, replace each changed one atomically once the probe confirms its fixes.

    `confirm` replaces the default confirmer (ppodoctor.probe.confirm_fixes) when given;
    `probe_options` (a probe.ProbeOptions) is handed to it, `settings` when None.
    """
    settings = settings or Settings()
    results = []
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
        fixed = fix_source(data, str(path), settings, target, unsafe,
                           strict=str(path) in named and path.suffix != ".ipynb")
        if write and fixed.changed and not fixed.error:
            fixed = _write(path, fixed, probe_options or settings, probe, confirm,
                           lambda allow: fix_source(data, str(path), settings, target, unsafe, allow))
        results.append(fixed)
    return FixReport(tuple(results))


def _write(path: Path, fixed: FileFix, options: Any, probe: bool, confirm: Optional[Confirmer],
           refix: Callable[[Callable[[Diagnostic], bool]], FileFix]) -> FileFix:
    import dataclasses

    if not probe:
        return _replace_file(path, fixed)
    verdicts = confirm_with_probe(fixed.before, fixed.after, fixed.applied, options, confirm)
    gated = dataclasses.replace(fixed, verdicts=verdicts, proposed=fixed.applied)
    if all(v.status == CONFIRMED for v in verdicts):
        outcomes = tuple(FindingOutcome(d, v, True) for d, v in zip(fixed.applied, verdicts))
        return _replace_file(path, dataclasses.replace(gated, outcomes=outcomes))
    doubtful = {finding_key(d) for d, v in zip(fixed.applied, verdicts) if v.status != CONFIRMED}
    # A key shared by a confirmed and a doubtful finding stays out: the gate errs towards not writing.
    allowed = {finding_key(d) for d, v in zip(fixed.applied, verdicts) if v.status == CONFIRMED} - doubtful
    partial, left_out = _confirmed_only(refix, allowed) if allowed else (None, "no fix was confirmed")
    written_keys = {finding_key(d) for d in partial.applied} if partial is not None else set()
    outcomes = tuple(FindingOutcome(d, v, finding_key(d) in written_keys,
                                    "" if finding_key(d) in written_keys else left_out or
                                    "it could not be applied without the fixes the probe did not confirm")
                     for d, v in zip(fixed.applied, verdicts))
    count = sum(1 for v in verdicts if v.status != CONFIRMED)
    summary = "; ".join(sorted({f"{v.status}: {v.detail}" if v.detail else v.status
                                for v in verdicts if v.status != CONFIRMED}))
    why = (f"{count} of {len(verdicts)} fixes not confirmed by the runtime probe ({summary}); "
           "rerun with --no-probe to write them unconfirmed")
    if partial is None or not partial.changed:
        return dataclasses.replace(gated, outcomes=outcomes, not_written=why)
    partial = dataclasses.replace(
        partial, verdicts=verdicts, proposed=fixed.applied, outcomes=outcomes,
        skipped=tuple(s for s in partial.skipped if finding_key(s.diagnostic) not in doubtful))
    return _replace_file(path, partial, expected=fixed.original.raw)


def _confirmed_only(refix, allowed: set) -> tuple[Optional[FileFix], str]:
    """The file fixed again with only the confirmed findings allowed; (None, why) when that fails."""
    from .engine import _parses  # the engine's own test: libcst parses it

    partial = refix(lambda diagnostic: finding_key(diagnostic) in allowed)
    if partial.error or partial.text is None:
        return None, f"fixing only the confirmed findings failed: {partial.error or 'no text'}"
    if any(finding_key(d) not in allowed for d in partial.applied):
        return None, "fixing only the confirmed findings also changed others"
    if partial.changed and not _parses(partial.text, False, partial.path):
        return None, "the text with only the confirmed fixes does not parse"
    return partial, ""


def _replace_file(path: Path, fixed: FileFix, expected: Optional[bytes] = None) -> FileFix:
    import dataclasses

    try:
        files.write_atomic(path, fixed.new_bytes, expected=expected if expected is not None else fixed.original.raw)
    except files.SourceError as error:
        return dataclasses.replace(fixed, error=str(error))
    except OSError as error:
        return dataclasses.replace(fixed, error=f"cannot write: {error.strerror or error}")
    return dataclasses.replace(fixed, written=True)
