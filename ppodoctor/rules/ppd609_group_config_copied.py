from __future__ import annotations

from ..types import ERROR, SAFE, Declined, Fix, KnownError, ValueKind
from .base import Rule
from .group_common import GROUP_KINDS, MEASURED, ConfigChecked, applies, example, group_config, trainer_word

# Fields GRPOConfig/RLOOConfig.__post_init__ computes from each other and then refuses to get both of.
_DERIVED = ("generation_batch_size", "steps_per_generation")


class GroupConfigCopied(ConfigChecked, Rule):
    """An RLOOConfig or GRPOConfig copied with `dataclasses.replace`.

    Why it breaks: `__post_init__` fills `generation_batch_size` and `steps_per_generation` from each
    other (and from the batch size) and refuses a config given both. `dataclasses.replace(config,
    **changes)` builds a new config from every field of the old one, both computed fields included, so
    the copy fails however small the change: `ValueError: 'generation_batch_size' and
    'steps_per_generation' can not be both configured at the same time` (trl 1.12 - 1.16), where the
    config is copied, after the models of a sweep script may already be loaded.

    Fix: let the copy compute them again: `dataclasses.replace(config, ..., generation_batch_size=None,
    steps_per_generation=None)` (safe: the copy cannot be made otherwise). A field that the original or
    the changes set themselves is kept, and only the other one is reset.
    """

    code = "PPD609"
    name = "group-config-copied"
    severity = ERROR
    summary = "an RLOOConfig/GRPOConfig copied with dataclasses.replace (both derived batch fields set)"
    trainer_kinds = GROUP_KINDS
    fix_title = "reset the derived batch fields in the copy (`generation_batch_size=None`, ...)"
    probe_check = "the original config built from its literal keywords in the target interpreter, then copied " \
                  "with dataclasses.replace and the changes: its __post_init__ raises; fixed: the copy builds"
    known_errors = (
        KnownError("group-config-copied", r"'generation_batch_size' and 'steps_per_generation' can not be both "
                   r"configured", "ValueError: 'generation_batch_size' and 'steps_per_generation' can not be both "
                   "configured at the same time", "1.12 - 1.16", "dataclasses.replace(config, ...)",
                   "the copy gets both batch fields the original computed",
                   "pass generation_batch_size=None, steps_per_generation=None to the copy"),
    )
    invalid = (example('''
        import dataclasses
        from trl import GRPOConfig, GRPOTrainer
        base = GRPOConfig(output_dir="out", per_device_train_batch_size=4, num_generations=4)
        config = dataclasses.replace(base, learning_rate=1e-5)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from dataclasses import replace
        from trl import RLOOConfig, RLOOTrainer
        base = RLOOConfig(output_dir="out", generation_batch_size=8)
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=replace(base, beta=0.1),
                              train_dataset=ds)
        '''))
    valid = (example('''
        import dataclasses
        from trl import GRPOConfig, GRPOTrainer
        base = GRPOConfig(output_dir="out", per_device_train_batch_size=4, num_generations=4)
        config = dataclasses.replace(base, learning_rate=1e-5, generation_batch_size=None, steps_per_generation=None)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from trl import GRPOConfig, GRPOTrainer
        config = GRPOConfig(output_dir="out", per_device_train_batch_size=4, num_generations=4, learning_rate=1e-5)
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''))

    def check_setup(self, setup, context):
        origin = group_config(setup)
        if origin is None or not applies(context) or origin.base is None or origin.partial \
                or origin.base.class_name != origin.class_name:
            return
        missing = _unset(origin)
        if not missing or _may_be_none(origin):
            return  # nothing computed travels, or the copy computes one again (a written None)
        yield self.report(f"`{origin.text}` copies a {origin.class_name.rsplit('.', 1)[-1]} whose "
                          "`__post_init__` computed both `generation_batch_size` and `steps_per_generation`: the "
                          "copy is given both and raises `ValueError: 'generation_batch_size' and "
                          f"'steps_per_generation' can not be both configured at the same time` ({MEASURED}, target "
                          f"{context.target.version}); {trainer_word(setup)}Trainer never starts", origin.span, setup,
                          fix=Fix(self.fix_title, SAFE, (("fields", missing),)), subject="config")

    def fix(self, diagnostic, context):
        import libcst as cst

        # the fix library loads only when a fix is made: kept off `check`
        from ..fixes.calls import append_argument

        origin = group_config(context.setup)
        call = context.source.node_at(origin.span, cst.Call) if origin is not None else None
        if call is None:
            raise Declined("the copy's call is not where the finding says")
        return append_argument(context.source, call,
                               ", ".join(f"{name}=None" for name in diagnostic.fix.param("fields")))


def _unset(origin) -> tuple[str, ...]:
    """The derived fields neither the original nor the changes write: the copy gets the computed ones."""
    written = {keyword.name for keyword in origin.keywords}
    return tuple(name for name in _DERIVED if name not in written)


def _may_be_none(origin) -> bool:
    """Whether a derived field is written with None, or with a value the source does not show."""
    return any(keyword.name in _DERIVED and not (keyword.value.kind == ValueKind.LITERAL and
                                                 keyword.value.value is not None) for keyword in origin.keywords)
