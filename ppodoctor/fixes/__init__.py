"""`ppodoctor fix`: formatting-preserving fixes computed from the setup model.

    rules → Diagnostic.fix (kind + params) → builders.py (setup model + libcst source map → text
    edits) → engine.py (apply what does not collide, re-parse, re-check, repeat ≤ 10 rounds)
    → api.py (diff, or probe-gated atomic write via files.write_atomic)

A fix is a set of text edits located with libcst metadata, so every byte a fix does not mean to
change is kept: comments, quoting, spacing, CRLF line endings, the BOM and the declared encoding.
Imports a fix needs are added once, in the file's style (imports.py). The runtime probe gates
`--write` through one call, described in probe_hook.py.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["CONFIRMED", "REFUTED", "UNCHECKED", "Confirmer", "ProbeVerdict", "preview_text"]
_FROM_PROBE_HOOK = ("CONFIRMED", "REFUTED", "UNCHECKED", "Confirmer", "ProbeVerdict")


def __getattr__(name: str) -> Any:
    # The probe's contract is loaded when asked for: a report's fix preview imports this package
    # for its builders alone, and `check` should not pay for the probe's types.
    if name in _FROM_PROBE_HOOK:
        from . import probe_hook

        return getattr(probe_hook, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def preview_text(text: str, file_setup, diagnostic) -> Optional[str]:
    """The whole text after this one finding's fix alone (for report previews), or None if it declines.

    `file_setup` must be the setup model of `text` (the one the diagnostic was found in).
    """
    from .engine import preview

    return preview(text, file_setup, diagnostic)
