"""Output formats: each module renders a CheckReport one way."""

from __future__ import annotations

FORMATS = ("text", "concise", "json")


def render(report, output_format: str, show_fixes: bool = True) -> str:
    if output_format == "json":
        from .json_format import render_json

        return render_json(report)
    from .text import render_text

    return render_text(report, concise=output_format == "concise")
