from __future__ import annotations

from ..trl_api import eras
from ..types import ERROR, KnownError, UsageKind
from .base import Example, Rule
from .common import is_old_era_script, old_loop_usages

_HALF_PORTED = """
from trl.experimental.ppo import PPOTrainer
trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                     value_model=critic, train_dataset=ds)
for batch in trainer.dataloader:
    stats = trainer.step(queries, responses, rewards)
"""


class OldLoopOnNewTrainer(Rule):
    """The new-era trainer is driven with the old manual loop (`.generate`, `.step`, `.log_stats`, `.dataloader`).

    Why it breaks: from TRL 0.12, PPOTrainer is a `transformers.Trainer`: rollouts, rewards and
    updates all happen inside `trainer.train()`. It has no `step`, `generate` or `log_stats`
    method and no `dataloader` attribute, so the loop dies with `AttributeError` after every model
    has been loaded.

    Fix (by hand): delete the loop and call `trainer.train()`; the reward model passed as
    `reward_model=` replaces the hand-computed rewards, and generation settings move to PPOConfig
    (`response_length`, `temperature`, `stop_token`).
    """

    known_errors = (
        KnownError("old-loop-on-new-trainer", r"'PPOTrainer' object has no attribute '(step|generate|log_stats)'",
                   "AttributeError: 'PPOTrainer' object has no attribute 'step'",
                   "0.12 - 1.12 (the class has only `train()`)", "the training loop",
                   "the ≤ 0.11 `generate` / `step` loop runs on the new trainer",
                   "replace the hand-written loop with `trainer.train()`; rewards come from `reward_model`"),
    )
    code = "PPD204"
    name = "old-loop-on-new-trainer"
    severity = ERROR
    summary = "the old `.step()` loop on the new-era PPOTrainer"
    no_fix_reason = ("the hand-written rollout loop (generation, reward computation, `.step()`) must be replaced "
                     "by `trainer.train()` with a reward model; which parts of the loop's logic to keep is the "
                     "user's decision")
    invalid = (Example(_HALF_PORTED, "1.12.0"), Example(_HALF_PORTED, "0.12.2"))
    valid = (Example(_HALF_PORTED.replace("for batch in trainer.dataloader:\n    stats = trainer.step(queries, "
                                          "responses, rewards)\n", "trainer.train()\n"), "1.12.0"),)

    def check_setup(self, setup, context):
        if not eras.new_trainer_api(context.target.era) or is_old_era_script(setup, context):
            return
        for usage in old_loop_usages(setup):
            what = f"`.{usage.name}" + ("()`" if usage.kind == UsageKind.CALL else "`")
            yield self.report(
                f"{what} belongs to the trl <= 0.11 PPOTrainer; in trl {context.target.version} it is an "
                "AttributeError: the new trainer runs rollouts and updates inside `trainer.train()`: port the "
                "loop to `train()` (rewards come from `reward_model=`)", usage.span, setup)
