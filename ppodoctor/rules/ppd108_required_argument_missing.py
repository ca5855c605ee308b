from __future__ import annotations

from ..probe.probe_checks import Check
from ..trl_api import eras
from ..types import ERROR, Role
from .base import Rule
from .common import new_api_applies, versions

_REQUIRED = (Role.CONFIG, Role.PROCESSING_CLASS, Role.POLICY, Role.REFERENCE, Role.REWARD, Role.TRAIN_DATASET)


class RequiredArgumentMissing(Rule):
    """A required PPOTrainer argument is missing (reward model, train dataset, processing class, ...).

    Why it breaks: from TRL 0.12 the trainer's `args`/`config`, `processing_class`, policy,
    reference, `reward_model` and `train_dataset` parameters have no default, so the call raises
    `TypeError: PPOTrainer.__init__() missing 1 required positional argument: '...'`, after every
    model has been loaded. (`ref_model=None` is allowed; leaving it out is not.)

    Fix: pass the argument; the message names the keyword the target TRL expects.
    Probe: binds the call to this interpreter's PPOTrainer.__init__ and reads Python's own TypeError.
    """

    code = "PPD108"
    name = "required-argument-missing"
    severity = ERROR
    steps = (Check.SIGNATURE,)
    summary = "a required PPOTrainer argument is missing"
    no_fix_reason = ("the missing argument is a model, config or dataset only the user can supply; nothing in the "
                     "script says which object it would be")
    probe_check = "the call bound to PPOTrainer.__init__'s real signature"
    invalid = ('''
        from trl.experimental.ppo import PPOTrainer
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, value_model=critic,
                             train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOTrainer
        trainer = PPOTrainer(args=cfg, model=policy, ref_model=None, reward_model=rm, value_model=critic,
                             train_dataset=ds)
        ''')
    valid = ('''
        from trl.experimental.ppo import PPOTrainer
        trainer = PPOTrainer(cfg, tok, policy, None, rm, ds, critic)
        ''', '''
        from trl.experimental.ppo import PPOTrainer
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, value_model=critic, **more)
        ''')

    def check_setup(self, setup, context):
        if setup.unresolved_star or not new_api_applies(setup, context) or setup.trainer == "PPOv2Trainer":
            return
        era = context.target.era
        for role in _REQUIRED:
            if setup.role(role) is not None:
                continue
            keyword = eras.role_keyword(role, era)
            yield self.report(
                f"{setup.trainer} is built without `{keyword}`: the call raises `TypeError: PPOTrainer.__init__() "
                f"missing 1 required positional argument: '{keyword}'` ({versions(context)})",
                setup.callee_span, setup, subject=keyword,
            )

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import first_failure

        def missing(check):
            return diagnostic.subject in check.detail("missing")

        return first_failure(facts, diagnostic.setup_index, ((Check.SIGNATURE, missing),))
