"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`; warnings become `::warning`.
"""

from __future__ import annotations

from ..rules.base import WARNING, Diagnostic


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diagnostic: Diagnostic) -> str:
    span = diagnostic.span
    level = "warning" if diagnostic.severity == WARNING else "error"
    properties = [("file", diagnostic.filename), ("line", span.line), ("col", span.column),
                  ("endLine", span.end_line), ("endColumn", span.end_column),
                  ("title", f"{diagnostic.code} {diagnostic.name}")]
    joined = ",".join(f"{key}={_escape_property(str(value))}" for key, value in properties)
    message = diagnostic.message
    if diagnostic.fix is not None:
        message += f"\nFix: {diagnostic.fix.description}"
    return f"::{level} {joined}::{_escape_data(message)}"


def error_annotation(file_report) -> str:
    """A file that could not be checked, at the error's position where it has one."""
    properties = [("file", file_report.path)]
    if file_report.error_position is not None:
        properties += [("line", file_report.error_position[0]), ("col", file_report.error_position[1])]
    properties.append(("title", "ppodoctor"))
    joined = ",".join(f"{key}={_escape_property(str(value))}" for key, value in properties)
    return f"::error {joined}::{_escape_data(file_report.error)}"


def render_github(report) -> str:
    lines = [error_annotation(item) for item in report.errors]
    lines.extend(annotation(diagnostic) for diagnostic in report.diagnostics)
    return "".join(line + "\n" for line in lines)
