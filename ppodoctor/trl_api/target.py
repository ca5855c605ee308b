"""Which TRL version a script will meet, and why we think so."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .eras import Target


def resolve_target(settings, path: Optional[Path] = None) -> Target:
    """--trl-version, then `trl-version` in [tool.ppodoctor], else the newest TRL with PPO."""
    if settings.trl_version:
        return Target.of(settings.trl_version, settings.trl_version_source or "--trl-version")
    return Target.default()
