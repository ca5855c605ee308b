"""ruff-style text: `path:line:col: CODE [*] message`, a code frame, a summary."""

from __future__ import annotations

from typing import Optional

from ..types import DISPLAY_ONLY, ERROR, SAFE, Diagnostic
from .fixdiff import diff_lines, fixed_text
from .terminal import Styler, plain

# Longer previews are noise in a terminal: the fix command shows the whole change.
MAX_DIFF_LINES = 12


def location(diagnostic: Diagnostic) -> str:
    return diagnostic.location


def headline(diagnostic: Diagnostic, style: Styler = plain) -> str:
    # as ruff marks it: a fix `fix` may write (advice only is no fix it writes)
    marker = style(" [*]", fg="cyan") if diagnostic.fix is not None and diagnostic.fix.applicability != DISPLAY_ONLY \
        else ""
    colour = "red" if diagnostic.severity == ERROR else "yellow"
    return f"{style(location(diagnostic), bold=True)}: {style(diagnostic.code, fg=colour, bold=True)}{marker} " \
           f"{diagnostic.message}"


def fix_preview(diagnostic: Diagnostic, file_report, style: Styler = plain) -> list[str]:
    """The fix as a few diff lines when it can be computed, else nothing (the description stays)."""
    after = fixed_text(file_report, diagnostic) if file_report is not None else None
    if after is None or file_report.source is None or after == file_report.source.text:
        return []
    if file_report.source.is_notebook:
        # notebooks and ignore files are read only when met (cold start)
        from ..notebook import preview_lines

        lines = preview_lines(file_report.source.text, after)
    else:
        lines = diff_lines(file_report.source.text, after)
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + ["..."]
    colours = {"-": "red", "+": "green", "@": "cyan"}
    return [style(line, fg=colours[line[0]]) if line[:1] in colours else line for line in lines]


def code_frame(diagnostic: Diagnostic, lines: list[str], style: Styler = plain,
               file_report: Optional[object] = None, show_fixes: bool = True) -> list[str]:
    span = diagnostic.span
    if not 1 <= span.line <= len(lines):
        return []
    line = lines[span.line - 1].rstrip("\r\n").expandtabs(1)
    number = diagnostic.cell_span.line if diagnostic.cell_span is not None else span.line  # a notebook: the cell's
    width = len(str(number))
    pad = " " * width
    gutter = style(f"{pad} |", fg="blue", bold=True)
    end = span.end_column if span.end_line == span.line else len(line) + 1
    colour = "red" if diagnostic.severity == ERROR else "yellow"
    carets = style("^" * max(1, end - span.column) + " " + diagnostic.code, fg=colour, bold=True)
    frame = [gutter, f"{style(f'{number} |', fg='blue', bold=True)} {line}",
             f"{gutter} {' ' * (span.column - 1)}{carets}"]
    for related in diagnostic.related:  # where the cause is written, in a module the script imports
        where = f"{related.span.file or diagnostic.filename}:{related.span.line}:{related.span.column}"
        frame.append(f"{pad} {style('= cause', fg='cyan', bold=True)}: {where}: {related.message}")
    if diagnostic.fix is not None:
        frame.append(f"{pad} {style('= fix', fg='cyan', bold=True)} ({FIX_NOTES[diagnostic.fix.applicability]}): "
                     f"{diagnostic.fix.title}")
        if show_fixes:
            frame.extend(f"{pad}   {row}" for row in fix_preview(diagnostic, file_report, style))
    if diagnostic.probe:
        frame.append(f"{pad} = probe: {diagnostic.probe}{': ' + diagnostic.probe_detail if diagnostic.probe_detail else ''}")
    return frame


FIX_NOTES = {SAFE: "safe", DISPLAY_ONLY: "advice only",
             "unsafe": "unsafe: written once the probe confirms it, or with --unsafe-fixes"}


def render_text(report, concise: bool = False, style: Styler = plain, show_fixes: bool = True,
                summary: Optional[list[str]] = None) -> str:
    """Findings only: files that could not be checked are the caller's to print on stderr
    (summary.error_lines). `summary` closes the text (None: summary.summary_lines' default)."""
    out: list[str] = []
    for file_report in report.files:
        if not file_report.diagnostics:
            continue
        lines = file_report.source.text.splitlines() if file_report.source is not None else []
        for diagnostic in file_report.diagnostics:
            out.append(headline(diagnostic, style))
            if not concise:
                out.extend(code_frame(diagnostic, lines, style, file_report, show_fixes))
                out.append("")
    if summary is None:
        # loaded only when this output is asked for (cold start)
        from .summary import summary_lines

        summary = summary_lines(report, style)
    out.extend(summary)
    return "\n".join(out) + "\n" if out else ""
