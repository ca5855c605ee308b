"""One document's check, and its findings as LSP diagnostics.

The check is api.check_source on the editor's text with the document's FileContext, so the
findings are the ones `ppodoctor check` prints for the file at that path. A text that cannot be
parsed gives one diagnostic at the place Python names (as ruff's `invalid-syntax`), without a
code; the probe's verdicts, when it looked at exactly this text, are in the message and in `data`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from lsprotocol import types

from .. import api
from ..report.links import rule_url
from ..types import Diagnostic
from .options import FileContext, ServerOptions
from .positions import Lines, span_offsets

SOURCE = "ppodoctor"
_AT = re.compile(r"\bat (\d+):(\d+)\b")


def text_of(value: Any) -> str:
    """An enum member's value (severity, applicability, verdict) as the string LSP clients get."""
    return str(getattr(value, "value", value))


def fix_title(diagnostic: Diagnostic) -> str:
    return diagnostic.fix.title


def is_safe(diagnostic: Diagnostic) -> bool:
    return text_of(diagnostic.fix.applicability) == "safe"


@dataclass
class Finding:
    """A ppodoctor finding and the LSP diagnostic that shows it."""

    diagnostic: Diagnostic
    lsp: types.Diagnostic


@dataclass
class Linted:
    """A document's text as checked, what the check found and how it is shown."""

    uri: str
    version: Optional[int]
    text: str
    context: FileContext
    report: api.FileReport
    findings: list[Finding] = field(default_factory=list)
    error: Optional[types.Diagnostic] = None  # the file could not be checked
    cache: dict = field(default_factory=dict)  # what code actions computed from this text

    @property
    def body(self) -> str:
        """The text the report's positions refer to: the editor's, less a BOM."""
        return self.report.source.text if self.report.source is not None else self.text

    @property
    def shift(self) -> int:
        return len(self.text) - len(self.body)

    def diagnostics(self) -> list[types.Diagnostic]:
        return [finding.lsp for finding in self.findings] + ([self.error] if self.error is not None else [])


def lint(uri: str, version: Optional[int], text: str, path: Optional[Path], context: FileContext,
         options: ServerOptions, encoding: str, probed: Optional[api.FileReport] = None) -> Linted:
    """Check `text`; `probed` is a report of the same text with the probe's verdicts, if any."""
    filename = str(path) if path is not None else uri
    report = probed if probed is not None else api.check_source(text, filename, context.settings, context.target)
    linted = Linted(uri, version, text, context, report)
    lines = Lines(text, encoding)
    for diagnostic in report.diagnostics:
        start, end = span_offsets(linted.body, diagnostic.span.line, diagnostic.span.column,
                                  diagnostic.span.end_line, diagnostic.span.end_column)
        url = rule_url(context.settings.docs_url, diagnostic.code, diagnostic.name)
        lsp = _lsp_diagnostic(diagnostic, lines, start + linted.shift, end + linted.shift, url)
        if diagnostic.related:
            lsp.related_information = _related(diagnostic, encoding)
        linted.findings.append(Finding(diagnostic, lsp))
    if report.error and options.show_syntax_errors:
        linted.error = _error_diagnostic(report.error, text, lines)
    return linted


def _related(diagnostic: Diagnostic, encoding: str) -> list[types.DiagnosticRelatedInformation]:
    """Where the cause is written in another file (a module the script imports), in that file's
    positions; a file that cannot be read now is left out."""
    found = []
    for related in diagnostic.related:
        span = related.span
        try:
            other = Path(span.file).resolve()
            text = other.read_text(encoding="utf-8", errors="surrogateescape")
        except (OSError, ValueError):
            continue
        start, end = span_offsets(text, span.line, span.column, span.end_line, span.end_column)
        location = types.Location(other.as_uri(), _range(Lines(text, encoding), start, end))
        found.append(types.DiagnosticRelatedInformation(location, related.message))
    return found


def _range(lines: Lines, start: int, end: int) -> types.Range:
    (line, character), (end_line, end_character) = lines.position(start), lines.position(end)
    return types.Range(types.Position(line, character), types.Position(end_line, end_character))


_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def _lsp_diagnostic(diagnostic: Diagnostic, lines: Lines, start: int, end: int,
                    url: Optional[str] = None) -> types.Diagnostic:
    severity = _SEVERITY.get(text_of(diagnostic.severity), types.DiagnosticSeverity.Information)
    message = diagnostic.message
    verdict = text_of(diagnostic.probe) if diagnostic.probe is not None else None
    if verdict is not None:
        detail = f": {diagnostic.probe_detail}" if diagnostic.probe_detail else ""
        message += f" [probe: {verdict}{detail}]"
        if verdict == "refuted":
            severity = types.DiagnosticSeverity.Information  # the runtime showed it does not happen
    data: dict[str, Any] = {"name": diagnostic.name, "probe": verdict, "probeDetail": diagnostic.probe_detail or None}
    if diagnostic.fix is not None:
        data["fix"] = {"title": fix_title(diagnostic), "applicability": text_of(diagnostic.fix.applicability)}
    return types.Diagnostic(range=_range(lines, start, end), message=message, severity=severity,
                            code=text_of(diagnostic.code), source=SOURCE,
                            code_description=types.CodeDescription(href=url) if url else None, data=data)


def _error_diagnostic(error: str, text: str, lines: Lines) -> types.Diagnostic:
    """The reason the file could not be checked, where Python (or libcst) says it is."""
    found = _AT.search(error)
    start = end = 0
    if found:
        start, end = span_offsets(text, int(found.group(1)), int(found.group(2)), int(found.group(1)),
                                  int(found.group(2)) + 1)
        if text[start:end] in ("", "\n", "\r"):
            end = start
    return types.Diagnostic(range=_range(lines, start, end), message=f"ppodoctor cannot check this file: {error}",
                            severity=types.DiagnosticSeverity.Error, source=SOURCE)
