"""SARIF 2.1.0: every rule with its documentation, every finding with its location and, where the
edit is known, its fix as artifact replacements; files that could not be checked become tool
execution notifications (with the error's region where it has one). Rules carry a `helpUri` only
when `docs-url` names where their documentation is published (report/links.py).

SARIF has no notion of notebook cells, so a notebook's regions and fix replacements are in the
.ipynb file's own lines (the JSON string holding the code), which editors and code scanning open;
the cell and the region within it are in the result's `properties` (`cell`, `cellRegion`)."""

from __future__ import annotations

import json
from pathlib import Path, PurePath
from typing import Optional
from urllib.parse import quote

from .. import __version__
from ..rules import all_rules
from ..rules.base import Rule, first_line
from ..types import ERROR, Diagnostic
from .formats import FILE_ERROR
from .fixdiff import fix_regions, fixed_text, line_replacements
from .links import rule_url

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def artifact_uri(path: str) -> str:
    """Relative paths stay relative (code scanning resolves them against the checkout)."""
    pure = PurePath(path)
    if pure.is_absolute():
        return Path(path).as_uri()
    return quote(pure.as_posix(), safe="/")


def _level(severity: str) -> str:
    return "error" if severity == ERROR else "warning"


def _rule_markdown(rule: Rule) -> str:
    parts = [rule.documentation()]
    for title, which in (("Fires on", "invalid"), ("Does not fire on", "valid")):
        for example in rule.examples(which):
            parts.append(f"{title} (trl {example.trl_version}):\n\n```python\n{example.code.rstrip()}\n```")
    return "\n\n".join(parts)


def rule_descriptor(rule: Rule, docs_url: Optional[str] = None) -> dict:
    documentation = rule.documentation()
    paragraphs = [part for part in documentation.split("\n\n") if part.strip()]
    descriptor = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(paragraphs[0].split()) if paragraphs else rule.summary},
        "help": {"text": documentation or rule.summary, "markdown": _rule_markdown(rule)},
        "defaultConfiguration": {"level": _level(rule.severity)},
        "properties": {"fixable": rule.fixable, "tags": [rule.severity]},
    }
    url = rule_url(docs_url, rule.code, rule.name)
    if url is not None:
        descriptor["helpUri"] = url
    return descriptor


def _region(line: int, column: int, end_line: int, end_column: int) -> dict:
    return {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column}


def _notebook_replacements(file_report, diagnostic: Diagnostic) -> list[dict] | None:
    """A notebook's fix as whole-line replacements in the .ipynb file's own JSON lines."""
    source = file_report.source
    after = fixed_text(file_report, diagnostic)
    if after is None or after == source.text:
        return None
    try:
        fixed = source.encode_text(after)
    except ValueError:
        return None
    fixed_json = fixed[3:].decode("utf-8") if source.bom else fixed.decode("utf-8")
    return [{"deletedRegion": _region(item.start, 1, item.end, 1), "insertedContent": {"text": item.text}}
            for item in line_replacements(source.json_text, fixed_json)]


def sarif_fix(file_report, diagnostic: Diagnostic) -> dict | None:
    """A SARIF fix needs concrete replacements; a fix whose edit is not known here has none."""
    fix = diagnostic.fix
    location = {"uri": artifact_uri(diagnostic.filename)}
    if getattr(file_report.source, "is_notebook", False):
        replacements = _notebook_replacements(file_report, diagnostic)
        if replacements is None:
            return None
    else:
        regions = fix_regions(file_report, diagnostic)
        if not regions:
            return None
        replacements = [{"deletedRegion": _region(r.line, r.column, r.end_line, r.end_column),
                         "insertedContent": {"text": r.text}} for r in regions]
    return {"description": {"text": fix.title},
            "artifactChanges": [{"artifactLocation": location, "replacements": replacements}]}


def sarif_result(file_report, diagnostic: Diagnostic, rule_index: dict[str, int]) -> dict:
    span = diagnostic.span
    notebook = getattr(file_report.source, "is_notebook", False)
    if notebook:  # SARIF has no cells: the region is the code's place in the .ipynb file's JSON
        span = file_report.source.file_span(span)
    result = {
        "ruleId": diagnostic.code,
        "level": _level(diagnostic.severity),
        "message": {"text": diagnostic.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(diagnostic.filename)},
            "region": _region(span.line, span.column, span.end_line, span.end_column),
        }}],
        "properties": {"name": diagnostic.name},
    }
    if diagnostic.related:  # where the cause is written, in a module the script imports
        result["relatedLocations"] = [
            {"id": number, "message": {"text": related.message}, "physicalLocation": {
                "artifactLocation": {"uri": artifact_uri(related.span.file or diagnostic.filename)},
                "region": _region(related.span.line, related.span.column, related.span.end_line,
                                  related.span.end_column)}}
            for number, related in enumerate(diagnostic.related)]
    if notebook and diagnostic.cell is not None:
        cell = diagnostic.cell_span
        result["properties"]["cell"] = diagnostic.cell
        result["properties"]["cellRegion"] = _region(cell.line, cell.column, cell.end_line, cell.end_column)
    if diagnostic.code in rule_index:
        result["ruleIndex"] = rule_index[diagnostic.code]
    if diagnostic.fix is not None:
        result["properties"]["fix"] = {"description": diagnostic.fix.title,
                                       "applicability": diagnostic.fix.applicability}
        fix = sarif_fix(file_report, diagnostic)
        if fix is not None:
            result["fixes"] = [fix]
    if diagnostic.probe:
        result["properties"]["probe"] = diagnostic.probe
    return result


def notification(file_report) -> dict:
    """A file that could not be checked, as a tool execution notification."""
    location = {"artifactLocation": {"uri": artifact_uri(file_report.path)}}
    if file_report.error_position is not None:
        line, column = file_report.error_position
        location["region"] = {"startLine": line, "startColumn": column}
    return {
        "level": "error",
        "message": {"text": first_line(file_report.error) or "could not be checked"},
        "descriptor": {"id": FILE_ERROR},
        "locations": [{"physicalLocation": location}],
    }


def sarif_log(report, docs_url: Optional[str] = None) -> dict:
    rules = all_rules()
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    results = [sarif_result(file_report, diagnostic, rule_index)
               for file_report in report.files for diagnostic in file_report.diagnostics]
    notifications = [notification(item) for item in report.errors]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "ppodoctor", "version": __version__, "semanticVersion": __version__,
                                "rules": [rule_descriptor(rule, docs_url) for rule in rules]}},
            "invocations": [{"executionSuccessful": not report.errors,
                             "toolExecutionNotifications": notifications}],
            "results": results,
        }],
    }


def render_sarif(report, docs_url: Optional[str] = None) -> str:
    return json.dumps(sarif_log(report, docs_url), indent=2) + "\n"
