from __future__ import annotations

import math
from typing import Optional

from ..setup.model import Origin
from ..types import ERROR, UNSAFE, Declined, Fix, KnownError, OperationKind, OriginKind
from .base import Rule
from .group_common import (GROUP_KINDS, MEASURED, ConfigChecked, applies, config_field, example, group_config,
                           is_count, trainer_word, world_size)

_FIELDS = ("per_device_train_batch_size", "gradient_accumulation_steps", "generation_batch_size",
           "steps_per_generation", "num_generations")


def generation_batch(values: dict, world_size: int = 1) -> Optional[int]:
    """The generation batch GRPOConfig/RLOOConfig.__post_init__ computes (trl 1.16), or None where it raises
    another error first (both generation_batch_size and steps_per_generation set, or an indivisible one)."""
    per_device, accumulation = values["per_device_train_batch_size"], values["gradient_accumulation_steps"]
    batch, steps = values["generation_batch_size"], values["steps_per_generation"]
    if batch is None and steps is None:
        return per_device * world_size * accumulation
    if batch is not None and steps is None:
        return None if batch % (per_device * world_size) else batch
    if batch is None:
        return per_device * world_size * steps
    return None


def global_batch_mismatch(values: dict, world_size: int) -> Optional[int]:
    """The global batch (per-device batch × processes) that a written `generation_batch_size` is not a
    multiple of, which `__post_init__` rejects before it looks at `num_generations`; None where it is."""
    batch, per_device = values["generation_batch_size"], values["per_device_train_batch_size"]
    if batch is None or values["steps_per_generation"] is not None:
        return None
    return per_device * world_size if batch % (per_device * world_size) else None


class GenerationBatchIndivisible(ConfigChecked, Rule):
    """The generation batch is not a multiple of `num_generations`.

    Why it breaks: RLOOConfig and GRPOConfig check in `__post_init__` that the generation batch holds
    whole groups of `num_generations` completions of one prompt. The generation batch is
    `per_device_train_batch_size × world size × steps_per_generation` (`steps_per_generation` defaults
    to `gradient_accumulation_steps`), or `generation_batch_size` when that is set. When it does not
    divide, building the config raises `ValueError: generation_batch_size (2) must be divisible by
    num_generations (3).` (trl 1.12 - 1.16; older releases word it "The global train batch size (1 x 1)
    must be evenly divisible by the number of generations per prompt (8)"). GRPOConfig's default
    `num_generations` is 8, RLOOConfig's 2. A written `generation_batch_size` must first be a multiple
    of the global batch (`per_device_train_batch_size × world size`): `ValueError: generation_batch_size
    (2) must be divisible by the global batch size (4).` (measured with two ranks).

    The world size is the launch's when one is checked (`ppodoctor check run.sh`, `check -- torchrun
    --nproc_per_node 2 train.py`): a script may be fine in one process and fail in three, or the other
    way round (measured: per-device batch 1 with `num_generations=2` fails alone and trains on two
    ranks). Without a launch the rule assumes one process and says so; under a launch that does not say
    how many processes it starts it is silent.

    Fix: set `num_generations` to a divisor of the generation batch (at least 2), or raise the batch to
    a multiple of it. The fix picks the largest divisor not above the written `num_generations`, else the
    smallest larger batch (for a written `generation_batch_size`, the next multiple of both the global
    batch and `num_generations`); it is unsafe, since it changes the group size or the batch, and it is
    computed for the world size the finding names.
    """

    code = "PPD601"
    name = "generation-batch-indivisible"
    severity = ERROR
    summary = "the RLOO/GRPO generation batch is not a multiple of num_generations"
    trainer_kinds = GROUP_KINDS
    fix_title = "set num_generations to a divisor of the generation batch (or the batch to a multiple)"
    known_errors = (
        KnownError("generations-divide", r"must be divisible by num_generations|evenly divisible by the "
                   r"number of generations per prompt",
                   "ValueError: generation_batch_size (2) must be divisible by num_generations (3).",
                   "1.12 - 1.16", "GRPOConfig(...) / RLOOConfig(...)",
                   "the generation batch (per-device batch × processes × steps_per_generation) does not hold whole "
                   "groups of `num_generations`", "make `num_generations` divide the generation batch"),
        KnownError("global-batch-divides", r"must be divisible by the global batch size",
                   "ValueError: generation_batch_size (2) must be divisible by the global batch size (4).",
                   "1.12 - 1.16", "GRPOConfig(...) / RLOOConfig(...), on every rank",
                   "a written `generation_batch_size` is not a multiple of per_device_train_batch_size × processes",
                   "make `generation_batch_size` a multiple of the global batch (and of `num_generations`)"),
    )
    invalid = (example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", per_device_train_batch_size=2, num_generations=3)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import RLOOConfig, RLOOTrainer
        config = RLOOConfig(output_dir="out", per_device_train_batch_size=1)
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", per_device_train_batch_size=4, generation_batch_size=12,
                            num_generations=8)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import RLOOConfig, RLOOTrainer
        config = RLOOConfig(output_dir="out", per_device_train_batch_size=4, generation_batch_size=6)
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''))
    valid = (example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", per_device_train_batch_size=2, gradient_accumulation_steps=2,
                            num_generations=4)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out")
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", per_device_train_batch_size=args.batch, num_generations=3)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''))

    def check_setup(self, setup, context):
        origin = group_config(setup)
        if origin is None or not applies(context):
            return
        values = {}
        for name in _FIELDS:
            known, value = config_field(setup, origin, name)
            if not known or not (value is None or is_count(value) and value > 0):
                return
            values[name] = value
        world, processes = world_size(context)
        if world is None:
            return  # the launch does not say how many processes: more of them may make it divide
        mismatch = global_batch_mismatch(values, world)
        if mismatch is not None:
            yield self._global_batch_finding(setup, origin, values, mismatch, world, processes, context)
            return
        generations = values["num_generations"]
        batch = generation_batch(values, world)
        if batch is None or generations is None or generations < 2 or batch % generations == 0:
            return  # another error comes first, or num_generations < 2 (PPD602)
        keyword = origin.keyword("num_generations")
        where = keyword.span if keyword is not None and keyword.span is not None else (origin.span or setup.span)
        shown = "the default " if keyword is None else ""
        yield self.report(
            f"the generation batch is {batch} ({self._how(values, processes)}), not a multiple of "
            f"{shown}num_generations={generations}: {trainer_word(setup)}Config raises `ValueError: "
            f"generation_batch_size ({batch}) must be divisible by num_generations ({generations}).` "
            f"({MEASURED}, target {context.target.version})", where, setup,
            fix=self._fix(origin, values, batch, world), subject="num_generations")

    def _global_batch_finding(self, setup, origin: Origin, values: dict, global_batch: int, world: int,
                              processes: str, context):
        batch = values["generation_batch_size"]
        keyword = origin.keyword("generation_batch_size")
        where = keyword.span if keyword is not None and keyword.span is not None else (origin.span or setup.span)
        return self.report(
            f"generation_batch_size={batch} is not a multiple of the global batch {global_batch} "
            f"(per_device_train_batch_size {values['per_device_train_batch_size']} {processes}): "
            f"{trainer_word(setup)}Config raises `ValueError: generation_batch_size ({batch}) must be divisible by "
            f"the global batch size ({global_batch}).` ({MEASURED}, target {context.target.version})", where, setup,
            fix=self._fix(origin, values, batch, world, global_batch), subject="generation_batch_size")

    @staticmethod
    def _how(values: dict, processes: str) -> str:
        if values["generation_batch_size"] is not None:
            return "generation_batch_size, as set"
        steps = values["steps_per_generation"]
        return (f"per_device_train_batch_size {values['per_device_train_batch_size']} × "
                + (f"steps_per_generation {steps}" if steps is not None
                   else f"gradient_accumulation_steps {values['gradient_accumulation_steps']}") + f" {processes}")

    @staticmethod
    def _fix(origin: Origin, values: dict, batch: int, world: int, global_batch: Optional[int] = None) -> Optional[Fix]:
        if any(op.kind == OperationKind.SET and op.name in _FIELDS for op in origin.operations) or origin.partial \
                or origin.span is None or origin.kind != OriginKind.CONSTRUCTOR:
            # a field set after the call, hidden in a **mapping, or given by the launch's command line (a
            # parser's instance): no one place in the file to edit
            return None
        generations = values["num_generations"]
        divisors = [d for d in range(2, generations) if batch % d == 0] if global_batch is None else []
        if divisors:
            field, value = "num_generations", max(divisors)
        elif values["generation_batch_size"] is not None:
            step = math.lcm(max(generations or 1, 1), values["per_device_train_batch_size"] * world)
            field, value = "generation_batch_size", -(-batch // step) * step
        else:
            multiplier = batch // values["per_device_train_batch_size"]  # steps per generation
            per_device = values["per_device_train_batch_size"]
            while (per_device * multiplier) % generations:
                per_device += 1
            field, value = "per_device_train_batch_size", per_device
        keyword = origin.keyword(field)
        title = f"set {field}={value} (for {world} process{'es' if world != 1 else ''})"
        return Fix(title, UNSAFE, (("field", field), ("value", value), ("config", origin.span),
                                   ("value_span", keyword.value_span if keyword is not None else None)))

    def fix(self, diagnostic, context):
        import libcst as cst

        # the fix library loads only when a fix is made: kept off `check`
        from ..fixes.calls import append_argument

        fix = diagnostic.fix
        value_span = fix.param("value_span")
        if value_span is not None:
            return (context.source.replace_span(value_span, str(fix.param("value"))),)
        call = context.source.node_at(fix.param("config"), cst.Call)
        if call is None:
            raise Declined("the config call is not where the finding says")
        return append_argument(context.source, call, f"{fix.param('field')}={fix.param('value')}")
