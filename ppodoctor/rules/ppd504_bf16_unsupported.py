from __future__ import annotations

from ..probe.probe_checks import Check, Status
from ..types import ERROR, KnownError, Role
from .base import Rule


# The PPOConfig fields that decide whether bf16 on a machine without a bf16 GPU is an error.
PRECISION_FIELDS = ("bf16", "fp16", "use_cpu", "no_cuda", "bf16_full_eval", "fp16_full_eval")


class Bf16Unsupported(Rule):
    """`PPOConfig` asks for bf16 on an interpreter with no bf16-capable GPU.

    Why it breaks: from TRL 0.13 on `PPOConfig.bf16` defaults to True (unless `fp16` is set), and
    `transformers.TrainingArguments` refuses it without a bf16-capable GPU: `PPOConfig(...)` itself
    raises `ValueError: Your setup doesn't support bf16/gpu`. Whether a GPU is there is a fact of the
    machine, so this rule runs in the probe, which builds the script's `PPOConfig` (with its literal
    `bf16`/`fp16`/`use_cpu` values) in the interpreter that will run it.

    Fix: pass `use_cpu=True` to train on the CPU, or `bf16=False` to train in float32.
    No automatic fix (the choice depends on the machine the run is meant for).
    """

    code = "PPD504"
    name = "bf16-unsupported"
    severity = ERROR
    roles = (Role.CONFIG,)
    machine_dependent = True
    summary = "PPOConfig defaults to bf16 and this interpreter has no bf16 GPU (runtime, --probe)"
    no_fix_reason = ("`use_cpu=True` and `bf16=False` both run here, but the right one depends on the machine the "
                     "run is meant for")
    runtime_only = True
    probe_check = "the script's PPOConfig built in this interpreter, on this machine"
    known_errors = (
        KnownError("bf16-no-gpu", r"Your setup doesn't support bf16/gpu|doesn't support bf16",
                   "ValueError: Your setup doesn't support bf16/gpu.", "0.12 - 1.12", "PPOConfig(...)",
                   "`PPOConfig` defaults to `bf16=True` and the machine has no GPU",
                   "pass `bf16=False` (and `use_cpu=True` on CPU) to `PPOConfig`"),
    )

    def from_probe(self, setup, facts, already):
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
