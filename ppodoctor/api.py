"""The library API that the CLI, the tests and other tools call."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

from . import files, noqa
from .config import Settings
from .records import Record, record
from .rules import select_rules
from .rules.base import Diagnostic, RuleContext
from .setup.model import FileSetup
from .trl_api.eras import Target
from .trl_api.target import resolve_target


@record
class FileReport(Record):
    """One file's findings, or the one-line reason it could not be checked."""

    path: str
    diagnostics: tuple[Diagnostic, ...] = ()
    error: Optional[str] = None  # one-line cause when the file could not be checked
    error_position: Optional[tuple[int, int]] = None  # (line, column) the error points at, where known
    setup: Optional[FileSetup] = None
    source: Optional[files.SourceText] = None
    target: Optional[Target] = None
    probe: Optional[object] = None  # a probe.ProbeResult when the runtime probe looked (--probe)


@record
class CheckReport(Record):
    """Every file's report, sorted by path."""

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
    """Source text → setup model; raises files.SourceError for text libcst cannot parse.

    Text that cannot matter to any rule (setup.relevance) gets an empty model without libcst."""
    from .setup.relevance import may_matter

    if not may_matter(text):
        return FileSetup(filename)
    import libcst

    from .setup.extract import extract

    try:
        module = libcst.parse_module(text)
    except libcst.ParserSyntaxError as error:
        raise _syntax_error(text, error) from None
    except RecursionError:
        raise files.SourceError("too deeply nested to parse") from None
    try:
        return extract(module, filename, text=text)
    except RecursionError:
        raise files.SourceError("too deeply nested to analyse") from None


def _syntax_error(text: str, error) -> files.SourceError:
    """Python's own account of a syntax error (libcst's positions and wording are its parser's);
    libcst's when Python accepts the text (syntax newer than libcst knows)."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as python:
        return files.syntax_error(python)
    except (ValueError, RecursionError, MemoryError):
        pass
    position = (error.raw_line, error.raw_column + 1)
    return files.SourceError(f"cannot parse at {position[0]}:{position[1]}: {error.message.splitlines()[0]}",
                             position)


def failed(filename: str, error: files.SourceError, **fields) -> FileReport:
    """The report of a file that could not be checked, with the error's cause and position."""
    return FileReport(filename, error=str(error), error_position=error.position, **fields)


def run_rules(setup: FileSetup, text: str, target: Target, settings: Settings) -> tuple[Diagnostic, ...]:
    context = RuleContext(target=target, file=setup)
    table = noqa.noqa_lines(text)
    found = []
    for rule in select_rules(*settings.rule_codes(setup.path)):
        for diagnostic in rule.check(context):
            if not noqa.is_silenced(diagnostic.code, diagnostic.noqa_lines, table):
                found.append(dataclasses.replace(diagnostic, filename=setup.path))
    return tuple(sorted(found, key=Diagnostic.sort_key))


def check_source(source: Union[str, bytes], filename: str = "<stdin>", settings: Optional[Settings] = None,
                 target: Optional[Target] = None, strict: bool = False) -> FileReport:
    """One file's report. A file whose bytes cannot hold a PPO setup (files.may_hold_setup) is not
    even decoded: nothing in it could be reported, its encoding included; unless `strict` (a file
    the user named): then it is decoded and compiled, and Python's refusal is the report's error."""
    settings = settings or Settings()
    raw = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
    if not strict and not files.may_hold_setup(raw):
        target = target or resolve_target(settings, Path(filename) if filename != "<stdin>" else None)
        return FileReport(filename, setup=FileSetup(filename), target=target)
    try:
        decoded = files.decode(source) if isinstance(source, bytes) else files.from_text(source)
        if strict:
            files.compile_source(decoded.text, filename)
    except files.SourceError as error:
        return failed(filename, error)
    target = target or resolve_target(settings, Path(filename) if filename != "<stdin>" else None)
    if not files.may_hold_setup(raw):
        return FileReport(filename, setup=FileSetup(filename), source=decoded, target=target)
    try:
        setup = parse_setup(decoded.text, filename)
    except files.SourceError as error:
        return failed(filename, error, source=decoded, target=target)
    return FileReport(filename, run_rules(setup, decoded.text, target, settings), setup=setup, source=decoded,
                      target=target)


def check_file(path: Path, settings: Optional[Settings] = None, target: Optional[Target] = None,
               strict: bool = False) -> FileReport:
    try:
        data = files.read_bytes(path)
    except files.SourceError as error:
        return failed(str(path), error)
    return check_source(data, str(path), settings, target, strict)


def check_paths(paths: Iterable[Path], settings: Optional[Settings] = None,
                target: Optional[Target] = None,
                progress: Optional[Callable[[int], Optional[Callable[[], None]]]] = None,
                jobs: Optional[int] = None) -> CheckReport:
    """Every file under `paths`, sorted by path; see scan.py for the prefilter and the worker pool.

    `progress(total)` may return a callable that is called once per file checked (the CLI's bar);
    `jobs` caps the worker processes (1 parses everything in this process).
    """
    from .scan import scan

    return CheckReport(scan(paths, settings or Settings(), target, progress, jobs))


def probe_report(report: CheckReport, options=None, settings: Optional[Settings] = None) -> CheckReport:
    """Runs the runtime probe over a check's files: verdicts on findings, PPD501-504, memory plans.

    `options` is a probe.ProbeOptions (default: this interpreter, offline). torch and TRL are
    imported only in the probe's subprocess.
    """
    from .probe.report import probe_check_report

    return probe_check_report(report, options, settings or Settings())



def __getattr__(name: str):
    # fix_source / fix_paths live in fixes/ (which imports this module), so they are re-exported lazily.
    if name in ("fix_source", "fix_paths", "FileFix", "FixReport"):
        from .fixes import api as fixes_api

        return getattr(fixes_api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
