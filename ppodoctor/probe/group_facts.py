"""Readers of the probe's facts about RLOOTrainer / GRPOTrainer setups (worker_group.py), for the PPD6xx
rules' `reproduce` / `validate_fix`. Plain Python: no torch, no rule code."""

from __future__ import annotations

import re
from typing import Iterable, Optional

from ..types import Evidence
from .facts import FileFacts, check, no_facts
from .probe_checks import Check, Status
from .setup_facts import CheckResult, SetupFacts


def _matches(patterns: Iterable[str], error: str) -> bool:
    return any(re.search(pattern, error) for pattern in patterns)


def config_result(setup_facts: Optional[SetupFacts]) -> CheckResult:
    """The config's own checks as the probe ran them. A config call with keywords it does not have raises a
    TypeError before those checks: they are read from the same config built without those keywords (the
    worker's `rest`)."""
    result = check(setup_facts, Check.CONFIG)
    if result.status is Status.FAIL and result.detail("unexpected"):
        result = CheckResult.read(Check.CONFIG, result.details.get("rest"))
    return result


def config_error(setup_facts: Optional[SetupFacts], patterns: Iterable[str]) -> Optional[str]:
    """TRL's error when the config's own checks fail with one `patterns` match; None otherwise."""
    result = config_result(setup_facts)
    return result.error if result.status is Status.FAIL and _matches(patterns, result.error) else None


def config_checks(facts: FileFacts, index: Optional[int], patterns: Iterable[str]) -> Evidence:
    """True when the config's own checks (its `__post_init__`) fail with an error `patterns` match. A config
    call with keywords it does not have raises a TypeError before those checks: they are read from the
    same config built without those keywords (the worker's `rest`)."""
    empty = no_facts(facts, index)
    if empty is not None:
        return empty
    result = config_result(facts.setup(index))
    if result.status is Status.UNCHECKED:
        return None, result.reason or "the config was not built"
    if result.status is Status.PASS:
        return False, "the config builds in this interpreter's TRL, its own checks passing"
    if _matches(patterns, result.error):
        return True, result.error
    return None, f"the config fails first with another error: {result.error}"


def unknown_config_field(facts: FileFacts, index: Optional[int], name: str) -> Evidence:
    """True when the config class has no field `name` (building it raises the TypeError)."""
    empty = no_facts(facts, index)
    if empty is not None:
        return empty
    result = check(facts.setup(index), Check.CONFIG)
    if "unexpected" not in result.details:
        return None, result.reason or "the config was not built"
    if name in result.detail("unexpected"):
        return True, result.error
    return False, f"the config has a field `{name}`"


def step_fails(facts: FileFacts, index: Optional[int], step: Check, patterns: Iterable[str]) -> Evidence:
    """True when TRL's `step` fails with an error `patterns` match; False when it passes or fails otherwise."""
    empty = no_facts(facts, index)
    if empty is not None:
        return empty
    result = check(facts.setup(index), step)
    if result.status is Status.UNCHECKED:
        return None, result.reason or f"the {step} check could not run"
    if result.status is Status.FAIL and _matches(patterns, result.error):
        return True, result.error
    return False, "TRL's own check passes" if result.status is Status.PASS else f"it fails otherwise: {result.error}"


def reward_call(facts: FileFacts, index: Optional[int], function: str) -> Optional[dict]:
    """The trainer's call of reward function `function` (worker_rewards.py), or None when it was not made."""
    setup_facts = facts.setup(index)
    if setup_facts is None:
        return None
    for entry in check(setup_facts, Check.REWARD_CALL).detail("functions"):
        if entry.get("name") == function:
            return entry
    return None


def reward_call_fails(facts: FileFacts, index: Optional[int], function: str, patterns: Iterable[str]) -> Evidence:
    """True when the trainer's call of `function` fails with an error `patterns` match."""
    empty = no_facts(facts, index)
    if empty is not None:
        return empty
    entry = reward_call(facts, index, function)
    if entry is None:
        result = check(facts.setup(index), Check.REWARD_CALL)
        return None, result.reason or f"the trainer's call of `{function}` was not made"
    status = entry.get("status")
    if status == Status.UNCHECKED:
        return None, entry.get("reason") or f"the trainer's call of `{function}` could not be made"
    if status == Status.FAIL and _matches(patterns, entry.get("error") or ""):
        return True, entry["error"]
    if status == Status.FAIL:
        return False, f"the call binds, then fails otherwise: {entry.get('error')}"
    return False, f"the trainer's own _calculate_rewards calls `{function}` and takes its rewards"
