"""Output formats: each module renders a CheckReport one way."""

from __future__ import annotations

FORMATS = ("text", "concise", "json", "json-lines", "sarif", "github")


def render(report, output_format: str, show_fixes: bool = True, color: bool = False,
           hide_refuted: bool = False) -> str:
    """`color` only affects the human formats; machine formats never carry escape codes. Findings the
    probe refuted are shown as refuted (and not counted), or left out with `hide_refuted`."""
    if hide_refuted:
        import dataclasses

        report = dataclasses.replace(report, files=tuple(
            dataclasses.replace(f, diagnostics=tuple(d for d in f.diagnostics if not d.refuted)) for f in report.files))
    if output_format == "json":
        from .json_format import render_json

        return render_json(report)
    if output_format == "json-lines":
        from .json_format import render_json_lines

        return render_json_lines(report)
    if output_format == "sarif":
        from .sarif import render_sarif

        return render_sarif(report)
    if output_format == "github":
        from .github import render_github

        return render_github(report)
    if output_format not in ("text", "concise"):
        raise ValueError(f"unknown output format {output_format!r}; known: {', '.join(FORMATS)}")
    from .terminal import styler
    from .text import render_text

    return render_text(report, concise=output_format == "concise", style=styler(color))
