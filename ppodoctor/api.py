"""The library API that the CLI, the tests and other tools call."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

from . import files, noqa
from .config import Settings
from .rules import select_rules
from .rules.base import Diagnostic, RuleContext
from .setup.model import FileSetup
from .trl_api.eras import Target
from .trl_api.target import resolve_target


@dataclass(frozen=True)
class FileReport:
    path: str
    diagnostics: tuple[Diagnostic, ...] = ()
    error: Optional[str] = None  # one-line cause when the file could not be checked
    setup: Optional[FileSetup] = None
    source: Optional[files.SourceText] = None
    target: Optional[Target] = None


@dataclass(frozen=True)
class CheckReport:
    files: tuple[FileReport, ...]

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return tuple(d for report in self.files for d in report.diagnostics)

    @property
    def errors(self) -> tuple[FileReport, ...]:
        return tuple(report for report in self.files if report.error)

    @property
    def targets(self) -> tuple[Target, ...]:
        seen = []
        for report in self.files:
            if report.target is not None and report.target not in seen:
                seen.append(report.target)
        return tuple(seen)

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if self.diagnostics else 0


def parse_setup(text: str, filename: str) -> FileSetup:
    """Source text → setup model; raises files.SourceError for text libcst cannot parse."""
    import libcst

    from .setup.extract import extract

    try:
        module = libcst.parse_module(text)
    except libcst.ParserSyntaxError as error:
        raise files.SourceError(f"syntax error at {error.raw_line}:{error.raw_column + 1}: "
                                f"{error.message.splitlines()[0]}")
    except RecursionError:
        raise files.SourceError("too deeply nested to parse")
    try:
        return extract(module, filename)
    except RecursionError:
        raise files.SourceError("too deeply nested to analyse")


def run_rules(setup: FileSetup, text: str, target: Target, settings: Settings) -> tuple[Diagnostic, ...]:
    context = RuleContext(target=target, file=setup)
    table = noqa.noqa_lines(text)
    found = []
    for rule in select_rules(settings.select, settings.ignore):
        for diagnostic in rule.check(context):
            if not noqa.is_silenced(diagnostic.code, diagnostic.noqa_lines, table):
                found.append(dataclasses.replace(diagnostic, filename=setup.path))
    return tuple(sorted(found, key=Diagnostic.sort_key))


def check_source(source: Union[str, bytes], filename: str = "<stdin>", settings: Optional[Settings] = None,
                 target: Optional[Target] = None) -> FileReport:
    settings = settings or Settings()
    try:
        decoded = files.decode(source if isinstance(source, bytes) else source.encode("utf-8"))
    except files.SourceError as error:
        return FileReport(filename, error=str(error))
    target = target or resolve_target(settings, Path(filename) if filename != "<stdin>" else None)
    if not files.may_hold_setup(decoded.raw):
        return FileReport(filename, source=decoded, target=target, setup=FileSetup(filename))
    try:
        setup = parse_setup(decoded.text, filename)
    except files.SourceError as error:
        return FileReport(filename, error=str(error), source=decoded, target=target)
    return FileReport(filename, run_rules(setup, decoded.text, target, settings), setup=setup, source=decoded,
                      target=target)


def check_file(path: Path, settings: Optional[Settings] = None, target: Optional[Target] = None) -> FileReport:
    try:
        data = files.read_bytes(path)
    except files.SourceError as error:
        return FileReport(str(path), error=str(error))
    return check_source(data, str(path), settings, target)


def check_paths(paths: Iterable[Path], settings: Optional[Settings] = None,
                target: Optional[Target] = None) -> CheckReport:
    settings = settings or Settings()
    reports = []
    for path, problem in files.discover(list(paths), settings.is_excluded):
        if problem is not None:
            reports.append(FileReport(str(path), error=problem))
        else:
            reports.append(check_file(path, settings, target))
    return CheckReport(tuple(reports))
