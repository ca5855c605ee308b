from __future__ import annotations

from ..trl_api import eras, table
from ..probe.probe_checks import Check
from ..types import ERROR, WARNING, KnownError
from .base import Example, Rule
from .common import ReplacementFix, is_other_era_script, ppotrainer_signature, rename_keyword, target_has_ppo, versions

# The keywords that changed names between the constructor eras (≤ 0.12 vs ≥ 0.13).
_ERA_KEYWORDS = "args|model|ref_model|processing_class|config|policy|ref_policy|tokenizer|reward_model|" \
                "value_model|train_dataset|peft_config"

_TRAINER_CALL = ("from trl import PPOConfig, PPOTrainer\n"
                 "trainer = PPOTrainer({kw}, processing_class=tok, {model}, {ref}, reward_model=rm,\n"
                 "                     train_dataset=ds, value_model=critic)\n")
_V012 = _TRAINER_CALL.format(kw="config=cfg", model="policy=policy", ref="ref_policy=ref")
_V013 = _TRAINER_CALL.format(kw="args=cfg", model="model=policy", ref="ref_model=ref")


class KeywordFromOtherEra(ReplacementFix, Rule):
    """A PPOTrainer keyword that the target TRL spells differently.

    Why it breaks: TRL renamed the trainer's parameters twice. 0.12 took `config=`, `policy=`,
    `ref_policy=`; 0.13 renamed them `args=`, `model=`, `ref_model=` (and `tokenizer=` became
    `processing_class=`), accepting the old names with a deprecation warning until 0.15, where they
    became `TypeError: ... got an unexpected keyword argument`. On 0.12 the new names are that same
    TypeError. Up to 0.11 the names were `config=`, `model=`, `ref_model=`, `tokenizer=`, `dataset=`.

    Fix: rename the keyword to the target era's name for the same role.
    Fix safety: safe; only the keyword changes.
    Probe: reads this interpreter's PPOTrainer.__init__ signature: the old keyword must be rejected and
    the new one accepted.
    """

    code = "PPD201"
    name = "keyword-from-other-era"
    severity = ERROR
    steps = (Check.SIGNATURE,)
    summary = "a PPOTrainer keyword from another TRL era"
    fix_title = "rename the keyword to the target era's name for the same role"
    probe_check = "PPOTrainer.__init__'s real parameters: rejects the old keyword, accepts the new one"
    known_errors = (
        KnownError("other-era-keyword", rf"unexpected keyword argument '({_ERA_KEYWORDS})'",
                   "TypeError: PPOTrainer.__init__() got an unexpected keyword argument 'args'",
                   "≤ 0.12 (new names; on ≤ 0.11 PPD210 names the pin) and 0.15 - 1.12 (0.12 names)", "PPOTrainer(...)",
                   "the keywords belong to another TRL era than the installed one",
                   "use the installed era's names (`args`/`model`/`ref_model`/`processing_class` from 0.13 on, "
                   "`config`/`policy`/`ref_policy`/`tokenizer` in 0.12) or pin the TRL the script was written for",
                   ("PPD210",)),
    )
    invalid = (Example(_V012, "0.15.2"), Example(_V013, "0.12.2"), Example(_V012, "0.14.0"))
    valid = (Example(_V012, "0.12.2"), Example(_V013, "0.15.2"), Example(_V013, "1.12.0"))

    def check_setup(self, setup, context):
        if not ppotrainer_signature(setup, context) \
                or not target_has_ppo(context) \
                or is_other_era_script(setup, context):
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
                fix = rename_keyword(f"Rename `{name}=` to `{new}=`", argument.span, name, new)
            else:
                problem += f" ({versions(context)}); this trl has no parameter for it"
            yield self.report(problem, argument.span, setup, fix, severity, subject=name)

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import accepts, trainer_parameters, trainer_where

        parameters, why = trainer_parameters(facts)
        if parameters is None:
            return None, why
        old = diagnostic.subject
        if accepts(parameters, old):
            return False, f"{trainer_where(facts)} accepts `{old}=`"
        return True, f"{trainer_where(facts)} rejects `{old}=`"

    def validate_fix(self, diagnostic, before, after):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import accepts, trainer_parameters, trainer_where

        parameters, why = trainer_parameters(after)
        if parameters is None:
            return None, why
        new = diagnostic.fix.param("replacements")[0][-1]
        if not accepts(parameters, new):
            return False, f"{trainer_where(after)} rejects `{new}=` too"
        return True, f"{trainer_where(after)} accepts `{new}=`"
