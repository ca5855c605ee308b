"""From an error message (or a whole traceback) to the rule that would have caught it.

Each rule declares the TRL errors it explains (`Rule.known_errors`, measured: see
/work/shared/trl-ppo-facts.md, "What each mistake does"); this module only gathers them, with the
few failures no rule catches before they happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

from .rules import all_rules, find_rule
from .rules.base import Rule
from .types import KnownError


@dataclass(frozen=True)
class Known:
    """A known error with the rules that catch it, the declaring rule first."""

    source: KnownError
    codes: tuple[str, ...]

    def __getattr__(self, name: str):
        return getattr(self.source, name)


# Failures no rule catches before they happen: only the probe, or the traceback, shows them.
UNCOVERED: tuple[KnownError, ...] = ()  # the dataset errors moved to PPD404 (dataset-columns)


@lru_cache(maxsize=1)
def known_errors() -> tuple[Known, ...]:
    """What PPO's successors raise (`ppodoctor migrate` owns those), every rule's known errors (each
    rule declares those it explains), then the uncovered ones. On a tie the earlier one wins: the
    successors' patterns are the more specific (`RLOOTrainer.__init__() got an ...`)."""
    # the successors' errors load only when `explain` runs: kept off `check`
    from .migrate.errors import SUCCESSOR_ERRORS

    found = [Known(known, known.also) for known in SUCCESSOR_ERRORS]
    found += [Known(known, (rule.code,) + known.also) for rule in all_rules() for known in rule.known_errors]
    found += [Known(known, known.also) for known in UNCOVERED]
    return tuple(found)


def __getattr__(name: str):
    if name == "KNOWN_ERRORS":
        return known_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class Match:
    known: Known
    excerpt: str  # the matched text as it appears in the input
    position: int


def match_errors(text: str) -> tuple[Match, ...]:
    """Every known error in the text; the last one raised (the bottom of a traceback) first."""
    found = []
    for known in known_errors():
        hit = known.source.search(text)
        if hit is not None:
            found.append(Match(known, hit.group(0), hit.start()))
    # A later match in a traceback is nearer the real exception; ties keep the table's order.
    return tuple(sorted(found, key=lambda m: -m.position))


def rule_label(code: str) -> str:
    rule: Optional[Rule] = find_rule(code)
    if rule is None:
        return code
    return f"{rule.code} {rule.name}: {rule.summary}"


def describe(match: Match) -> list[str]:
    known = match.known
    lines = [f"Recognised: {known.error}",
             f"  raised by: trl {known.trl_versions}, at {known.when}",
             f"  cause:     {known.cause}"]
    if known.codes:
        lines.append("  caught by: " + rule_label(known.codes[0]))
        lines.extend("             " + rule_label(code) for code in known.codes[1:])
    elif known.caught_by:
        lines.append(f"  caught by: {known.caught_by}")
    else:
        lines.append("  caught by: no static rule (run the probe: it checks the data at run time)")
    lines.append(f"  fix:       {known.fix}")
    registered = [code for code in known.codes if find_rule(code) is not None]
    if registered:
        lines.append(f"  more:      ppodoctor explain {registered[0]}")
    return lines


def match_dict(match: Match) -> dict:
    known = match.known
    return {"key": known.key, "matched": match.excerpt, "error": known.error, "trl_versions": known.trl_versions,
            "when": known.when, "cause": known.cause, "fix": known.fix,
            "rules": [{"code": code, "registered": find_rule(code) is not None} for code in known.codes],
            "caught_by": known.caught_by or None}
