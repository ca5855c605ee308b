from __future__ import annotations

import json

from ..rules.base import Diagnostic


def diagnostic_dict(diagnostic: Diagnostic) -> dict:
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
        "url": diagnostic.url,
        "probe": diagnostic.probe,
        # Why the probe said so ("reproduced: ...", "does not reproduce: ...", or why it could not tell).
        "probe_detail": diagnostic.probe_detail or None,
    }


def render_json(report) -> str:
    return json.dumps([diagnostic_dict(d) for d in report.diagnostics], indent=2) + "\n"


def render_json_lines(report) -> str:
    """One JSON object per finding and line, for streaming consumers (`jq -c`, log shippers)."""
    return "".join(json.dumps(diagnostic_dict(d)) + "\n" for d in report.diagnostics)
