"""Output formats: each module renders a CheckReport one way."""

from __future__ import annotations

from typing import Optional

from .formats import FILE_ERROR, FORMATS

__all__ = ["FILE_ERROR", "FORMATS", "render"]


def render(report, output_format: str, show_fixes: bool = True, color: bool = False,
           docs_url: Optional[str] = None, summary: Optional[list[str]] = None, hide_refuted: bool = False) -> str:
    """`color` only affects the human formats; machine formats never carry escape codes.

    `summary`: the lines that close the human formats (report/summary.py; None: the default
    summary, [] none at all, as with --quiet). `docs_url`: the rule documentation link template.
    Findings the probe refuted are shown as refuted (and not counted), or left out with `hide_refuted`.
    """
    if hide_refuted:
        import dataclasses

        report = dataclasses.replace(report, files=tuple(
            dataclasses.replace(f, diagnostics=tuple(d for d in f.diagnostics if not d.refuted)) for f in report.files))
    if output_format == "json":
        # a format's module loads only when it is chosen (cold start)
        from .json_format import render_json

        return render_json(report, docs_url)
    if output_format == "json-lines":
        # a format's module loads only when it is chosen (cold start)
        from .json_format import render_json_lines

        return render_json_lines(report, docs_url)
    if output_format == "sarif":
        # a format's module loads only when it is chosen (cold start)
        from .sarif import render_sarif

        return render_sarif(report, docs_url)
    if output_format == "github":
        # a format's module loads only when it is chosen (cold start)
        from .github import render_github

        return render_github(report)
    if output_format == "gitlab":
        # a format's module loads only when it is chosen (cold start)
        from .gitlab import render_gitlab

        return render_gitlab(report)
    if output_format == "junit":
        # a format's module loads only when it is chosen (cold start)
        from .junit import render_junit

        return render_junit(report)
    if output_format not in ("text", "concise"):
        raise ValueError(f"unknown output format {output_format!r}; known: {', '.join(FORMATS)}")
    # a format's module loads only when it is chosen (cold start)
    from .terminal import styler
    from .text import render_text

    return render_text(report, concise=output_format == "concise", style=styler(color), show_fixes=show_fixes,
                       summary=summary)
