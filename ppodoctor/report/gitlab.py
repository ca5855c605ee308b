"""GitLab code quality (a JSON array of issues, the `codequality` report of a CI job).

Each finding is {description, check_name, fingerprint, severity, location: {path, lines: {begin,
end}}}; a file that could not be checked is one issue named `file-error`. Paths are made relative to
the project (CI_PROJECT_DIR, else the working directory), as GitLab resolves them against the
repository. The fingerprint ignores the line, so that a finding keeps its identity when code above
it moves (GitLab compares fingerprints between the branch and its target).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter


from ..types import ERROR
from .formats import FILE_ERROR
SEVERITIES = {ERROR: "major", "warning": "minor"}


def project_path(path: str) -> str:
    root = os.environ.get("CI_PROJECT_DIR") or os.getcwd()
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:  # another drive (Windows)
        return path.replace(os.sep, "/")
    return (path if relative.startswith("..") else relative).replace(os.sep, "/")


def _issue(check_name: str, description: str, severity: str, path: str, begin: int, end: int,
           seen: Counter) -> dict:
    key = f"{path}\0{check_name}\0{description}"
    seen[key] += 1  # the same finding twice in a file keeps two fingerprints
    fingerprint = hashlib.sha256(f"{key}\0{seen[key]}".encode("utf-8", "surrogatepass")).hexdigest()
    return {"description": description, "check_name": check_name, "fingerprint": fingerprint,
            "severity": severity, "location": {"path": path, "lines": {"begin": begin, "end": end}}}


def render_gitlab(report) -> str:
    seen: Counter = Counter()
    issues = []
    for file_report in report.files:
        path = project_path(file_report.path)
        if file_report.error:
            line = (file_report.error_position or (1, 1))[0]
            issues.append(_issue(FILE_ERROR, f"{FILE_ERROR}: {file_report.error}", "major", path, line, line, seen))
        for diagnostic in file_report.diagnostics:
            issues.append(_issue(diagnostic.code, f"{diagnostic.code}: {diagnostic.message}",
                                 SEVERITIES.get(diagnostic.severity, "minor"), path, diagnostic.span.line,
                                 diagnostic.span.end_line, seen))
    return json.dumps(issues, indent=2) + "\n"
