from __future__ import annotations

from ..trl_api import eras
from ..types import ERROR, KnownError
from .base import Example, Rule
from .common import is_old_era_script

_OLD_SCRIPT = """
from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer
model = AutoModelForCausalLMWithValueHead.from_pretrained("gpt2")
ppo_trainer = PPOTrainer(PPOConfig(batch_size=8), model, None, tokenizer)
for batch in ppo_trainer.dataloader:
    responses = ppo_trainer.generate(batch["input_ids"])
    stats = ppo_trainer.step(batch["input_ids"], responses, rewards)
"""


class OldEraScript(Rule):
    """A script written for TRL <= 0.11 (value-head wrapper, hand-written `.step()` loop) meets a newer TRL.

    Why it breaks: TRL 0.12 replaced the old PPOTrainer with a different class: a separate reward and
    value model, a `train()` loop, new keywords and config fields. Nothing of the old script works
    there, and a finding per mismatch would only bury the one decision to make.

    Fix: pin `trl<=0.11.4` (and a transformers of its time), or port the script to the new API
    (TRL's examples/scripts/ppo/ppo.py shows the shape). Other rules stay silent on such a setup.
    """

    known_errors = (
        KnownError("needs-value-head-wrapper", r"model must be a PreTrainedModelWrapper",
                   "ValueError: model must be a PreTrainedModelWrapper, got <class '...LlamaForCausalLM'>",
                   "≤ 0.11", "PPOTrainer(...)", "a new-era script (plain causal LM policy) runs on the ≤ 0.11 "
                   "PPOTrainer", "install trl ≥ 0.12 for the new API, or on ≤ 0.11 wrap the policy in "
                   "`AutoModelForCausalLMWithValueHead`", ("PPD201",)),
    )
    code = "PPD206"
    name = "old-era-script"
    severity = ERROR
    summary = "a script for TRL <= 0.11 meets a newer TRL"
    no_fix_reason = ("the whole script is written for the old API: either the pin changes (outside the script) or "
                     "the script is rewritten for the new trainer, which changes how rewards are computed")
    invalid = (Example(_OLD_SCRIPT, "0.12.2"), Example(_OLD_SCRIPT, "1.12.0"))
    valid = (Example(_OLD_SCRIPT, "0.11.4"),)

    def check_setup(self, setup, context):
        if not is_old_era_script(setup, context):
            return
        yield self.report(
            f"this PPOTrainer is written for trl <= 0.11 (value-head wrapper / `.step()` loop) but meets trl "
            f"{context.target.version} ({context.target.source}), where PPOTrainer is a different class "
            f"({eras.range_of(context.target.era)}): pin `trl<=0.11.4`, or port the script to the new API "
            "(separate reward and value models, `trainer.train()`)", setup.callee_span, setup)
