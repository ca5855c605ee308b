"""The stages above the rules and core: what calls the rules in turn, and writes what they say.

    core (parse, rules, a file's report) → engine.py (fixes: apply, re-parse, re-check, repeat)
    → fix.py (`fix`: diff, or a probe-gated atomic write; probe_gate.py is the gate)
    → verdicts.py (the rules' probe checks over the probe's facts) → probe_report.py (`check --probe`)
    → migrate.py (`migrate`: port, diff, probe-gated write)

The libraries these stages drive (fixes/, probe/, migrate/, setup/, trl_api/) never import them.
"""

__all__ = ["engine", "fix", "migrate", "probe_gate", "probe_report", "verdicts"]
