"""The runtime probe: builds each setup's models on the meta device, in the user's interpreter.

A library below the rules: `probe_files` (results.py) runs the worker once for many files and gives each
its `FileFacts` (facts.py), which the rules' `reproduce`/`validate_fix` read; probe_checks.py names the
worker's checks for both sides. Importing this package imports nothing else of it: the rules import
probe_checks on `check`'s path, which must not pay for the runner, the facts and the memory plan.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FileFacts", "ProbeOptions", "ProbeResult", "probe_file_setup", "probe_files"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        # the runner and its results load when asked for: kept off `check`'s start-up (see above)
        from . import results

        return getattr(results, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
