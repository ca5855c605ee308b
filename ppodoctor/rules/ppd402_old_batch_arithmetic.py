from __future__ import annotations

import dataclasses
from typing import Any, Optional

from ..trl_api import eras, table
from ..types import ERROR, KnownError, ValueKind
from .base import Example, Rule
from .common import ppo_config_calls, versions

# The old PPOConfig's batch fields, in the order TRL's __post_init__ reads them.
_FIELDS = ("batch_size", "mini_batch_size", "gradient_accumulation_steps", "forward_batch_size")
_CALL = "from trl import PPOConfig, PPOTrainer\nconfig = PPOConfig({fields})\n"


class OldBatchArithmetic(Rule):
    """An old-era (TRL <= 0.11) PPOConfig whose `batch_size` is not a multiple of `mini_batch_size ×
    gradient_accumulation_steps`.

    Why it breaks: the value-head-era PPOConfig checks its batch sizes in `__post_init__`, where the
    config is built, before any model is loaded: `ValueError: `batch_size` must be a multiple of
    `mini_batch_size * gradient_accumulation_steps`, inexact division: 8 / 128 = 0.0625` (TRL issue
    #1442). The defaults it divides by are the target release's (`batch_size=128`,
    `mini_batch_size=128`, `gradient_accumulation_steps=1` in the measured releases 0.7.11 to 0.11.4,
    read from their ppo_config.py into the era data), so `PPOConfig(batch_size=8)` alone fails; 0.7.1 -
    0.7.10 had `batch_size=256`, `mini_batch_size=1`, which the table does not hold, so the rule is
    silent there (and wherever the measured releases around the target disagree). The
    deprecated `forward_batch_size`, when set, overwrites `mini_batch_size` first. A config built in
    a module of its own is checked too.

    Fix: make `batch_size` a multiple of `mini_batch_size * gradient_accumulation_steps` (e.g. lower
    `mini_batch_size`). No automatic fix: which size to change is the user's choice. Silent when a
    factor is not a literal and when a keyword the target PPOConfig lacks fails first (a TypeError).
    """

    code = "PPD402"
    name = "old-batch-arithmetic"
    severity = ERROR
    summary = "old-era PPOConfig batch sizes that do not divide"
    no_fix_reason = ("several sizes would divide; which one to change (and so the memory per step and the number "
                     "of updates) is the user's choice")
    known_errors = (
        KnownError("old-inexact-division",
                   r"`?batch_size`? must be a multiple of `?mini_batch_size \* gradient_accumulation_steps`?.*"
                   r"inexact division",
                   "ValueError: `batch_size` must be a multiple of `mini_batch_size * gradient_accumulation_steps`, "
                   "inexact division: 8 / 128 = 0.0625", "≤ 0.11", "PPOConfig(...)",
                   "batch_size is not a multiple of mini_batch_size × gradient_accumulation_steps (defaults 128 and 1)",
                   "choose a batch_size that mini_batch_size × gradient_accumulation_steps divides"),
    )
    invalid = (Example(_CALL.format(fields="batch_size=8"), "0.11.4"),
               Example(_CALL.format(fields="batch_size=64, mini_batch_size=16, gradient_accumulation_steps=3"),
                       "0.8.6"),
               Example(_CALL.format(fields="batch_size=256, forward_batch_size=3"), "0.11.4"))
    valid = (Example(_CALL.format(fields="batch_size=8, mini_batch_size=4, gradient_accumulation_steps=2"), "0.11.4"),
             Example(_CALL.format(fields="batch_size=args.batch_size"), "0.11.4"),
             Example(_CALL.format(fields="batch_size=8"), "0.12.2"))

    def check(self, context):
        if context.target.era != eras.OLD:
            return
        defaults = table.bracketed_ppo_config_defaults(context.target.version, _FIELDS)
        if defaults is None:
            return  # the defaults it would divide by are not known for this release
        accepted = table.config_fields(context.target.version)
        for index, setup, origin in ppo_config_calls(context):
            if any(keyword.name not in accepted for keyword in origin.keywords):
                continue  # TypeError: unexpected keyword argument, raised before __post_init__
            values = {name: _value(origin, name, defaults[name]) for name in _FIELDS}
            if any(value is _UNKNOWN for value in values.values()):
                continue
            batch, mini, accumulation, forward = (values[name] for name in _FIELDS)
            if forward is not None:
                mini = forward
            if not all(_count(v) for v in (batch, mini, accumulation)) or mini * accumulation == 0:
                continue
            backward = mini * accumulation
            if batch % backward == 0:
                continue
            mini_name = "forward_batch_size" if forward is not None else "mini_batch_size"
            factors = ", ".join(f"{name}={values[name]}" + ("" if origin.keyword(name) else " (default)")
                                for name in ("batch_size", mini_name, "gradient_accumulation_steps"))
            divisor = _largest_mini(batch, accumulation, mini)
            advice = (f"e.g. `mini_batch_size={divisor}`" if divisor and forward is None
                      else "choose a batch_size that it divides")
            keyword = origin.keyword("batch_size") or origin.keyword(mini_name) or origin.keyword(
                "gradient_accumulation_steps")
            span = keyword.span if keyword is not None and keyword.span is not None else origin.span
            diagnostic = self.report(
                f"PPOConfig({factors}): batch_size is not a multiple of {mini_name} * gradient_accumulation_steps "
                f"= {backward}, so PPOConfig raises `ValueError: `batch_size` must be a multiple of `mini_batch_size "
                f"* gradient_accumulation_steps`, ... inexact division: {batch} / {backward} = {batch / backward}` "
                f"({versions(context)}); {advice}", span, setup)
            yield dataclasses.replace(diagnostic, setup_index=index)


_UNKNOWN = object()


def _value(origin, name: str, default: Any) -> Any:
    """The keyword's literal, the target's default where the call does not pass it, else _UNKNOWN."""
    keyword = origin.keyword(name)
    if keyword is None:
        return _UNKNOWN if origin.partial else default
    return keyword.value.value if keyword.value.kind == ValueKind.LITERAL else _UNKNOWN


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _largest_mini(batch: int, accumulation: int, below: int) -> Optional[int]:
    """The largest mini_batch_size up to the current one that makes the division exact."""
    if accumulation == 0 or batch % accumulation:
        return None
    per_step = batch // accumulation
    return next((size for size in range(min(below, per_step), 0, -1) if per_step % size == 0), None)
