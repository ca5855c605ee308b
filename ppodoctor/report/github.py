"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`; warnings become `::warning`.
A notebook's finding is placed on the .ipynb file's JSON line holding the code, with the cell
location (`at cell 3:8:9`) in the title.
"""

from __future__ import annotations

from ..types import WARNING, Diagnostic


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diagnostic: Diagnostic, source=None) -> str:
    span = diagnostic.span
    title = f"{diagnostic.code} {diagnostic.name}"
    if getattr(source, "is_notebook", False):
        # An annotation is placed on the file's own lines: the JSON line holding the code.
        span = source.file_span(span)
        if diagnostic.cell is not None:
            title += f" at cell {diagnostic.cell}:{diagnostic.cell_span.line}:{diagnostic.cell_span.column}"
    level = "warning" if diagnostic.severity == WARNING else "error"
    properties = [("file", diagnostic.filename), ("line", span.line), ("col", span.column),
                  ("endLine", span.end_line), ("endColumn", span.end_column), ("title", title)]
    joined = ",".join(f"{key}={_escape_property(str(value))}" for key, value in properties)
    message = diagnostic.message
    if diagnostic.fix is not None:
        message += f"\nFix: {diagnostic.fix.title}"
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
    lines.extend(annotation(diagnostic, file_report.source)
                 for file_report in report.files for diagnostic in file_report.diagnostics)
    return "".join(line + "\n" for line in lines)
