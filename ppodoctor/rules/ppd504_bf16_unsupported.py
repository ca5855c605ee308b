from __future__ import annotations

from ..probe.probe_checks import Check, Status
from ..types import ERROR, KnownError, Role, TrainerKind
from .base import Rule
from .group_common import GROUP_KINDS, group_config, trainer_word


# The PPOConfig fields that decide whether bf16 on a machine without a bf16 GPU is an error.
PRECISION_FIELDS = ("bf16", "fp16", "use_cpu", "no_cuda", "bf16_full_eval", "fp16_full_eval")


class Bf16Unsupported(Rule):
    """The config (PPOConfig, RLOOConfig, GRPOConfig) asks for bf16 on a machine with no bf16-capable GPU.

    Why it breaks: from TRL 0.13 on `PPOConfig.bf16` defaults to True (unless `fp16` is set), and
    `transformers.TrainingArguments` refuses it without a bf16-capable GPU: `PPOConfig(...)` itself
    raises `ValueError: Your setup doesn't support bf16/gpu`. Whether a GPU is there is a fact of the
    machine, so this rule runs in the probe, which builds the script's `PPOConfig` (with its literal
    `bf16`/`fp16`/`use_cpu` values) in the interpreter that will run it.

    RLOOConfig and GRPOConfig (trl 1.0 on) default to bf16 the same way and fail the same way, measured
    in trl 1.16 on a CPU machine: `GRPOConfig(output_dir="out")` raises `ValueError: Your setup doesn't
    support bf16/gpu. You need to assign use_cpu if you want to train the model on CPU.` For them too the
    probe builds the config (probe/worker_group.py, from its literal keywords; unchecked when a
    precision field is not one) in the interpreter that will run the script. Measured: only the
    config's own `use_cpu=True` avoids the error (under a launch's `ACCELERATE_USE_CPU=true` or
    `accelerate launch --cpu` it is raised all the same);
    not reported, because they train on the CPU (transformers 5.25, accelerate 1.16, torch 2.13):
    `fp16=True`, and a launch's `--mixed_precision bf16` or `fp16` with `bf16=False` (TrainingArguments
    does not check the launch's precision).

    Fix: pass `use_cpu=True` to train on the CPU, or `bf16=False` to train in float32.
    No automatic fix (the choice depends on the machine the run is meant for).
    """

    code = "PPD504"
    name = "bf16-unsupported"
    severity = ERROR
    roles = (Role.CONFIG,)
    machine_dependent = True
    summary = "the config trains in bf16 (PPO/RLOO/GRPO's default) and this machine has no bf16 GPU (runtime, --probe)"
    trainer_kinds = (TrainerKind.PPO,) + GROUP_KINDS
    no_fix_reason = ("`use_cpu=True` and `bf16=False` both run here, but the right one depends on the machine the "
                     "run is meant for")
    runtime_only = True
    probe_check = "the script's PPOConfig built in this interpreter, on this machine"
    known_errors = (
        KnownError("bf16-no-gpu", r"Your setup doesn't support bf16/gpu|doesn't support bf16",
                   "ValueError: Your setup doesn't support bf16/gpu.", "0.12 - 1.12", "PPOConfig(...)",
                   "`PPOConfig` defaults to `bf16=True` and the machine has no GPU",
                   "pass `bf16=False` (and `use_cpu=True` on CPU) to `PPOConfig`"),
        KnownError("bf16-no-gpu-group", r"Your setup doesn't support bf16/gpu",
                   "ValueError: Your setup doesn't support bf16/gpu. You need to assign use_cpu if you want to train "
                   "the model on CPU.", "1.0 - 1.16", "GRPOConfig(...) / RLOOConfig(...)",
                   "the config defaults to `bf16=True` (unless `fp16`), `use_cpu` is not set, and the machine has "
                   "no bf16 GPU", "pass `use_cpu=True` to train on the CPU, or `bf16=False`"),
    )

    def from_probe(self, setup, facts, already):
        if setup.kind in GROUP_KINDS:
            yield from self._group_from_probe(setup, facts)
            return
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import check

        config = check(facts, Check.CONFIG)
        binding = setup.role(Role.CONFIG)
        if binding is None or config.status is not Status.FAIL or "bf16" not in config.error:
            return
        if config.detail("partial", False) or set(config.detail("unseen") or ()) & set(PRECISION_FIELDS):
            return  # a value the source does not show may turn bf16 off: not the script's failure to claim
        yield self.report(
            f"`{binding.text}` fails on this interpreter: `{config.error}`; pass `use_cpu=True` to train on "
            "the CPU or `bf16=False`", binding.origin.span or binding.value_span, setup), config.error

    def _group_from_probe(self, setup, facts):
        # The worker builds the config only from literal keywords, and leaves it unchecked when a precision
        # field is not one: a failure here is the config as written, on this machine.
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.group_facts import config_error

        origin = group_config(setup)
        error = config_error(facts, [known.pattern for known in self.known_errors])
        if origin is None or error is None:
            return
        yield self.report(
            f"{trainer_word(setup)}Config trains in bf16 (its default unless fp16 is set) without use_cpu=True and "
            f"fails on this interpreter's machine: `{error}`; pass `use_cpu=True` (a launch's ACCELERATE_USE_CPU or "
            "--cpu does not count) or `bf16=False`", origin.span or setup.span, setup), error
