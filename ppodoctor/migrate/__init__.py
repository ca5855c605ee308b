"""`ppodoctor migrate --to rloo|grpo`: a PPO script ported to RLOOTrainer or GRPOTrainer.

    setup model (setup/) → plan.py (each PPOConfig field's fate, from mapping.py and the era table's
    successors.json) → rewrite.py + code.py + arglist.py (text edits, fixes/edits.py) → api.py (diff,
    or a write gated by probe.py: the new calls checked in the target interpreter) → report.py

Nothing here is imported by `check`.
"""

from typing import Any

__all__ = ["migrate_paths", "migrate_source"]


def __getattr__(name: str) -> Any:
    # The package's API, loaded when asked for (libcst and the tables come with it).
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
