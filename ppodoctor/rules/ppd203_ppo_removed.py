from __future__ import annotations

from ..trl_api import eras, table
from .base import ERROR, Example, Rule

_SCRIPT = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
           "trainer = PPOTrainer(args=PPOConfig(), processing_class=tok, model=policy, ref_model=ref,\n"
           "                     reward_model=rm, value_model=critic, train_dataset=ds)\n")


class PPORemoved(Rule):
    """The target TRL has no PPO at all (1.13 and later).

    Why it breaks: TRL 1.13 removed PPOTrainer, PPOConfig and the value-head wrappers; every PPO
    import is an ImportError. One finding per file says so, instead of one per import.

    Fix: pin `trl==1.12.0`, the last release with PPO (`trl.experimental.ppo`), or port the script to
    RLOOTrainer or GRPOTrainer with `ppodoctor migrate --to rloo|grpo` (a diff, or `--write` once the
    runtime probe confirms the new call).
    """

    code = "PPD203"
    name = "ppo-removed"
    severity = ERROR
    summary = "the target TRL has no PPO (removed in 1.13)"
    invalid = (Example(_SCRIPT, "1.13.0"), Example("from trl import PPOTrainer\n", "1.13.0"))
    valid = (Example(_SCRIPT, "1.12.0"), Example("from trl import SFTTrainer\n", "1.13.0"))

    def check(self, context):
        if eras.has_ppo(context.target.era):
            return
        tracked = table.tracked_names()
        spans = [record.span for record in context.file.imports
                 if record.name in tracked and record.name != "create_reference_model"
                 or record.module.startswith("trl.experimental.ppo")]
        spans += [setup.callee_span for setup in context.file.setups]
        if not spans:
            return
        span = min(spans, key=lambda s: (s.line, s.column))
        yield self.report(f"PPO was removed from TRL in 1.13 and this script meets trl {context.target.version} "
                          f"({context.target.source}): every PPO import fails; pin `trl=={eras.NEWEST_WITH_PPO}` "
                          "(the last release with PPOTrainer) or port it: `ppodoctor migrate --to rloo|grpo`", span)
