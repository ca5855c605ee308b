from __future__ import annotations

from ..setup.model import CONFIG
from ..trl_api import eras, table
from .base import ERROR, SAFE, UNSAFE, Example, Rule
from .common import is_old_era_script, replace_fix
from .ppd401_batch_arithmetic import is_ppo_config

_CALL = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
         "config = PPOConfig({fields})\n"
         "trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,\n"
         "                     value_model=critic, train_dataset=ds)\n")
# The old adaptive KL controller started at init_kl_coef; the new trainer keeps kl_coef fixed.
_UNSAFE_RENAMES = frozenset({"init_kl_coef"})


class ConfigFieldFromOtherEra(Rule):
    """A PPOConfig field that the target TRL's PPOConfig does not have.

    Why it breaks: the PPOConfig of TRL <= 0.11 and the one from 0.12 are different dataclasses;
    passing a field of the other raises `TypeError: PPOConfig.__init__() got an unexpected keyword
    argument` before anything is loaded. Some fields were renamed (`ppo_epochs` → `num_ppo_epochs`,
    `init_kl_coef` → `kl_coef`, `log_with` → `report_to`); the others have no equivalent.

    Fix: rename where an equivalent exists; remove (or re-think) the rest.
    Fix safety: safe for `ppo_epochs` and `log_with`; unsafe for `init_kl_coef` (the old coefficient
    adapted during training, the new one is fixed).
    """

    code = "PPD205"
    name = "config-field-from-other-era"
    severity = ERROR
    summary = "a PPOConfig field from another TRL era"
    fixable = True
    invalid = (Example(_CALL.format(fields="ppo_epochs=4, log_with=\"wandb\""), "1.12.0"),
               Example(_CALL.format(fields="adap_kl_ctrl=False"), "1.12.0"))
    valid = (Example(_CALL.format(fields="num_ppo_epochs=4, report_to=\"wandb\""), "1.12.0"),)

    def check_setup(self, setup, context):
        binding = setup.role(CONFIG)
        if binding is None or not is_ppo_config(binding.origin) or not eras.has_ppo(context.target.era) \
                or is_old_era_script(setup, context):
            return
        version = context.target.version
        accepted = table.config_fields(version)
        known = table.every_config_field()
        renames = table.config_renames()
        renames.update({new: old for old, new in list(renames.items())})
        used = {keyword.name for keyword in binding.origin.keywords}
        for keyword in binding.origin.keywords:
            name = keyword.name
            if name in accepted or name not in known or keyword.span is None:
                continue
            message = (f"PPOConfig has no field `{name}` in trl {version}: `TypeError: PPOConfig.__init__() got an "
                       "unexpected keyword argument`")
            new = renames.get(name)
            fix = None
            if new in accepted and new not in used:
                message += f"; the equivalent is `{new}=`"
                span = keyword.span
                fix = replace_fix(f"Rename `{name}=` to `{new}=`",
                                  [(span.line, span.column, span.line, span.column + len(name), new)],
                                  UNSAFE if name in _UNSAFE_RENAMES else SAFE)
            else:
                message += "; it has no equivalent there: remove it"
            yield self.report(message, keyword.span, setup, fix)
