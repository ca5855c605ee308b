"""Small helpers the rules share."""

from __future__ import annotations

from typing import Optional

from ..setup import kinds
from ..setup.model import POLICY, PPOSetup, RoleBinding
from ..trl_api import eras
from .base import RuleContext


def new_api_applies(setup: PPOSetup, context: RuleContext) -> bool:
    """True where the trainer takes a separate reward and value model in the target TRL."""
    if setup.trainer == "PPOv2Trainer":
        return True
    return eras.new_trainer_api(context.target.era) and setup.code_era != eras.OLD


def versions(context: RuleContext) -> str:
    return f"{eras.range_of(context.target.era)}, target {context.target.version}"


def describe(binding: RoleBinding) -> str:
    origin = binding.origin
    if origin.class_name and origin.kind in ("from_pretrained", "from_config", "constructor"):
        return f"`{binding.text}` ({origin.class_name.rsplit('.', 1)[-1]})"
    return f"`{binding.text}`"


def is_policy_object(setup: PPOSetup, binding: Optional[RoleBinding]) -> bool:
    return binding is not None and kinds.same_object(binding.origin, setup.origin(POLICY))


# Trainer methods and attributes only the old (<= 0.11) API has: the hand-written rollout loop.
OLD_LOOP_NAMES = ("generate", "step", "log_stats", "dataloader")


def target_has_ppo(context: RuleContext) -> bool:
    return eras.has_ppo(context.target.era)


def old_loop_usages(setup: PPOSetup):
    return tuple(usage for usage in setup.usages if usage.name in OLD_LOOP_NAMES)


def is_old_era_script(setup: PPOSetup, context: RuleContext) -> bool:
    """A script written whole for TRL <= 0.11 (value-head wrapper or `.step()` loop) on a newer TRL."""
    if setup.code_era != eras.OLD or not eras.new_trainer_api(context.target.era):
        return False
    wrapper = _imports_value_head(context) or any(
        kinds.model_kind(binding.origin) == kinds.VALUE_HEAD for binding in setup.roles)
    return wrapper or bool(old_loop_usages(setup))


def _imports_value_head(context: RuleContext) -> bool:
    """Whether an import that runs on the target brings in a value-head wrapper (a version branch
    not taken says nothing about the era the code is written for)."""
    if not context.file.mentions_value_head:
        return False
    from .fallbacks import live

    return any("ValueHead" in record.name or "PreTrainedModelWrapper" in record.name
               for record in live(context.file.imports, context.target.version))


def replace_fix(description: str, edits, applicability: str = "safe"):
    from .base import Fix

    return Fix("replace", description, applicability, (("edits", tuple(edits)),))


def import_rewrite_fix(statement, plans):
    """Rewrite one `from M import a, b` statement so that each moving name is imported from its home.

    `plans`: (record, problem, home) for every name of the statement; problem is None for a name that
    stays, else a tuple whose third item is the name to import (a rename keeps the local name through
    `as`). No fix when a moving name has no home or the statement is `import M` / `import *`.
    """
    moving = [(record, problem, home) for record, problem, home in plans if problem is not None]
    if not moving or any(home is None for _r, _p, home in moving) or any(r.name in ("", "*") for r, _p, _h in plans):
        return None
    staying = [record for record, problem, _home in plans if problem is None]
    lines = []
    if staying:
        lines.append(f"from {staying[0].module} import " + ", ".join(_spell(r.name, r.alias) for r in staying))
    homes: dict = {}
    for record, problem, home in moving:
        local = record.alias or record.name
        homes.setdefault(home, []).append(_spell(problem[2], local if local != problem[2] else ""))
    lines.extend(f"from {home} import {', '.join(names)}" for home, names in homes.items())
    indent = " " * (statement.column - 1)
    moved = ", ".join(sorted({home for _r, _p, home in moving}))
    return replace_fix(f"Import from `{moved}`", [(statement.line, statement.column, statement.end_line,
                                                   statement.end_column, ("\n" + indent).join(lines))])


def _spell(name: str, alias: str) -> str:
    return f"{name} as {alias}" if alias and alias != name else name
