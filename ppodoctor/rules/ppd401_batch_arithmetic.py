from __future__ import annotations

from ..probe.probe_checks import Check
from ..types import ERROR, KnownError, Role
from .base import Rule
from .common import BATCH_DEFAULTS, config_field_span, config_value, new_api_ppo_config, versions


class BatchArithmetic(Rule):
    """The literal PPOConfig batch sizes are ones TRL rejects.

    Why it breaks: PPOTrainer computes `local_batch_size = per_device_train_batch_size *
    gradient_accumulation_steps` and splits it into `num_mini_batches`. If it does not divide, the
    constructor raises `ValueError: local_batch_size must be a multiple of num_mini_batches`; with
    `whiten_rewards=True` a per-rank mini-batch under 8 fails the assertion `Per-rank minibatch size
    N is insufficient for whitening` (trl 0.12-1.12). Both happen after the models are loaded. The
    figures assume one process; more processes multiply the global batch, not the per-rank one.

    Fix: choose sizes such that per_device_train_batch_size * gradient_accumulation_steps is a
    multiple of num_mini_batches (and, with whitening, at least 8 times it).
    """

    code = "PPD401"
    name = "batch-arithmetic"
    severity = ERROR
    roles = (Role.CONFIG,)
    summary = "PPOConfig batch sizes that TRL rejects"
    no_fix_reason = ("several sizes would divide; which one to change (and so the memory per step and the number "
                     "of updates) is the user's choice")
    probe_check = "the script's PPOConfig built in this interpreter and TRL's batch arithmetic applied to it"
    known_errors = (
        KnownError("mini-batches", r"must be a multiple of num_mini_batches",
                   "ValueError: batch_size must be a multiple of num_mini_batches", "0.12 - 1.12", "PPOTrainer(...)",
                   "per_device_train_batch_size × gradient_accumulation_steps × world size is not divisible by "
                   "`num_mini_batches`", "choose batch sizes whose product is a multiple of `num_mini_batches`"),
    )
    invalid = ('''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(per_device_train_batch_size=4, gradient_accumulation_steps=1, num_mini_batches=3)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(per_device_train_batch_size=4, whiten_rewards=True)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')
    valid = ('''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(per_device_train_batch_size=4, gradient_accumulation_steps=2, num_mini_batches=2)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(per_device_train_batch_size=args.batch, num_mini_batches=3)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        binding = new_api_ppo_config(setup, context)
        if binding is None:
            return
        origin = binding.origin
        values = {name: config_value(origin, name, default) for name, default in BATCH_DEFAULTS.items()}
        if not all(known for known, _ in values.values()):
            return
        per_device, accumulation, mini_batches, whiten = (values[name][1] for name in BATCH_DEFAULTS)
        if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                   for v in (per_device, accumulation, mini_batches)):
            return
        local_batch = per_device * accumulation
        where = next(filter(None, (config_field_span(origin, name) for name in ("num_mini_batches",
                                                                          "per_device_train_batch_size"))),
                     origin.span or binding.value_span)
        if local_batch % mini_batches:
            yield self.report(
                f"per_device_train_batch_size * gradient_accumulation_steps = {per_device} * {accumulation} = "
                f"{local_batch} is not a multiple of num_mini_batches={mini_batches}: PPOTrainer raises "
                f"`ValueError: ... must be a multiple of num_mini_batches` ({versions(context)})", where, setup,
            )
        elif whiten is True and local_batch // mini_batches < 8:
            yield self.report(
                f"whiten_rewards=True with a per-rank mini-batch of {local_batch // mini_batches} (< 8): PPOTrainer "
                f"fails `AssertionError: Per-rank minibatch size {local_batch // mini_batches} is insufficient for "
                f"whitening` ({versions(context)})", where, setup,
            )

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import failed

        return failed(facts, diagnostic.setup_index, (Check.BATCH,))
