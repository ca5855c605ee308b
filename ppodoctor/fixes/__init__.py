"""`ppodoctor fix`: formatting-preserving fixes computed from the setup model.

    rules → Diagnostic.fix (title, applicability) → the rule's own fix() (setup model + libcst
    source map → Edits, with the building blocks in builders.py, value_model.py, calls.py,
    imports.py) → engine.py (apply what does not collide, re-parse, re-check, repeat ≤ 10 rounds)
    → api.py (diff, or probe-gated atomic write via files.write_atomic)

A fix is a set of text edits located with libcst metadata, so every byte a fix does not mean to
change is kept: comments, quoting, spacing, CRLF line endings, the BOM and the declared encoding.
Imports a fix needs are added once, in the file's style (imports.py). The runtime probe gates
`--write` through one call, described in probe_hook.py.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["CONFIRMED", "REFUTED", "UNCHECKED", "Confirmer", "ProbeVerdict", "preview_edits", "preview_text"]
_FROM_PROBE_HOOK = ("CONFIRMED", "REFUTED", "UNCHECKED", "Confirmer", "ProbeVerdict")


def __getattr__(name: str) -> Any:
    # The probe's contract is loaded when asked for: a report's fix preview imports this package
    # for its builders alone, and `check` should not pay for the probe's types.
    if name in _FROM_PROBE_HOOK:
        from . import probe_hook

        return getattr(probe_hook, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def preview_edits(text: str, file_setup, diagnostic, target=None, source=None):
    """The Edits of this one finding's fix (for SARIF's replacements), or None if it declines.

    `source` may be a fixes.source.SourceMap of `text`, shared by several previews."""
    from ..trl_api.eras import Target
    from .engine import preview_edits as edits_of

    return edits_of(text, file_setup, diagnostic, target or Target.default(), source)


def preview_text(text: str, file_setup, diagnostic, target=None) -> Optional[str]:
    """The whole text after this one finding's fix alone (for report previews), or None if it declines.

    `file_setup` must be the setup model of `text` (the one the diagnostic was found in); `target` the
    TRL it was checked against (default: the newest with PPO).
    """
    from ..trl_api.eras import Target
    from .engine import preview

    return preview(text, file_setup, diagnostic, target or Target.default())
