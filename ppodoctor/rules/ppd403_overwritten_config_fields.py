from __future__ import annotations

from ..types import WARNING
from .base import Rule
from .common import new_api_ppo_config

_OVERWRITTEN = ("batch_size", "mini_batch_size", "local_batch_size", "micro_batch_size", "local_mini_batch_size",
                "world_size", "num_total_batches")
_IGNORED = ("max_steps",)


class OverwrittenConfigFields(Rule):
    """PPOConfig fields that the new-era trainer silently overwrites or ignores.

    Why it is wrong: from TRL 0.12, PPOTrainer computes `batch_size`, `mini_batch_size` and their
    per-rank variants from `per_device_train_batch_size`, `gradient_accumulation_steps`,
    `num_mini_batches` and the number of processes, overwriting whatever was passed; `max_steps` is
    ignored (the run length is `total_episodes`, by default `num_train_epochs` times the dataset
    size). The run trains with other sizes than the script says, without a warning.

    Fix: set `per_device_train_batch_size`, `gradient_accumulation_steps` and `num_mini_batches`
    for the batch, and `total_episodes` for the length.
    """

    code = "PPD403"
    name = "overwritten-config-fields"
    severity = WARNING
    summary = "PPOConfig fields that the trainer overwrites or ignores"
    invalid = ('''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(batch_size=64, mini_batch_size=8)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        trainer = PPOTrainer(args=PPOConfig(max_steps=1000), processing_class=tok, model=policy, ref_model=ref,
                             reward_model=rm, value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(per_device_train_batch_size=8, num_mini_batches=2, total_episodes=10000)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)

    def check_setup(self, setup, context):
        binding = new_api_ppo_config(setup, context)
        if binding is None:
            return
        for keyword in binding.origin.keywords:
            if keyword.name in _OVERWRITTEN:
                consequence = ("is overwritten by PPOTrainer (computed from per_device_train_batch_size, "
                               "gradient_accumulation_steps, num_mini_batches and the process count)")
            elif keyword.name in _IGNORED:
                consequence = "is ignored by PPOTrainer (the run length is total_episodes)"
            else:
                continue
            yield self.report(f"PPOConfig `{keyword.name}={keyword.value.text}` {consequence}",
                              keyword.span or binding.value_span, setup)
