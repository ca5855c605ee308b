"""`ppodoctor migrate --to rloo|grpo`: a PPO script ported to RLOOTrainer or GRPOTrainer.

    setup model (setup/) → plan.py (each PPOConfig field's fate, from mapping.py and the era table's
    successors.json) → rewrite.py + code.py + arglist.py (text edits, fixes/edits.py) → the migrate stage
    (pipeline/migrate.py: diff, or a write gated by probe.py: the new calls checked in the target
    interpreter) → report.py

Nothing here is imported by `check`.
"""

__all__ = ["arglist", "calls", "code", "edit_kinds", "errors", "imports", "layout", "mapping", "model", "plan", "probe", "report", "rewrite"]
