from __future__ import annotations

import dataclasses
from typing import Optional

from ..trl_api import eras, table
from ..types import DISPLAY_ONLY, ERROR, Fix, KnownError, Role
from .base import Example, Rule
from .common import (accepted_config_fields, installed_transformers, is_other_era_script, ppo_config_calls,
                     versions)
from .ppd205_config_field_from_other_era import OLD_CONFIG_FIELDS

_NEW = "from trl.experimental.ppo import PPOConfig\nconfig = PPOConfig({fields})\n"
_OLD = "from trl import PPOConfig\nconfig = PPOConfig({fields})\n"


class ConfigFieldUnknown(Rule):
    """A PPOConfig keyword that no field of the target TRL's PPOConfig takes: a typo, a fork's field.

    Why it breaks: PPOConfig is a dataclass; a keyword it has no field for raises `TypeError:
    PPOConfig.__init__() got an unexpected keyword argument 'entropy_coef'` where the config is built,
    before anything is loaded. From trl 0.12 PPOConfig subclasses transformers' TrainingArguments and
    takes each of its fields too (`logging_steps`, `eval_strategy`, `adam_beta2`, ...): the accepted set
    is TRL's fields (table.json) and TrainingArguments' of the transformers beside it
    (training_arguments.json, read from each transformers release). Where the installed transformers
    is known, its own set counts (transformers 5 dropped `warmup_ratio`, `logging_dir`,
    `overwrite_output_dir`, ...); where not, every measured transformers the TRL release allows, so a
    field any of them has is never reported. Keywords of a visible `**{...}` count; a config built in a
    module of its own is checked too. A field known from another TRL era is PPD205's (with its move),
    never also this rule's.

    A release the tables did not measure is read from its installation where the target's trl or
    transformers is the installed one (its own source, with `ast`: nothing is imported); a
    transformers newer than every measured release and not installed is checked with the newest
    measured TrainingArguments, and "Checked against" says so. Silent where the data cannot say: a
    TRL minor release, or a transformers minor release between measured ones, neither measured nor
    installed.

    Fix: none automatic; where one accepted field is close (difflib), the finding names it as advice.
    """

    code = "PPD211"
    name = "config-field-unknown"
    severity = ERROR
    roles = (Role.CONFIG,)
    summary = "a PPOConfig keyword the target PPOConfig has no field for"
    no_fix_reason = ("the field has no counterpart in the target PPOConfig; a close name is offered as advice, but"
                     " whether it means the same is the user's decision")
    known_errors = (
        KnownError("unknown-config-field",
                   rf"PPOConfig\.__init__\(\) got an unexpected keyword argument '(?!(?:{OLD_CONFIG_FIELDS})')\w+'",
                   "TypeError: PPOConfig.__init__() got an unexpected keyword argument 'entropy_coef'",
                   "every release", "PPOConfig(...)",
                   "a keyword PPOConfig has no field for (a typo, another library's or a fork's field)",
                   "remove or correct the keyword; from 0.12 TrainingArguments' fields are accepted too"),
    )
    invalid = (Example(_NEW.format(fields='output_dir="out", learning_rat=1e-5'), "1.12.0"),
               Example(_NEW.format(fields='output_dir="out", entropy_coef=0.01'), "1.12.0"),
               Example(_OLD.format(fields="batch_size=8, mini_batch_size=8, entropy_coef=0.01"), "0.11.4"),
               Example(_OLD.format(fields='output_dir="out", **{"entropy_coef": 0.01}'), "0.12.2"))
    valid = (Example(_OLD.format(fields='output_dir="out", logging_steps=1, eval_strategy="no", adam_beta2=0.99'),
                     "0.12.2"),
             Example(_NEW.format(fields='output_dir="out", lr_scheduler_type="cosine", label_names=[]'), "1.12.0"),
             Example(_NEW.format(fields='output_dir="out", ppo_epochs=4'), "1.12.0"),  # PPD205's
             Example(_NEW.format(fields='output_dir="out", learning_rat=1e-5'), "1.10.0"))  # not measured

    def check(self, context):
        calls = list(ppo_config_calls(context))
        if not calls or not eras.has_ppo(context.target.era):
            return
        version = context.target.version
        # TRL's own fields need no more data; the rest is checked against the full set, read once.
        own, other_eras = table.config_fields(version), table.every_config_field()
        accepted: Optional[frozenset[str]] = None
        for index, setup, origin in calls:
            if setup is not None and is_other_era_script(setup, context):
                continue  # PPD206 / PPD210 speak for the whole script
            used = {keyword.name for keyword in origin.keywords}
            for keyword in origin.keywords:
                name = keyword.name
                if name in own or name in other_eras or keyword.span is None:
                    continue  # other eras' fields are PPD205's, with their moves
                if accepted is None:
                    accepted = accepted_config_fields(context)
                    if accepted is None:
                        return  # the data does not cover this release: silent rather than guess
                if name in accepted:
                    continue
                message = (f"PPOConfig has no field `{name}` in trl {version}{_with(context)}: `TypeError: "
                           f"PPOConfig.__init__() got an unexpected keyword argument '{name}'` ({versions(context)})")
                suggestion = closest(name, accepted - used)
                fix = None
                if suggestion:
                    message += f"; did you mean `{suggestion}=`?"
                    fix = Fix(f"Did you mean `{suggestion}=`?", DISPLAY_ONLY)
                else:
                    message += "; remove it"
                diagnostic = self.report(message, keyword.span, setup, fix, subject=name)
                yield dataclasses.replace(diagnostic, setup_index=index)


def closest(name: str, candidates) -> str:
    """The one accepted field `name` is a near miss of; "" when none or several are as close."""
    import difflib  # only for a finding: `check`'s cold start does not pay for it

    scored = sorted(((difflib.SequenceMatcher(None, name, c).ratio(), c) for c in candidates), reverse=True)
    if not scored or scored[0][0] < 0.8 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return ""
    return scored[0][1]


def _with(context) -> str:
    installed = installed_transformers(context)
    entry = table.facts(context.target.version)
    if not entry["config_inherits_training_arguments"]:
        return ""
    if installed is not None:
        return f" with transformers {installed} (TRL's fields and TrainingArguments')"
    return f" (TRL's fields and TrainingArguments' of any transformers `{entry['requires_transformers']}`)"
