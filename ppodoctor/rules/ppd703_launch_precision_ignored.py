from __future__ import annotations

from typing import Optional

from ..launch.model import Launcher
from ..trl_api import table
from ..types import WARNING
from .base import Rule
from .common import config_value, new_api_ppo_config, versions


class LaunchPrecisionIgnored(Rule):
    """PPOConfig's `bf16`/`fp16` say one precision, the launch another: PPOTrainer trains in the launch's.

    Why it breaks: PPOTrainer (trl 0.12-1.12) builds its own `Accelerator(gradient_accumulation_steps=...)`
    without a `mixed_precision` argument, so the precision it trains in is the launch's: accelerate's
    `--mixed_precision` or the config file's `mixed_precision` (handed over as ACCELERATE_MIXED_PRECISION),
    "no" when the launch sets none (torchrun, `python train.py`). PPOConfig's `bf16=True` (its default
    where `fp16` is not set) or `fp16=True` is then not what the run does: measured with trl 1.12,
    `PPOConfig(bf16=True)` under a launch without mixed precision gives `accelerator.mixed_precision ==
    "no"` (fp32 training, twice the activation memory the user planned for), and `bf16=False` under
    `--mixed_precision bf16` trains in bf16. Nothing fails; the run is not the one written.

    Fix: make them agree: launch with `accelerate launch --mixed_precision bf16` (or `mixed_precision:
    bf16` in the accelerate config), or set `bf16=False`/`fp16=False` in PPOConfig. Silent without a
    launch, and for the deepspeed launcher (DeepSpeed's JSON decides there).
    """

    code = "PPD703"
    name = "launch-precision-ignored"
    severity = WARNING
    summary = "PPOConfig's bf16/fp16 differ from the launch's mixed precision, which PPOTrainer uses"

    def check_setup(self, setup, context):
        launch = context.launch
        binding = new_api_ppo_config(setup, context)
        if launch is None or launch.launcher is Launcher.DEEPSPEED or launch.deepspeed is not None or binding is None:
            return
        written = _config_precision(binding.origin, table.ppo_config_defaults(context.target.version).get("bf16", False))
        used = launch.mixed_precision or dict(launch.env).get("ACCELERATE_MIXED_PRECISION") or "no"
        if written is None or written == used:
            return
        how = f"the launch's mixed_precision={used}" if used != "no" else "no mixed precision (the launch sets none)"
        yield self.report(
            f"PPOConfig asks for {written} (bf16/fp16) but PPOTrainer builds its own Accelerator from the launch: "
            f"it trains with {how} ({versions(context)}); launch with `--mixed_precision {written}` or make "
            f"PPOConfig say {used}", binding.origin.span or binding.value_span, setup)


def _config_precision(origin, bf16_default) -> Optional[str]:
    """"bf16", "fp16" or "no" as PPOConfig is given it (a bf16 default of None means `not fp16`, TRL's
    own default from 0.13); None where unknown."""
    fp16_known, fp16 = config_value(origin, "fp16", False)
    bf16_known, bf16 = config_value(origin, "bf16", bf16_default)
    if not fp16_known or not bf16_known:
        return None
    if fp16 is True:
        return "fp16"
    bf16 = (not fp16) if bf16 is None else bf16
    return "bf16" if bf16 is True else "no"
