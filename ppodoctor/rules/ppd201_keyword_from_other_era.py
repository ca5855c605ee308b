from __future__ import annotations

from ..trl_api import eras, table
from .base import ERROR, WARNING, Example, Rule
from .common import is_old_era_script, replace_fix, target_has_ppo, versions

_TRAINER_CALL = ("from trl import PPOConfig, PPOTrainer\n"
                 "trainer = PPOTrainer({kw}, processing_class=tok, {model}, {ref}, reward_model=rm,\n"
                 "                     train_dataset=ds, value_model=critic)\n")
_V012 = _TRAINER_CALL.format(kw="config=cfg", model="policy=policy", ref="ref_policy=ref")
_V013 = _TRAINER_CALL.format(kw="args=cfg", model="model=policy", ref="ref_model=ref")


class KeywordFromOtherEra(Rule):
    """A PPOTrainer keyword that the target TRL spells differently.

    Why it breaks: TRL renamed the trainer's parameters twice. 0.12 took `config=`, `policy=`,
    `ref_policy=`; 0.13 renamed them `args=`, `model=`, `ref_model=` (and `tokenizer=` became
    `processing_class=`), accepting the old names with a deprecation warning until 0.15, where they
    became `TypeError: ... got an unexpected keyword argument`. On 0.12 the new names are that same
    TypeError. Up to 0.11 the names were `config=`, `model=`, `ref_model=`, `tokenizer=`, `dataset=`.

    Fix: rename the keyword to the target era's name for the same role.
    Fix safety: safe; only the keyword changes.
    """

    code = "PPD201"
    name = "keyword-from-other-era"
    severity = ERROR
    summary = "a PPOTrainer keyword from another TRL era"
    fixable = True
    invalid = (Example(_V012, "0.15.2"), Example(_V013, "0.12.2"), Example(_V012, "0.14.0"))
    valid = (Example(_V012, "0.12.2"), Example(_V013, "0.15.2"), Example(_V013, "1.12.0"))

    def check_setup(self, setup, context):
        if setup.trainer != "PPOTrainer" or setup.subclass or not target_has_ppo(context) \
                or is_old_era_script(setup, context):
            return
        version = context.target.version
        accepted = set(table.trainer_parameters(version))
        deprecated = table.deprecated_keywords(version)
        used = set(setup.keywords())
        for argument in setup.arguments:
            name = argument.keyword
            if not name or name in accepted or name not in eras.KEYWORD_ROLES:
                continue
            if name in deprecated:
                new, severity = deprecated[name], WARNING
                problem = (f"`{name}=` is deprecated in trl {version} (a warning now, a TypeError from 0.15)")
            else:
                new = eras.role_keyword(eras.KEYWORD_ROLES[name], context.target.era)
                severity = ERROR
                problem = (f"`{name}=` is not a PPOTrainer parameter in trl {version}: `TypeError: "
                           f"PPOTrainer.__init__() got an unexpected keyword argument '{name}'`")
            fix = None
            if new in accepted and new not in used:
                problem += f"; the same role is `{new}=` ({versions(context)})"
                span = argument.span
                fix = replace_fix(f"Rename `{name}=` to `{new}=`",
                                  [(span.line, span.column, span.line, span.column + len(name), new)])
            else:
                problem += f" ({versions(context)}); this trl has no parameter for it"
            yield self.report(problem, argument.span, setup, fix, severity)
