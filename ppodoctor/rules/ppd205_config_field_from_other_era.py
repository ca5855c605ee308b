from __future__ import annotations

from ..probe.probe_checks import Check, Status
from ..trl_api import eras, table
from ..trl_api.config_moves import old_field_names
from ..types import ERROR, SAFE, UNSAFE, Declined, Fix, KnownError, Role, ValueKind
from .base import Example, Rule
from .common import accepted_config_fields, config_subclass, is_other_era_script, is_ppo_config, own_fields

_CALL = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
         "config = PPOConfig({fields})\n"
         "trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,\n"
         "                     value_model=critic, train_dataset=ds)\n")
# Old-era PPOConfig fields that the new PPOConfig rejects (for `explain`), from the era data.
OLD_CONFIG_FIELDS = "|".join(old_field_names())

class ConfigFieldFromOtherEra(Rule):
    """A PPOConfig field that the target TRL's PPOConfig does not have.

    Why it breaks: the PPOConfig of TRL <= 0.11 and the one from 0.12 are different dataclasses;
    passing a field of the other raises `TypeError: PPOConfig.__init__() got an unexpected keyword
    argument` before anything is loaded. Some fields were renamed (`ppo_epochs` → `num_ppo_epochs`,
    `init_kl_coef` → `kl_coef`, `log_with` → `report_to`); the others have no equivalent.

    Fix: every old field has a move (ppodoctor/trl_api/old_config_fields.json): a rename where the new
    config has the same knob (`ppo_epochs` → `num_ppo_epochs`, `log_with` → `report_to`, with `None`
    respelt `"none"`), a removal where the new trainer has no use for it (run labels, tracker and
    accelerator options, computed sizes), and a finding without a fix where dropping it would change
    training (the adaptive KL controller, reward scaling, early stopping). `init_kl_coef` becomes
    `kl_coef` only with `adap_kl_ctrl=False`: otherwise the old coefficient adapted during training.
    Fix safety: safe; the original dies at `PPOConfig(...)` and each move keeps what the field meant.
    Probe: builds the script's PPOConfig in this interpreter: the field must be rejected, and the
    fixed keywords accepted.
    """

    code = "PPD205"
    name = "config-field-from-other-era"
    severity = ERROR
    roles = (Role.CONFIG,)
    summary = "a PPOConfig field from another TRL era"
    fix_title = "rename, or remove what the new trainer has no use for"
    probe_check = "PPOConfig(...) built in this interpreter; fixed: it takes the keywords"
    known_errors = (
        KnownError("old-config-field", rf"unexpected keyword argument '({OLD_CONFIG_FIELDS})'",
                   "TypeError: PPOConfig.__init__() got an unexpected keyword argument 'ppo_epochs'", "0.12 - 1.12",
                   "PPOConfig(...)", "an old-era (≤ 0.11) PPOConfig field",
                   "rename (`ppo_epochs`→`num_ppo_epochs`, `init_kl_coef`→`kl_coef`, `log_with`→`report_to`) "
                   "or drop the field; `ppodoctor fix` does the renames"),
    )
    invalid = (Example(_CALL.format(fields="ppo_epochs=4, log_with=\"wandb\""), "1.12.0"),
               Example(_CALL.format(fields="adap_kl_ctrl=False"), "1.12.0"))
    valid = (Example(_CALL.format(fields="num_ppo_epochs=4, report_to=\"wandb\""), "1.12.0"),)

    def check(self, context):
        yield from super().check(context)
        if eras.has_ppo(context.target.era):
            for origin in context.file.configs:  # a config built where no trainer call is (config.py)
                yield from self._check_config(origin, None, context)

    def check_setup(self, setup, context):
        binding = setup.role(Role.CONFIG)
        if binding is None or not is_ppo_config(binding.origin) or not eras.has_ppo(context.target.era) \
                or is_other_era_script(setup, context):
            return
        yield from self._check_config(binding.origin, setup, context)

    def _check_config(self, origin, setup, context):
        version = context.target.version
        accepted = table.config_fields(version)
        known = table.every_config_field()
        used = {keyword.name for keyword in origin.keywords}
        fixed_kl = any(k.name == "adap_kl_ctrl" and k.value.is_literal(False) for k in origin.keywords)
        new_target = eras.new_trainer_api(context.target.era)
        inherited = None  # TrainingArguments' fields of the transformers beside it, read on demand
        own, subclass = own_fields(origin), config_subclass(origin)
        for keyword in origin.keywords:
            name = keyword.name
            if name in accepted or name not in known or keyword.span is None or name in own:
                continue  # (a field the script's PPOConfig subclass declares is its own)
            if inherited is None:
                inherited = accepted_config_fields(context) or frozenset()
            if name in inherited:
                continue  # a TrainingArguments field the target's PPOConfig inherits
            where = f"`{subclass.name}`, a PPOConfig subclass," if subclass is not None else "PPOConfig"
            message = (f"{where} has no field `{name}` in trl {version}: `TypeError: "
                       f"{subclass.name if subclass is not None else 'PPOConfig'}.__init__() got an "
                       f"unexpected keyword argument '{name}'`")
            from ..trl_api import config_moves  # read only for a config with another era's field

            move = config_moves.move_of(name, fixed_kl) if new_target else None
            fix, plan = None, None
            if move is not None and move.action == config_moves.RENAME and move.to in accepted \
                    and move.to not in used:
                respell, value = move.new_value(keyword.value.value) if keyword.value.kind == ValueKind.LITERAL \
                    else (False, keyword.value.value)
                if keyword.value.kind == ValueKind.LITERAL and value is None and not respell:
                    move = config_moves.FieldMove(config_moves.DECIDE, why=move.why)
                else:
                    message += f"; the equivalent is `{move.to}=`"
                    plan = (("action", "rename"), ("to", move.to),
                            ("value", repr(value) if respell else None))
                    fix = Fix(f"Rename `{name}=` to `{move.to}=`" + (f" with `{value!r}`" if respell else ""),
                              SAFE, plan)
            if move is not None and move.action == config_moves.DROP:
                message += f"; drop it: {move.why}"
                fix = Fix(f"Remove `{name}=` ({move.why})", SAFE, (("action", "drop"),))
            elif move is not None and move.action == config_moves.DECIDE and move.to in accepted \
                    and move.to not in used:
                # The closest field, as an unsafe fix that says what changes: a partial cure the user
                # may take (`migrate` maps the same field the same way).
                message += f"; the closest is `{move.to}=`, but {move.why}"
                fix = Fix(f"Rename `{name}=` to `{move.to}=`, the closest field ({move.why})", UNSAFE,
                          (("action", "rename"), ("to", move.to), ("value", None), ("closest", move.why)))
            elif move is not None and move.action == config_moves.DECIDE:
                message += f"; no equivalent: {move.why} (remove it once you have decided)"
            elif fix is None and move is None:
                message += "; it has no equivalent there: remove it"
            yield self.report(message, keyword.span, setup, fix, subject=name)

    def fix(self, diagnostic, context):
        import libcst as cst

        # the fix library loads only when a fix is made: kept off `check`
        from ..fixes.calls import remove_argument

        origin = config_of(diagnostic, context)
        keyword = next((k for k in origin.keywords if k.name == diagnostic.subject), None) if origin else None
        if keyword is None or keyword.span is None:
            raise Declined(f"`{diagnostic.subject}=` is not in the config call as parsed")
        source = context.source
        arg = source.node_at(keyword.span, cst.Arg)
        if arg.keyword is None or arg.keyword.value != diagnostic.subject:
            return _in_mapping(source, keyword, diagnostic)
        if diagnostic.fix.param("action") == "drop":
            call = source.parent(arg)
            return remove_argument(source, call, arg)
        edits = (source.replace(arg.keyword, diagnostic.fix.param("to")),)
        if diagnostic.fix.param("value") is not None:
            edits += (source.replace(arg.value, diagnostic.fix.param("value")),)
        return edits

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import check, config_where, no_facts

        empty = no_facts(facts, diagnostic.setup_index)
        if empty is not None:
            return empty
        config = check(facts.setup(diagnostic.setup_index), Check.CONFIG)
        if "unexpected" not in config.details:
            return None, config.reason or "the config was not built"
        if diagnostic.subject in config.detail("unexpected"):
            return True, f"{config_where(facts)} has no field `{diagnostic.subject}`: {config.error}"
        return False, f"{config_where(facts)} has a field `{diagnostic.subject}`"

    def validate_fix(self, diagnostic, before, after):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import check, config_where, no_facts

        empty = no_facts(after, diagnostic.setup_index)
        if empty is not None:
            return empty
        config = check(after.setup(diagnostic.setup_index), Check.CONFIG)
        if "unexpected" not in config.details:
            return None, config.reason or "the fixed config was not built"
        new = diagnostic.fix.param("to")
        if diagnostic.subject in config.detail("unexpected") or (new and new in config.detail("unexpected")):
            return False, f"{config_where(after)} still rejects the call: {config.error}"
        others = [name for name in config.detail("unexpected") if name not in (diagnostic.subject, new)]
        if config.status is Status.FAIL and "unexpected keyword" in config.error and not others:
            return False, f"{config_where(after)}: {config.error}"
        closest = diagnostic.fix.param("closest")
        if closest:
            # It runs, but what it means changed: the user decides (written with --unsafe-fixes).
            return None, f"{config_where(after)} takes `{new}=`, but {closest}: a change of meaning to decide"
        if others:
            # A partial cure: this field is cured; the others are their own findings, with their reasons.
            return True, (f"{config_where(after)} takes `{new}=`; it still rejects "
                          + ", ".join(f"`{name}=`" for name in others) + " (their own findings)")
        return True, f"{config_where(after)} takes the fixed keywords"


def config_of(diagnostic, context):
    """The PPOConfig call a finding is in: the trainer's config, or the free config holding its span."""
    if context.setup is not None:
        binding = context.setup.role(Role.CONFIG)
        return binding.origin if binding is not None else None
    span = diagnostic.span
    return next((origin for origin in context.file.configs if origin.span is not None
                 and (origin.span.line, origin.span.column) <= (span.line, span.column)
                 and (span.end_line, span.end_column) <= (origin.span.end_line, origin.span.end_column)), None)


def _in_mapping(source, keyword, diagnostic):
    """The same fix where a `**mapping` writes the field: its key renamed in the dict display, the
    `dict(...)`/`.update(...)` keyword or the `kw["..."] =` subscript (and its value, where the move
    changes it); a dropped field's `dict(...)` keyword removed."""
    import libcst as cst

    # the fix library loads only when a fix is made: kept off `check`
    from ..fixes.calls import remove_argument

    if keyword.key_span is None:
        raise Declined(f"`{diagnostic.subject}` comes from a `**mapping` whose key is not written in this file")
    key = source.node_at(keyword.key_span, cst.CSTNode)
    if diagnostic.fix.param("action") == "drop":
        holder = source.parent(key)
        if isinstance(holder, cst.Arg) and holder.keyword is key:
            return remove_argument(source, source.parent(holder), holder)
        raise Declined(f"`{diagnostic.subject}` is set in a mapping: remove its entry by hand")
    new = diagnostic.fix.param("to")
    if isinstance(key, cst.Name):
        edits = (source.replace(key, new),)
    elif isinstance(key, cst.SimpleString) and key.evaluated_value == diagnostic.subject:
        edits = (source.replace(key, f"{key.prefix}{key.quote}{new}{key.quote}"),)
    else:
        raise Declined(f"the key `{diagnostic.subject}` is not written as a plain name or string")
    if diagnostic.fix.param("value") is not None:
        if keyword.value_span is None:
            raise Declined(f"the value of `{diagnostic.subject}` is not written in this file")
        edits += (source.replace(source.node_at(keyword.value_span, cst.BaseExpression), diagnostic.fix.param("value")),)
    return edits
