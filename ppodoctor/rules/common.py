"""Small helpers the rules share."""

from __future__ import annotations

from typing import Any, Iterator, Optional

from ..probe.probe_checks import Check, Imported
from ..setup import kinds
from ..setup.model import Origin, PPOSetup, RoleBinding
from ..trl_api import eras
from ..types import Applicability, Declined, Diagnostic, Evidence, Fix, ModelKind, OperationKind, OriginKind, Role, ValueKind
from .base import FixContext, RuleContext, live_setups


def new_api_applies(setup: PPOSetup, context: RuleContext) -> bool:
    """True where the trainer takes a separate reward and value model in the target TRL."""
    if setup.trainer == "PPOv2Trainer":
        return True
    return eras.new_trainer_api(context.target.era) and setup.code_era != eras.OLD


def versions(context: RuleContext) -> str:
    return f"{eras.range_of(context.target.era)}, target {context.target.version}"


def describe(binding: RoleBinding) -> str:
    origin = binding.origin
    if origin.class_name and origin.kind in (OriginKind.FROM_PRETRAINED, OriginKind.FROM_CONFIG, OriginKind.CONSTRUCTOR):
        return f"`{binding.text}` ({origin.class_name.rsplit('.', 1)[-1]})"
    return f"`{binding.text}`"


def is_policy_object(setup: PPOSetup, binding: Optional[RoleBinding]) -> bool:
    return binding is not None and kinds.same_object(binding.origin, setup.origin(Role.POLICY))


# --- the literal PPOConfig, which the batch rules read ------------------------------------------------
# TrainingArguments / PPOConfig defaults (trl 0.12-1.12); config_value below reads a field.
BATCH_DEFAULTS = {"per_device_train_batch_size": 8, "gradient_accumulation_steps": 1, "num_mini_batches": 1,
                  "whiten_rewards": False}


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
        kinds.model_kind(binding.origin) == ModelKind.VALUE_HEAD for binding in setup.roles)
    return wrapper or bool(old_loop_usages(setup))


def ppotrainer_signature(setup: PPOSetup, context: RuleContext) -> bool:
    """Whether the call takes PPOTrainer's own parameters in the target: a PPOTrainer call (or a subclass
    that hands its arguments on), or PPOv2Trainer from 0.12 on, where it is PPOTrainer under its old name
    (`class PPOv2Trainer(PPOTrainer)`, forwarding everything; on <= 0.11 it is a class of its own)."""
    if setup.subclass and not setup.subclass_forwards:
        return False
    return setup.trainer == "PPOTrainer" or (setup.trainer == "PPOv2Trainer" and context.target.era != eras.OLD)


def is_new_era_script_on_old_pin(setup: PPOSetup, context: RuleContext) -> bool:
    """A script written for TRL >= 0.12 (`processing_class=`, `reward_model=`, `value_model=`, `args=`...)
    on a target <= 0.11, where PPOTrainer is the value-head-era class: the mirror of `is_old_era_script`.

    A script that branches on the TRL version or shims its imports is left to the per-import and
    per-keyword rules: which branch runs decides, and the file says it knows about both eras.
    """
    if setup.trainer != "PPOTrainer" or (setup.subclass and not setup.subclass_forwards) \
            or context.target.era != eras.OLD \
            or setup.code_era not in (eras.V012, eras.V013):
        return False
    if old_loop_usages(setup) or any(kinds.model_kind(b.origin) == ModelKind.VALUE_HEAD for b in setup.roles):
        return False  # half old, half new: each mismatch is its own finding
    if any(guard.compare for guard in setup.guards):
        return False  # the call sits in a branch on the TRL version: written to meet several eras
    from .fallbacks import in_shims

    return not any(in_shims(context.file.imports, context.target.version))


def is_other_era_script(setup: PPOSetup, context: RuleContext) -> bool:
    """A script written whole for the other side of the 0.12 rewrite of PPOTrainer (PPD206 / PPD210
    report it once); the per-keyword, per-import and per-field era rules stay silent on it."""
    return is_old_era_script(setup, context) or is_new_era_script_on_old_pin(setup, context)


# --- PPOConfig values --------------------------------------------------------------------------------
def is_ppo_config(origin: Optional[Origin]) -> bool:
    """A PPOConfig, or an instance of the script's own dataclass subclass of it (`class RunConfig(PPOConfig)`
    with extra fields): TRL takes it as the PPOConfig it is."""
    return origin is not None and origin.kind in (OriginKind.CONSTRUCTOR, OriginKind.PARSED_ARGS) \
        and (origin.class_name.rsplit(".", 1)[-1] == "PPOConfig" or config_subclass(origin) is not None)


def config_subclass(origin: Origin):
    """The script's own class (setup.model.LocalClass) when `origin` builds a subclass of PPOConfig, else None."""
    local = origin.local_class
    if local is None or not any(ancestor.rsplit(".", 1)[-1] == "PPOConfig" for ancestor in local.ancestors):
        return None
    return local


def own_fields(origin: Origin) -> frozenset:
    """The names a PPOConfig subclass of the script declares itself (its own `__init__` takes them, with
    its own defaults); none for PPOConfig."""
    local = config_subclass(origin)
    return frozenset(local.members) if local is not None else frozenset()


def new_api_ppo_config(setup: PPOSetup, context: RuleContext) -> Optional[RoleBinding]:
    """The trainer's PPOConfig binding where the target TRL takes the new API (the config rules' shared
    guard), else None."""
    binding = setup.role(Role.CONFIG)
    if binding is None or not is_ppo_config(binding.origin) or not new_api_applies(setup, context):
        return None
    return binding


def config_value(origin: Origin, name: str, default: Any = None) -> tuple[bool, Any]:
    """(known, value) of a PPOConfig field: the literal keyword, a later literal assignment, or
    `default` (the target release's default) when the source sets it nowhere."""
    # A parsed-arguments instance is known only under a launch (setup/launched.py): its command line's
    # values, the class defaults for the rest.
    known, value = (not origin.partial and origin.kind in (OriginKind.CONSTRUCTOR, OriginKind.PARSED_ARGS)), default
    keyword = origin.keyword(name)
    if keyword is None and name in own_fields(origin):
        known, value = False, None  # a subclass's own default for the field, not TRL's
    if keyword is not None:
        known, value = keyword.value.kind == ValueKind.LITERAL, keyword.value.value
    for operation in origin.operations:
        if operation.kind == OperationKind.SET and operation.name == name:
            literal = operation.value is not None and operation.value.kind == ValueKind.LITERAL and not operation.conditional
            known, value = literal, operation.value.value if literal else None
        elif operation.kind == OperationKind.PASSED:
            known = known and keyword is not None
    return known, value


def config_field_span(origin: Origin, name: str):
    """Where a PPOConfig field's value is last given: an assignment after the call (`config.x = v`,
    `setattr(config, name, v)`), else the call's keyword; None where neither is written."""
    for operation in reversed(origin.operations):
        if operation.kind == OperationKind.SET and operation.name == name and operation.span is not None:
            return operation.span
    keyword = origin.keyword(name)
    return keyword.span if keyword is not None else None


def ppo_config_calls(context: RuleContext) -> Iterator[tuple[Optional[int], Optional[PPOSetup], Origin]]:
    """Every `PPOConfig(...)` call of the file: (setup index, setup, origin) for the trainers' configs,
    then (None, None, origin) for those no trainer call takes (FileSetup.configs)."""
    for index, setup in live_setups(context):
        binding = setup.role(Role.CONFIG)
        if binding is not None and binding.origin.kind == OriginKind.CONSTRUCTOR and binding.origin.class_name.startswith("trl.") \
                and is_ppo_config(binding.origin):
            yield index, setup, binding.origin
    for origin in context.file.configs:
        yield None, None, origin


def installed_transformers(context: RuleContext):
    """The transformers the script will meet, where it was read (installed) rather than assumed."""
    return context.target.installed_transformers


def accepted_config_fields(context: RuleContext) -> Optional[frozenset]:
    """Every keyword the target's PPOConfig takes (TRL's fields and, from 0.12, TrainingArguments'),
    or None where the data does not cover the release (trl_api/config_fields.py)."""
    from ..trl_api.config_fields import accepted_config_fields as accepted  # read only for a config to check

    return accepted(context.target.version, installed_transformers(context))


def replace_fix(title: str, replacements, applicability: Applicability = Applicability.SAFE) -> Fix:
    """A fix that replaces source ranges decided at detection time: (Span, new text) pairs, where a
    Span may end on its first line at `end_column` when given as (Span, end_column, text)."""
    return Fix(title, applicability, (("replacements", tuple(replacements)),))


class ReplacementFix:
    """For rules whose fix is the `replace_fix` replacements they computed while checking."""

    def fix(self, diagnostic: Diagnostic, context: FixContext):
        edits = []
        for item in diagnostic.fix.param("replacements", ()):
            span, end_column, text = item if len(item) == 3 else (item[0], None, item[1])
            edits.append(context.source.replace_span(span, text, end_column))
        if not edits:
            raise Declined("the fix has no edits")
        return tuple(edits)


def rename_keyword(title: str, span, old: str, new: str,
                   applicability: Applicability = Applicability.SAFE) -> Fix:
    """Rename the keyword `old=` whose argument starts at `span` to `new=`."""
    return replace_fix(title, [(span, span.column + len(old), new)], applicability)


# --- the value model, which five rules replace or add -------------------------------------------------
VALUE_READY_CHECKS = (Check.SIGNATURE, Check.DROPOUT, Check.WRAPPER, Check.VALUE_GET_REWARD)


def value_model_fix(context: FixContext, mode: str):
    # the fix library loads only when a fix is made: kept off `check`
    from ..fixes.value_model import value_model_edits

    if context.setup is None:
        raise Declined("the finding is not tied to a trainer call")
    return value_model_edits(context.setup, context.source, mode)


def value_model_works(diagnostic: Diagnostic, after) -> Evidence:
    """The fixed setup's value model passes TRL's checks: the call binds, dropout is disabled, the
    policy-and-value wrapper runs its forward pass and `get_reward` reads the value head."""
    # the probe's library loads only when the probe runs: kept off `check`
    from ..probe.facts import failed

    broken, detail = failed(after, diagnostic.setup_index, VALUE_READY_CHECKS)
    return (None if broken is None else not broken), detail


def scorer_failure(facts, diagnostic: Diagnostic, checks: tuple[Check, ...]) -> Evidence:
    """A scorer (reward or value model) without the `score` head TRL calls."""
    # the probe's library loads only when the probe runs: kept off `check`
    from ..probe.facts import error_contains, failed

    return failed(facts, diagnostic.setup_index, checks, error_contains("score"))


def _imports_value_head(context: RuleContext) -> bool:
    """Whether an import that runs on the target brings in a value-head wrapper (a version branch
    not taken says nothing about the era the code is written for)."""
    if not context.file.mentions_value_head:
        return False
    # the era table loads only for what needs it: kept off `check`'s start-up
    from .fallbacks import live

    return any("ValueHead" in record.name or "PreTrainedModelWrapper" in record.name
               for record in live(context.file.imports, context.target.version))


def import_rewrite_fix(statement, plans, values: Optional[dict] = None,
                       applicability: Applicability = Applicability.SAFE) -> Optional[Fix]:
    """Rewrite one `from M import a, b` statement so that each moving name is imported from its home.

    `plans`: (record, problem, home) for every name of the statement; problem is None for a name that
    stays, else a tuple whose third item is the name to import (a rename keeps the local name through
    `as`). `values`: for a moving name with no home, the Python source of its value, bound to the local
    name in place of the import. No fix when a moving name has neither, or the statement is `import M` /
    `import *`.
    """
    values = values or {}
    moving = [(record, problem, home) for record, problem, home in plans if problem is not None]
    if not moving or any(home is None and record not in values for record, _p, home in moving) \
            or any(r.name in ("", "*") for r, _p, _h in plans):
        return None
    staying = [record for record, problem, _home in plans if problem is None]
    lines = []
    if staying:
        lines.append(f"from {staying[0].module} import " + ", ".join(_spell(r.name, r.alias) for r in staying))
    homes: dict = {}
    for record, problem, home in moving:
        local = record.alias or record.name
        if home is None:
            continue
        homes.setdefault(home, []).append(_spell(problem[2], local if local != problem[2] else ""))
    lines.extend(f"from {home} import {', '.join(names)}" for home, names in homes.items())
    lines.extend(f"{record.alias or record.name} = {values[record]}" for record, _p, home in moving if home is None)
    indent = " " * (statement.column - 1)
    moved = ", ".join(sorted({home for _r, _p, home in moving if home is not None}))
    inlined = ", ".join(record.name for record, _p, home in moving if home is None)
    title = " and ".join(part for part in (moved and f"Import from `{moved}`", inlined and f"inline {inlined}") if part)
    return replace_fix(title[:1].upper() + title[1:], [(statement, ("\n" + indent).join(lines))], applicability)


def _spell(name: str, alias: str) -> str:
    return f"{name} as {alias}" if alias and alias != name else name


class ImportAttemptCheck:
    """The probe check of the import rules: the worker tries every trl import of the file in the target
    interpreter; the finding's import must fail there, and the fixed file's imports must all work."""

    def reproduce(self, diagnostic: Diagnostic, facts) -> Evidence:
        record = _record_at(facts.file, diagnostic.span)
        attempt = facts.import_attempt(record) if record is not None else None
        if attempt is None:
            return None, facts.reason or "the probe did not try this import"
        spelled = _spelled_import(record.module, [record.name])
        if attempt.status is Imported.OK:
            return False, f"{spelled} imports cleanly in trl {facts.trl}"
        return True, f"{spelled} gives {attempt.detail} in trl {facts.trl}"

    def validate_fix(self, diagnostic: Diagnostic, before, after) -> Evidence:
        record = _record_at(before.file, diagnostic.span)
        failing = {a.key for a in before.imports if a.status is not Imported.OK}
        if record is None:
            return None, "the import statement could not be read"
        if after.import_attempt(record) is not None and (record.module, (record.name,)) in failing:
            return False, f"{_spelled_import(record.module, [record.name])} is still there"
        broken = [a for a in after.imports if a.status is not Imported.OK and a.key not in failing]
        if broken:
            return False, f"{_spelled_import(broken[0].module, list(broken[0].names))} gives {broken[0].detail}"
        return True, "the fixed imports are clean"


def _record_at(file_setup, span):
    return next((r for r in file_setup.imports if r.span == span and r.name not in ("", "*")), None)


def _spelled_import(module: str, names) -> str:
    return f"`from {module} import {', '.join(names)}`" if names else f"`import {module}`"
