"""ruff-style text: `path:line:col: CODE [*] message`, a code frame, a summary."""

from __future__ import annotations

from ..rules.base import ERROR, SAFE, Diagnostic


def location(diagnostic: Diagnostic) -> str:
    return f"{diagnostic.filename}:{diagnostic.span.line}:{diagnostic.span.column}"


def headline(diagnostic: Diagnostic) -> str:
    marker = " [*]" if diagnostic.fix is not None else ""
    return f"{location(diagnostic)}: {diagnostic.code}{marker} {diagnostic.message}"


def code_frame(diagnostic: Diagnostic, lines: list[str]) -> list[str]:
    span = diagnostic.span
    if not 1 <= span.line <= len(lines):
        return []
    line = lines[span.line - 1].rstrip("\r\n").expandtabs(1)
    width = len(str(span.line))
    pad = " " * width
    end = span.end_column if span.end_line == span.line else len(line) + 1
    carets = "^" * max(1, end - span.column)
    frame = [f"{pad} |", f"{span.line} | {line}", f"{pad} | {' ' * (span.column - 1)}{carets} {diagnostic.code}"]
    if diagnostic.fix is not None:
        note = "safe" if diagnostic.fix.applicability == SAFE else "unsafe, needs --unsafe-fixes"
        frame.append(f"{pad} = fix ({note}): {diagnostic.fix.description}")
    if diagnostic.probe:
        frame.append(f"{pad} = probe: {diagnostic.probe}{': ' + diagnostic.probe_detail if diagnostic.probe_detail else ''}")
    return frame


def summary(report) -> list[str]:
    diagnostics = report.diagnostics
    lines = []
    for file_report in report.errors:
        lines.append(f"{file_report.path}: error: {file_report.error}")
    if diagnostics:
        errors = sum(1 for d in diagnostics if d.severity == ERROR)
        warnings = len(diagnostics) - errors
        fixable = sum(1 for d in diagnostics if d.fix is not None and d.fix.applicability == SAFE)
        unsafe = sum(1 for d in diagnostics if d.fix is not None and d.fix.applicability != SAFE)
        noun = "problem" if len(diagnostics) == 1 else "problems"
        text = f"Found {len(diagnostics)} {noun} ({errors} error{'s' * (errors != 1)}, " \
               f"{warnings} warning{'s' * (warnings != 1)})."
        if fixable:
            text += f"\n[*] {fixable} fixable with `ppodoctor fix --write`."
        if unsafe:
            text += f"\n({unsafe} more fix{'es' * (unsafe != 1)} available with `--unsafe-fixes`.)"
        lines.append(text)
    elif not report.errors:
        lines.append("All checks passed!")
    for target in report.targets:
        lines.append(f"Checked against {target.describe()}.")
    return lines


def render_text(report, concise: bool = False) -> str:
    out: list[str] = []
    for file_report in report.files:
        if not file_report.diagnostics:
            continue
        lines = file_report.source.text.splitlines() if file_report.source is not None else []
        for diagnostic in file_report.diagnostics:
            out.append(headline(diagnostic))
            if not concise:
                out.extend(code_frame(diagnostic, lines))
                out.append("")
    out.extend(summary(report))
    return "\n".join(out) + "\n"
