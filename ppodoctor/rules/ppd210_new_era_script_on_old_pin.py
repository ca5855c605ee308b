from __future__ import annotations

from typing import Optional

from ..trl_api import eras, table
from ..trl_api.eras import Version
from ..types import ERROR, Role
from .base import Example, Rule
from .common import is_new_era_script_on_old_pin, is_ppo_config

_V013_SCRIPT = """
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer
tok = AutoTokenizer.from_pretrained("sft")
policy = AutoModelForCausalLM.from_pretrained("sft")
rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
trainer = PPOTrainer(args=PPOConfig(output_dir="out", num_ppo_epochs=4), processing_class=tok, model=policy,
                     ref_model=None, reward_model=rm, value_model=rm, train_dataset=ds)
trainer.train()
"""
_V012_SCRIPT = """
from trl import PPOConfig, PPOTrainer
trainer = PPOTrainer(config=PPOConfig(output_dir="out"), processing_class=tok, policy=policy, ref_policy=ref,
                     reward_model=rm, value_model=critic, train_dataset=ds)
trainer.train()
"""
_SHIMMED = """
try:
    from trl.experimental.ppo import PPOConfig, PPOTrainer
except ImportError:
    from trl import PPOConfig, PPOTrainer
trainer = PPOTrainer(args=PPOConfig(output_dir="out"), processing_class=tok, model=policy, ref_model=ref,
                     reward_model=rm, value_model=critic, train_dataset=ds)
"""
_OLD_SCRIPT = """
from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer
model = AutoModelForCausalLMWithValueHead.from_pretrained("gpt2")
ppo_trainer = PPOTrainer(config=PPOConfig(batch_size=8, mini_batch_size=8), model=model, tokenizer=tokenizer)
"""


class NewEraScriptOnOldPin(Rule):
    """A script written for TRL >= 0.12 (separate reward and value models, `train()`) meets TRL <= 0.11.

    Why it breaks: up to 0.11 PPOTrainer is another class: `PPOTrainer(config, model, ref_model,
    tokenizer, dataset, ...)` with a value-head wrapper as `model` and a hand-written `generate` /
    `step` loop. A script of the new API (`args=` or `config=` with `processing_class=`,
    `reward_model=`, `value_model=`, `policy=`/`model=`, `trl.experimental.ppo` imports, PPOConfig
    fields such as `num_ppo_epochs` or `output_dir`) dies at its first new keyword (`TypeError:
    PPOTrainer.__init__() got an unexpected keyword argument 'processing_class'`), and renaming the
    keywords back would only reach the next mismatch: the old class cannot run it. The decision is
    the pin, so this is one finding, and the per-keyword, per-import and per-field era rules
    (PPD201, PPD202, PPD205, PPD208) stay silent on such a setup.

    A script with an import shim or a TRL-version branch (around its imports or around the trainer
    call itself, PPOSetup.guards) is judged by those rules instead (the branch that runs on the target
    decides), as is a script that mixes both APIs.

    Fix: raise the TRL pin to the releases the script's keywords, imports and config fields fit (read
    from the era table), e.g. `trl>=0.26,<1.13` for `trl.experimental.ppo` imports with `args=`.
    No automatic fix: the pin lives outside the script.
    """

    code = "PPD210"
    name = "new-era-script-on-old-pin"
    severity = ERROR
    summary = "a script for TRL >= 0.12 meets TRL <= 0.11"
    no_fix_reason = ("the pin lives outside the script (requirements, pyproject or the environment), where `fix` "
                     "does not write")
    # Its TRL error is PPD201's `other-era-keyword` (`also` names PPD210), as TRL raises it either way.
    invalid = (Example(_V013_SCRIPT, "0.11.4"), Example(_V012_SCRIPT, "0.11.4"), Example(_V013_SCRIPT, "0.8.6"))
    valid = (Example(_V013_SCRIPT, "1.12.0"), Example(_V012_SCRIPT, "0.12.2"), Example(_OLD_SCRIPT, "0.11.4"),
             Example(_SHIMMED, "0.11.4"))

    def check_setup(self, setup, context):
        if not is_new_era_script_on_old_pin(setup, context):
            return
        version = context.target.version
        keywords = [k for k in setup.keywords() if k in eras.KEYWORD_ROLES]
        imports = _live_ppo_imports(context)
        fields = _config_fields(setup)
        # The import first: it alone names the era; then the keywords the old class rejects.
        evidence = sorted({f"`{record.module}`" for record in imports if record.module.startswith("trl.experimental")})
        evidence += [f"`{k}=`" for k in keywords if k not in table.trainer_parameters(version)]
        old_fields = table.config_fields(version)
        evidence += [f"`PPOConfig({name}=)`" for name in fields if name not in old_fields]
        pin = pin_for(keywords, imports, fields)
        # The last fitting release's minor: the pin's upper bound is the first release after it.
        written_for = f"trl {_minor(pin[0])}-{_minor(pin[3])}" if pin else "trl >= 0.12"
        advice = (f"raise the pin to `trl>={_minor(pin[0])},<{_minor(pin[1])}` (or `trl=={pin[2]}`)" if pin
                  else "pin the trl release the script was written for")
        shown = ", ".join(evidence[:4]) + (", ..." if len(evidence) > 4 else "")
        yield self.report(
            f"this PPOTrainer is written for {written_for} ({shown}) but meets trl {version} "
            f"({context.target.source}), where PPOTrainer is the value-head-era class (`config=`, `model=` a "
            f"value-head wrapper, a `.step()` loop; {eras.range_of(context.target.era)}): {advice}",
            setup.callee_span, setup)


def pin_for(keywords, imports, fields) -> Optional[tuple[Version, Version, Version, Version]]:
    """(first release, first release after, release to pin, last release) of the measured releases that the
    script's trainer keywords, trl imports and PPOConfig fields all fit, read from the era table;
    the release to pin is the newest where nothing used is deprecated (else the newest that fits)."""
    from ..trl_api.config_fields import accepted_config_fields  # read only for a finding

    releases = [v for v in table.known_versions() if table.has_ppo(v)]
    fitting, clean = [], []
    for release in releases:
        accepted = set(table.trainer_parameters(release))
        deprecated = table.deprecated_keywords(release)
        statuses = [table.name_status(r.module, r.name, release) for r in imports]
        # TrainingArguments' fields count where PPOConfig inherits them (logging_steps on 0.13)
        config = accepted_config_fields(release) or table.config_fields(release)
        if all(k in accepted or k in deprecated for k in keywords) and None not in statuses \
                and set(fields) <= config:
            fitting.append(release)
            if not any(k in deprecated for k in keywords) and "deprecated" not in statuses:
                clean.append(release)
        elif fitting:
            break  # the first contiguous run: a later era that fits again would be another script
    if not fitting:
        return None
    after = next((v for v in table.known_versions() if v > fitting[-1]), None)
    if after is None:
        return None
    return fitting[0], after, (clean or fitting)[-1], fitting[-1]


def _minor(version: Version) -> str:
    return f"{version.major}.{version.minor}"


def _live_ppo_imports(context):
    # the era table loads only for what needs it: kept off `check`'s start-up
    from .fallbacks import live

    tracked = table.tracked_names()
    return [r for r in live(context.file.imports, context.target.version)
            if r.name in tracked and table.covered(r.module)]


def _config_fields(setup) -> list[str]:
    binding = setup.role(Role.CONFIG)
    if binding is None or not is_ppo_config(binding.origin):
        return []
    known = table.every_config_field()
    return [k.name for k in binding.origin.keywords if k.name in known]
