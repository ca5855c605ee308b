"""The core every entry point shares: screened source (screening.py) → setup model → rules → a
file's report. `fix` and `migrate` (pipeline/) take the same screening and parse, then add their stage.

`scan` (many files), `fixes` (the fixed-point engine) and `probe` import this; `api` is the facade
that tools call. A report owns its summary: its exit status and what counts as a problem.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional, Union

from . import files, noqa
from .config import Settings
from .records import Record, record
from .rules import select_rules
from .rules.base import RuleContext
from .saved import SavedFiles
from .screening import Screened, screen
from .setup.model import FileSetup, Origin, PPOSetup, RoleBinding
from .trl_api.eras import Target
from .trl_api.target import resolve_target
from .types import Applicability, Diagnostic, ExitStatus, Related, Screen, Span, exit_status

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
    launch: Optional[object] = None  # the launch.model.Launch that starts the file, when a launch is checked


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
    def problems(self) -> tuple[Diagnostic, ...]:
        """The findings that count: all but those the probe refuted (ran the check, no failure)."""
        return tuple(d for d in self.diagnostics if not d.refuted)

    @property
    def refuted(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.refuted)

    @property
    def exit_code(self) -> ExitStatus:
        return exit_status(errors=bool(self.errors), left=bool(self.problems))


def parse_setup(text: str, filename: str, screened: bool = False, argv=None,
                overlay: Optional[dict[str, str]] = None) -> FileSetup:
    """Source text → setup model; raises files.SourceError for text libcst cannot parse. `argv`
    (setup.argv.ScriptArgv): the command line a launch gives the script, bound to its parser.

    Text that cannot matter to any rule (setup.relevance) gets an empty model without libcst;
    `screened`: the caller has already asked setup.relevance (a scan's screening) and it may matter;
    `overlay`: absolute path → text of project modules a fix in progress has changed."""
    # the extractor (libcst) loads only for text that can hold a setup
    from .setup.relevance import may_matter

    if not screened and not may_matter(text):
        return FileSetup(filename)
    import libcst

    # the extractor (libcst) loads only for text that can hold a setup
    from .setup.extract import extract

    try:
        module = libcst.parse_module(text)
    except libcst.ParserSyntaxError as error:
        raise _syntax_error(text, error, filename) from None
    except RecursionError:
        raise files.SourceError("too deeply nested to parse") from None
    try:
        return extract(module, filename, text=text, argv=argv, overlay=overlay)
    except RecursionError:
        raise files.SourceError("too deeply nested to analyse") from None


def _syntax_error(text: str, error, filename: str = "") -> files.SourceError:
    """Python's own account of a syntax error (libcst's positions and wording are its parser's);
    libcst's when Python accepts the text (syntax newer than libcst knows). In a notebook the
    position names the cell (`cell 3:2:5`) and no file position is given (the program's lines are
    not the .ipynb file's)."""
    import ast
    import warnings

    notebook = files.is_notebook(filename)

    def failure(kind: str, line: int, column: int, message: str) -> files.SourceError:
        if notebook:
            # notebooks and ignore files are read only when met (cold start)
            from .notebook import describe_position

            return files.SourceError(f"{kind} at {describe_position(text, line, column)}: {message}")
        return files.SourceError(f"{kind} at {line}:{column}: {message}", (line, column))

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as python:
        return failure("syntax error", python.lineno or 1, python.offset or 1, python.msg)
    except (ValueError, RecursionError, MemoryError):
        pass
    return failure("cannot parse", error.raw_line, error.raw_column + 1, error.message.splitlines()[0])


def failed(filename: str, error: files.SourceError, **fields) -> FileReport:
    """The report of a file that could not be checked, with the error's cause and position."""
    return FileReport(filename, error=str(error), error_position=error.position, **fields)


def run_rules(setup: FileSetup, text: str, target: Target, settings: Settings, launch=None) -> tuple[Diagnostic, ...]:
    if target.trl_path or target.transformers_path:
        # the installation's reader loads only for a target read from an installation
        from .trl_api.installed_facts import use

        use(target)  # the rules read what the tables lack from the target's installation
    context = RuleContext(target=target, file=setup, saved=SavedFiles.near(setup.path), launch=launch)
    table = noqa.noqa_lines(text)
    found = []
    for rule in select_rules(*settings.rule_codes(setup.path)):
        for diagnostic in rule.check(context):
            diagnostic = _in_this_file(_fix_in_data_file(rule, diagnostic, setup, text, target), setup)
            if not noqa.is_silenced(diagnostic.code, diagnostic.noqa_lines, table):
                found.append(dataclasses.replace(diagnostic, filename=setup.path))
    found = _without_superseded(found)
    found.sort(key=Diagnostic.sort_key)
    if files.is_notebook(setup.path):
        # notebooks and ignore files are read only when met (cold start)
        from .notebook import place_in_cells

        return place_in_cells(text, found)
    return tuple(found)


def _without_superseded(found: list[Diagnostic]) -> list[Diagnostic]:
    """One problem, one finding: a rule that names another as its superseder (`superseded_by`) is
    silent on an argument of a trainer call where that rule reports; and a finding several trainer
    calls share (a tokenizer two trainers are given, at the same place, with the same words) is
    reported once, for the first."""
    spoken = {(d.setup_index, d.span, d.rule) for d in found}
    kept, seen = [], set()
    for d in found:
        if d.rule is not None and any((d.setup_index, d.span, other) in spoken for other in d.rule.superseded_by):
            continue
        if (d.code, d.span, d.message) in seen:
            continue
        seen.add((d.code, d.span, d.message))
        kept.append(d)
    return kept


def _in_this_file(diagnostic: Diagnostic, file_setup: FileSetup) -> Diagnostic:
    """A finding whose cause is written in another file (a project module the script imports,
    setup/project.py) points at both places: its own span in this file (a rule that reports at the
    cause is moved to the trainer argument that brings the object in) and the other file's line."""
    index = diagnostic.setup_index
    setup = file_setup.setup_at(index)
    span = diagnostic.span
    if span.file:
        binding = _binding_holding(setup, span) if setup is not None else None
        if setup is None:
            return diagnostic  # nothing of this file to point at (cannot happen: origins come from a trainer call)
        primary = binding.value_span if binding is not None else setup.callee_span
        lines = tuple(sorted({primary.line, setup.span.line}))
        what = f"`{binding.text}` comes from here" if binding is not None else "the cause is here"
        return dataclasses.replace(diagnostic, span=primary, noqa_lines=lines,
                                   related=(Related(span, what), *diagnostic.related))
    if setup is None:
        return diagnostic
    for binding in setup.roles:
        if binding.value_span == span or binding.span == span:
            cause = _elsewhere(binding.origin)
            if cause is not None:
                made = f"`{binding.text}` is made here: `{cause[1]}`" if cause[1] else f"`{binding.text}` is made here"
                return dataclasses.replace(diagnostic, related=(Related(cause[0], made), *diagnostic.related))
    return diagnostic


def _fix_in_data_file(rule, diagnostic: Diagnostic, setup: FileSetup, text: str, target: Target) -> Diagnostic:
    """A fix whose edits would fall in a data file the script reads (setup/datafiles.py: a JSON or YAML
    config) is advice only, and the finding points at the line there: no fix edits such a file."""
    if diagnostic.fix is None or not setup.data_files:
        return diagnostic
    # the fix machinery loads only for a script that reads a data file (cold start)
    from .fixes.source import Elsewhere, SourceMap
    from .rules.base import FixContext, setup_of

    try:
        rule.fix(diagnostic, FixContext(file=setup, setup=setup_of(setup, diagnostic),
                                                   source=SourceMap(text, "\n"), target=target))
    except Elsewhere as moved:
        if moved.file in setup.data_files:
            return dataclasses.replace(
                diagnostic, fix=dataclasses.replace(diagnostic.fix, applicability=Applicability.DISPLAY_ONLY),
                related=(*diagnostic.related, Related(Span(moved.line, 1, moved.line, 1, moved.file),
                                                      f"written in {moved.file}: change it there")))
    except Exception:  # noqa: BLE001 - a fix that fails here fails in `fix` too, which says why
        pass
    return diagnostic


def _elsewhere(origin: Optional[Origin]) -> Optional[tuple[Span, str]]:
    """The first span of another file where an object is made (its own call, then what it wraps),
    with the call's text."""
    while origin is not None:
        if origin.span is not None and origin.span.file:
            return origin.span, origin.text
        origin = origin.base
    return None


def _binding_holding(setup: PPOSetup, span: Span) -> Optional[RoleBinding]:
    """The role whose object's origin (its call, keywords, operations, what it wraps) has `span`."""
    for binding in setup.roles:
        for origin in binding.members():  # a list's elements each (reward functions), else the value
            while origin is not None:
                spans = [origin.span] + [k.span for k in origin.keywords] + [k.value_span for k in origin.keywords] \
                    + [o.span for o in origin.operations] + [origin.function.name_span if origin.function else None]
                if span in spans:
                    return binding
                origin = origin.base
    return None


def parse_screened(screened: Screened) -> FileSetup:
    """The setup model of a screened file: parsed only when screening says it may hold one; raises
    files.SourceError for text libcst cannot parse."""
    if screened.screen != Screen.CHECK:
        return FileSetup(screened.name)
    return parse_setup(screened.text, screened.name, screened=True)


def check_screened(screened: Screened, settings: Settings, target: Optional[Target] = None) -> FileReport:
    """The check's own stages after screening: target, parse, rules."""
    filename = screened.name
    if screened.screen == Screen.ERROR:
        return FileReport(filename, error=screened.error, error_position=screened.error_position)
    target = target or resolve_target(settings, Path(filename) if filename != "<stdin>" else None)
    try:
        setup = parse_screened(screened)
    except files.SourceError as error:
        return failed(filename, error, source=screened.source, target=target)
    diagnostics = run_rules(setup, screened.text, target, settings) if screened.screen == Screen.CHECK else ()
    return FileReport(filename, diagnostics, setup=setup, source=screened.source, target=target)


def check_source(source: Union[str, bytes], filename: str = "<stdin>", settings: Optional[Settings] = None,
                 target: Optional[Target] = None, strict: bool = False) -> FileReport:
    """One file's report (see screening.py for what is read of it). `strict`: the user named this
    file, so it is decoded and compiled whatever it holds, and Python's refusal is the report's error."""
    return check_screened(screen(source, filename, strict), settings or Settings(), target)


def check_file(path: Path, settings: Optional[Settings] = None, target: Optional[Target] = None,
               strict: bool = False) -> FileReport:
    try:
        data = files.read_bytes(path)
    except files.SourceError as error:
        return failed(str(path), error)
    return check_source(data, str(path), settings, target, strict)
