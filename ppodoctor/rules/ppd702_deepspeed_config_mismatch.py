from __future__ import annotations

from ..launch.model import DeepSpeedVia
from ..types import ERROR, KnownError, Role
from .base import Rule
from .common import config_value, is_ppo_config, new_api_applies

# (DeepSpeed entry, the TrainingArguments field transformers compares it with, that field's default)
_MATCHED = (("train_micro_batch_size_per_gpu", "per_device_train_batch_size", 8),
            ("gradient_accumulation_steps", "gradient_accumulation_steps", 1),
            ("gradient_clipping", "max_grad_norm", 1.0))


class DeepSpeedConfigMismatch(Rule):
    """The DeepSpeed JSON the launch hands the TrainingArguments contradicts them.

    Why it breaks: with `--deepspeed ds.json` among the script's arguments, transformers reads the
    JSON when the TrainingArguments (PPOConfig) are built and fills every `"auto"` entry from them;
    an entry written as a number that differs from its argument is a mismatch, and all of them are
    raised at once: `ValueError: Please correct the following DeepSpeed config values that mismatch
    TrainingArguments values: - ds train_micro_batch_size_per_gpu=2 vs hf per_device_train_batch_size=4`
    (transformers 4.x-5.x, `TrainingArguments.__post_init__`). Compared: the micro-batch, gradient
    accumulation, `train_batch_size` against world size × per-device batch × accumulation (the
    launch's world size), `gradient_clipping` against `max_grad_norm`, and `fp16.enabled`/`bf16.enabled`
    against `fp16`/`bf16` (PPOConfig's `bf16` defaults to `not fp16`).

    Fix: set those entries to "auto" (transformers then takes the TrainingArguments' values), or make
    them agree.
    """

    code = "PPD702"
    name = "deepspeed-config-mismatch"
    severity = ERROR
    summary = "the launch's DeepSpeed JSON contradicts the TrainingArguments"
    known_errors = (
        KnownError("deepspeed-mismatch", r"DeepSpeed config values that mismatch TrainingArguments",
                   "ValueError: Please correct the following DeepSpeed config values that mismatch TrainingArguments "
                   "values:\n- ds train_micro_batch_size_per_gpu=2 vs hf per_device_train_batch_size=4",
                   "0.12 - 1.12", "PPOConfig(...)", "a DeepSpeed JSON entry that is not \"auto\" differs from its "
                   "TrainingArguments field", "set the entry to \"auto\" or make it agree"),
    )

    def check_setup(self, setup, context):
        launch = context.launch
        binding = setup.role(Role.CONFIG)
        if launch is None or launch.deepspeed is None or launch.deepspeed.via != DeepSpeedVia.TRAINING_ARGUMENTS \
                or binding is None or not is_ppo_config(binding.origin) or not new_api_applies(setup, context):
            return
        deepspeed, origin = launch.deepspeed, binding.origin
        args = {name: config_value(origin, name, default) for _entry, name, default in _MATCHED}
        mismatches = []
        for entry, name, _default in _MATCHED:
            known, value = args[name]
            _compare(mismatches, entry, deepspeed.value(entry), name, value if known else None)
        per_device, accumulation = args["per_device_train_batch_size"], args["gradient_accumulation_steps"]
        if per_device[0] and accumulation[0] and launch.world_size is not None:
            _compare(mismatches, "train_batch_size", deepspeed.value("train_batch_size"),
                     "train_batch_size (calculated)", launch.world_size * per_device[1] * accumulation[1])
        fp16 = config_value(origin, "fp16", False)
        bf16 = config_value(origin, "bf16", None)
        if fp16[0] and bf16[0]:
            _compare(mismatches, "fp16.enabled", deepspeed.value("fp16.enabled"), "fp16|fp16_full_eval", bool(fp16[1]))
            effective = (not fp16[1]) if bf16[1] is None else bool(bf16[1])
            _compare(mismatches, "bf16.enabled", deepspeed.value("bf16.enabled"), "bf16|bf16_full_eval", effective)
        if not mismatches:
            return
        where = origin.span or binding.value_span
        yield self.report(
            f"the DeepSpeed config {deepspeed.source} (given as --deepspeed) contradicts the TrainingArguments: "
            f"transformers raises `ValueError: Please correct the following DeepSpeed config values that mismatch "
            f"TrainingArguments values: {'; '.join(mismatches)}` when PPOConfig is built; set them to \"auto\" or "
            f"make them agree", where, setup)


def _compare(found: list, entry: str, written, name: str, value) -> None:
    """transformers' fill_match: an entry that is neither absent nor "auto" must equal its argument."""
    if written is None or written == "auto" or value is None:
        return
    if written != value:
        found.append(f"- ds {entry}={written} vs hf {name}={value}")
