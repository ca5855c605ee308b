"""fix_source / fix_paths: what `ppodoctor fix` and other tools call.

Nothing is written unless asked (`write=True`), and then only when: the fixed text parsed again,
it encodes in the file's own encoding (BOM and line endings kept), the runtime probe confirmed
every applied fix (or the caller opted out with `probe=False`), and the file on disk still holds
the bytes that were read. The write itself is atomic (files.write_atomic).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from .. import files
from ..config import Settings
from ..rules.base import Diagnostic
from ..setup.model import FileSetup
from ..trl_api.eras import Target
from ..trl_api.target import resolve_target
from .engine import FixOutcome, Skipped, fix_text
from .probe_hook import Confirmer, ProbeVerdict, confirm_with_probe


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
    verdicts: tuple[ProbeVerdict, ...] = ()  # one per applied fix when the probe looked

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
               target: Optional[Target] = None, unsafe: bool = False) -> FileFix:
    """Fix one source text in memory; nothing is written."""
    settings = settings or Settings()
    try:
        decoded = files.decode(source if isinstance(source, bytes) else source.encode("utf-8"))
    except files.SourceError as error:
        return FileFix(filename, error=str(error))
    target = target or resolve_target(settings, Path(filename) if filename != "<stdin>" else None)
    if not files.may_hold_setup(decoded.raw):
        return FileFix(filename, decoded, decoded.text)
    try:
        outcome: FixOutcome = fix_text(decoded.text, filename, target, settings, decoded.newline, unsafe)
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
    for path, problem in files.discover(list(paths), settings.is_excluded):
        if problem is not None:
            results.append(FileFix(str(path), error=problem))
            continue
        try:
            data = files.read_bytes(path)
        except files.SourceError as error:
            results.append(FileFix(str(path), error=str(error)))
            continue
        fixed = fix_source(data, str(path), settings, target, unsafe)
        if write and fixed.changed and not fixed.error:
            fixed = _write(path, fixed, probe_options or settings, probe, confirm)
        results.append(fixed)
    return FixReport(tuple(results))


def _write(path: Path, fixed: FileFix, options: Any, probe: bool, confirm: Optional[Confirmer]) -> FileFix:
    import dataclasses

    verdicts: tuple[ProbeVerdict, ...] = ()
    if probe:
        verdicts = confirm_with_probe(fixed.before, fixed.after, fixed.applied, options, confirm)
        doubtful = [v for v in verdicts if v.status != "confirmed"]
        if doubtful:
            summary = "; ".join(sorted({f"{v.status}: {v.detail}" if v.detail else v.status for v in doubtful}))
            return dataclasses.replace(fixed, verdicts=verdicts, not_written=(
                f"{len(doubtful)} of {len(verdicts)} fixes not confirmed by the runtime probe ({summary}); "
                "rerun with --no-probe to write them unconfirmed"))
    try:
        files.write_atomic(path, fixed.new_bytes, expected=fixed.original.raw)
    except files.SourceError as error:
        return dataclasses.replace(fixed, verdicts=verdicts, error=str(error))
    except OSError as error:
        return dataclasses.replace(fixed, verdicts=verdicts, error=f"cannot write: {error.strerror or error}")
    return dataclasses.replace(fixed, verdicts=verdicts, written=True)
