from __future__ import annotations

from ..types import ERROR, SAFE, Fix, KnownError, OperationKind
from .base import Rule
from .group_common import (GROUP_KINDS, MEASURED, ConfigChecked, applies, config_field, example, group_config, is_count,
                           trainer_word)
from .ppd601_generation_batch_indivisible import generation_batch


class TooFewGenerations(ConfigChecked, Rule):
    """`num_generations` is below 2.

    Why it breaks: RLOO and GRPO score each completion against the other completions of the same prompt
    (RLOO's leave-one-out baseline, GRPO's group mean and standard deviation), so each prompt needs at
    least two. RLOOConfig and GRPOConfig refuse fewer in `__post_init__`: `ValueError: GRPO requires at
    least 2 generations per prompt to calculate the advantages. You provided 1, which is less than the
    minimum required.` (RLOO words it the same way; trl 1.12 - 1.16). `num_generations=0` fails
    earlier, dividing the generation batch by it (`ZeroDivisionError`).

    Fix: `num_generations=2` (or more, a divisor of the generation batch: see PPD601). The fix writes 2
    where the generation batch is even (safe: the original cannot run), and leaves it to you otherwise.
    """

    code = "PPD602"
    name = "too-few-generations"
    severity = ERROR
    summary = "num_generations below 2 in an RLOO/GRPO config"
    trainer_kinds = GROUP_KINDS
    fix_title = "set num_generations=2"
    extra_patterns = ("integer modulo by zero",)  # num_generations=0: the divisibility check divides by it
    known_errors = (
        KnownError("generations-at-least-two", r"requires at least 2 generations per prompt",
                   "ValueError: GRPO requires at least 2 generations per prompt to calculate the advantages. You "
                   "provided 1, which is less than the minimum required.", "1.12 - 1.16",
                   "GRPOConfig(...) / RLOOConfig(...)", "`num_generations` is below 2: no group to compare with",
                   "set `num_generations` to 2 or more (a divisor of the generation batch)"),
    )
    invalid = (example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", per_device_train_batch_size=2, num_generations=1)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import RLOOConfig, RLOOTrainer
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, train_dataset=ds,
                              args=RLOOConfig(output_dir="out", num_generations=1))
        '''))
    valid = (example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", per_device_train_batch_size=2, num_generations=2)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import RLOOConfig, RLOOTrainer
        config = RLOOConfig(output_dir="out", num_generations=args.generations)
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''))

    def check_setup(self, setup, context):
        origin = group_config(setup)
        keyword = origin.keyword("num_generations") if origin is not None else None
        if keyword is None or not applies(context):
            return  # the defaults (8 for GRPO, 2 for RLOO) are fine
        known, generations = config_field(setup, origin, "num_generations")
        if not known or not is_count(generations) or generations >= 2:
            return
        word = trainer_word(setup)
        error = "`ZeroDivisionError: integer modulo by zero`" if generations == 0 else (
            f"`ValueError: {word} requires at least 2 generations per prompt to calculate the advantages. You "
            f"provided {generations}, which is less than the minimum required.`")
        yield self.report(
            f"num_generations={generations}: {word} compares each completion with the others of its prompt, and "
            f"{word}Config raises {error} ({MEASURED}, target {context.target.version})",
            keyword.span or origin.span, setup, fix=self._fix(setup, origin, keyword), subject="num_generations")

    @staticmethod
    def _fix(setup, origin, keyword):
        if any(op.kind == OperationKind.SET and op.name == "num_generations" for op in origin.operations) \
                or keyword.value_span is None:
            return None
        values = {}
        for name in ("per_device_train_batch_size", "gradient_accumulation_steps", "generation_batch_size",
                     "steps_per_generation"):
            known, value = config_field(setup, origin, name)
            if not known:
                return None
            values[name] = value
        batch = generation_batch(values)
        if batch is None or batch % 2:
            return None  # 2 would not divide the batch: PPD601's choice, not a mechanical one
        return Fix("set num_generations=2", SAFE, (("value_span", keyword.value_span),))

    def fix(self, diagnostic, context):
        return (context.source.replace_span(diagnostic.fix.param("value_span"), "2"),)

