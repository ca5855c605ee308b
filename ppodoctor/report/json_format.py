"""JSON and JSON lines: one object per finding, and one per file that could not be checked (with a
null code, as ruff reports invalid syntax), in path order."""

from __future__ import annotations

import json
from typing import Optional

from ..types import ERROR, Diagnostic
from .links import rule_url


def diagnostic_dict(diagnostic: Diagnostic, docs_url: Optional[str] = None) -> dict:
    # In a notebook, as ruff does: the cell, and the row and column within it.
    span = diagnostic.cell_span or diagnostic.span
    fix = diagnostic.fix
    return {
        "code": diagnostic.code,
        "name": diagnostic.name,
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "filename": diagnostic.filename,
        "cell": diagnostic.cell,
        "location": {"row": span.line, "column": span.column},
        "end_location": {"row": span.end_line, "column": span.end_column},
        "fix": None if fix is None else {"applicability": fix.applicability, "message": fix.title},
        "url": rule_url(docs_url, diagnostic.code, diagnostic.name),
        "probe": diagnostic.probe,
        # Why the probe said so ("reproduced: ...", "does not reproduce: ...", or why it could not tell).
        "probe_detail": diagnostic.probe_detail or None,
        # Where the cause is written when that is elsewhere (a module the script imports).
        "related": [related_dict(related) for related in diagnostic.related],
    }


def related_dict(related) -> dict:
    span = related.span
    return {"filename": span.file, "location": {"row": span.line, "column": span.column},
            "end_location": {"row": span.end_line, "column": span.end_column}, "message": related.message}


def error_dict(file_report) -> dict:
    """A file that could not be checked: the cause is the message; the position is the error's
    where it has one (a syntax error), else the file's start."""
    row, column = file_report.error_position or (1, 1)
    location = {"row": row, "column": column}
    return {"code": None, "name": None, "severity": ERROR, "message": file_report.error,
            "filename": file_report.path, "cell": None, "location": location, "end_location": dict(location),
            "fix": None,
            "url": None, "probe": None, "probe_detail": None, "related": []}


def entries(report, docs_url: Optional[str] = None) -> list[dict]:
    out = []
    for file_report in report.files:
        if file_report.error:
            out.append(error_dict(file_report))
        out.extend(diagnostic_dict(d, docs_url) for d in file_report.diagnostics)
    return out


def render_json(report, docs_url: Optional[str] = None) -> str:
    return json.dumps(entries(report, docs_url), indent=2) + "\n"


def render_json_lines(report, docs_url: Optional[str] = None) -> str:
    """One JSON object per finding and line, for streaming consumers (`jq -c`, log shippers)."""
    return "".join(json.dumps(entry) + "\n" for entry in entries(report, docs_url))
