"""The flow of `ppodoctor check`: check (or fix, or diff), then print and pick the exit status.

Every file that could not be checked is one `path: error: cause` line on stderr whatever the output
format (and also in the machine formats themselves); the findings go to stdout or --output-file.
The status and the wording come from report/summary.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from . import api
from .cli_common import echo_err, emit, make_probe_options, stdout_colour
from .core import CheckReport
from .records import Record, record
from .report import render
from .report.summary import FixSummary, error_line, error_lines, exit_status, render_statistics, summary_lines
from .report import terminal
from .report.terminal import color_enabled, styler


@record
class CheckOptions(Record):
    output_format: str = "text"
    output_file: Optional[str] = None
    stdin_filename: Optional[str] = None
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    statistics: bool = False
    exit_zero: bool = False
    exit_non_zero_on_fix: bool = False
    quiet: bool = False
    silent: bool = False
    show_fixes: Optional[bool] = None  # None: previews in the text, no list of what --fix wrote
    probe: Optional[bool] = None  # True: probe the findings; False: --fix writes unconfirmed
    hide_refuted: bool = False  # with the probe: leave out what it refuted (never counted anyway)
    probe_settings: tuple = ()

    @property
    def stdin_name(self) -> str:
        return self.stdin_filename or "<stdin>"


def run_check(paths: tuple[str, ...], settings, options: CheckOptions) -> int:
    if options.fix and options.probe:
        # `--fix --probe` only: the probe's library stays off a plain check's start-up
        from .pipeline.probe_gate import warm_probe

        with warm_probe():  # the fixes' gate and the probe of the result ask one warm worker
            return _run_check(paths, settings, options)
    return _run_check(paths, settings, options)


def _run_check(paths: tuple[str, ...], settings, options: CheckOptions) -> int:
    err_colour = color_enabled(sys.stderr) and not options.silent
    style = styler(err_colour)
    say = (lambda lines: None) if options.silent else (lambda lines: echo_err(lines, err_colour))
    if options.fix and "-" in paths and not options.diff:
        raise click.UsageError("--fix cannot write to stdin; use --diff to see the fixes, or name the file")
    if (options.diff or options.fix) and _has_launch(paths):
        raise click.UsageError("--fix and --diff edit scripts: name the script, not its launch")
    if options.diff:
        return _run_diff(paths, settings, options, say, style)
    fixes = None
    if options.fix:
        fixes = _apply_fixes(paths, settings, options, say)
    report = _check(paths, settings, options)
    if options.probe:
        report = api.probe_report(report, make_probe_options(**dict(options.probe_settings)), settings)
    checked_errors = {item.path for item in report.errors}
    # A file --fix could not write (changed on disk, not writable) fails although it was checked.
    fix_errors = [(path, cause) for path, cause in (fixes.errors if fixes else ()) if path not in checked_errors]
    say(error_lines(report, style) + [error_line(path, cause, style) for path, cause in fix_errors])
    fixed = fixes.fixed if fixes else ()
    if not options.silent or options.output_file is not None:
        emit(_report_text(report, settings, options, fixed), options.output_file,
             options.output_file is None and stdout_colour())
    return exit_status(report, exit_zero=options.exit_zero, fixed=len(fixed),
                       exit_non_zero_on_fix=options.exit_non_zero_on_fix, errors=len(fix_errors))


def _check(paths: tuple[str, ...], settings, options: CheckOptions):
    reports = []
    if _has_launch(paths):
        # launches only: `check` of Python files never imports the launch readers (bashlex, PyYAML)
        from .launch_check import check_launches

        launched, paths = check_launches(paths, settings)
        reports.extend(launched)
        if not paths:
            return api.CheckReport(tuple(reports))
    if "-" in paths:
        # Source from an editor is named by the user: it is always decoded and compiled.
        reports.append(api.check_source(sys.stdin.buffer.read(), options.stdin_name, settings, strict=True))
    file_paths = [Path(path) for path in paths if path != "-"]
    quiet = options.quiet or options.silent
    report = _check_with_progress(api, file_paths, settings, quiet)
    return api.CheckReport(tuple(reports) + report.files)


def _has_launch(paths) -> bool:
    """A launch command (`check -- accelerate launch ...`) or a shell launcher among the paths."""
    first = Path(paths[0]).name if paths else ""
    return any(path.endswith(".sh") for path in paths) or (
        first in ("accelerate", "accelerate-launch", "torchrun", "deepspeed") or first.startswith("python")) \
        and not Path(paths[0]).exists()


def _check_with_progress(api, file_paths, settings, quiet: bool):
    bars = []

    def start(total):
        bar = None if quiet else terminal.progress_for(total)  # looked up per call: tests stand in for it
        if bar is None:
            return None
        bars.append(bar.__enter__())
        return lambda: bar.update(1)

    try:
        return api.check_paths(file_paths, settings, progress=start)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)


def _apply_fixes(paths, settings, options: CheckOptions, say):
    """--fix: what `fix --write` does (the probe confirms each fix first, unless --no-probe)."""
    # `--fix` only: the fix stage is not paid by a plain check
    from .pipeline.fix import fix_paths
    use_probe = options.probe is not False
    probe_options = make_probe_options(**dict(options.probe_settings)) if use_probe else None
    fix_report = fix_paths([Path(path) for path in paths], settings, unsafe=options.unsafe_fixes, write=True,
                           probe=use_probe, probe_options=probe_options)
    summary = FixSummary(fix_report, write=True, use_probe=use_probe)
    if not options.quiet:
        say(list(summary.messages))
        if not use_probe and summary.fixed:
            say([summary.closing[0]])
    return summary


def _run_diff(paths, settings, options: CheckOptions, say, style) -> int:
    """--diff: the diff `--fix` would apply (the same probe gate, unless --no-probe) on stdout, nothing
    written; 1 when there is something to fix."""
    # `--fix`/`--diff` only: the fix stage is not paid by a plain check
    from .pipeline.fix import FixReport, fix_paths
    use_probe = options.probe is not False
    probe_options = make_probe_options(**dict(options.probe_settings)) if use_probe else None
    sources = [(options.stdin_name, sys.stdin.buffer.read())] if "-" in paths else []
    decided = fix_paths([Path(path) for path in paths if path != "-"], settings, unsafe=options.unsafe_fixes,
                        probe=use_probe, probe_options=probe_options, sources=sources)
    summary = FixSummary(FixReport(tuple(sorted(decided.files, key=lambda item: item.path)), probe=use_probe),
                         write=False, use_probe=use_probe)
    say([error_line(path, cause, style) for path, cause in summary.errors])
    if not options.silent or options.output_file is not None:
        emit(summary.diff, options.output_file)
    if not options.quiet:
        say(list(summary.messages) + list(summary.closing))
    return exit_status(CheckReport(()), exit_zero=options.exit_zero, would_fix=summary.would_fix,
                       errors=len(summary.errors))


def _report_text(report, settings, options: CheckOptions, fixed) -> str:
    colour = options.output_file is None and stdout_colour()
    if options.statistics:
        return render_statistics(report, as_json=options.output_format == "json",
                                 unsafe_fixes=options.unsafe_fixes)
    summary = [] if options.quiet else summary_lines(report, styler(colour), fixed=fixed,
                                                     unsafe_fixes=options.unsafe_fixes,
                                                     show_fixes=bool(options.show_fixes))
    text = render(report, options.output_format, color=colour, show_fixes=options.show_fixes is not False,
                  docs_url=settings.docs_url, summary=summary, hide_refuted=options.hide_refuted)
    if options.probe and options.output_format == "text":
        # `--probe` only: the probe stage is not paid by a plain check
        from .pipeline.probe_report import render_probe_text

        text += "\n" + render_probe_text(report)
    return text
