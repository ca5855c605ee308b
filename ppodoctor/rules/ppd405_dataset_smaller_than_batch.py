from __future__ import annotations

from ..types import ERROR, KnownError, Role
from .base import Rule
from .common import BATCH_DEFAULTS, config_value, is_ppo_config, new_api_applies, versions
from .dataset_shape import max_rows

_FACTORS = ("per_device_train_batch_size", "gradient_accumulation_steps")


class DatasetSmallerThanBatch(Rule):
    """The training dataset has fewer rows than one rollout batch: `train()` hangs forever.

    Why it breaks: PPOTrainer (trl 0.12-1.12) loads `train_dataset` with a DataLoader of
    `per_device_train_batch_size × gradient_accumulation_steps` rows per process and
    `drop_last=True`, then draws batches from `while True: yield from dataloader`. A dataset with
    fewer rows than that makes an empty DataLoader, so `train()` spins in that loop for ever: no
    error, no log line, no progress bar step. Under a launch of W processes `accelerator.prepare`
    shards that DataLoader's batches over the ranks (each rank gets every W-th batch, whole rounds
    only), so every rank needs its own batch: the dataset needs `W ×` the rows (measured: 2 prompts
    with a batch of 2 train in one process and hang in two). Without a launch the rule assumes one
    process, the least that can work; `ppodoctor check run_ppo.sh` judges the launch's world size.

    Fix: give the dataset at least one batch of rows, or lower `per_device_train_batch_size` /
    `gradient_accumulation_steps`. The rule reads the rows of a literal dataset
    (`Dataset.from_dict({...})`, `.select(range(N))`) and the literal PPOConfig; it is silent when
    either is not visible.
    """

    code = "PPD405"
    name = "dataset-smaller-than-batch"
    severity = ERROR
    summary = "the training dataset has fewer rows than one batch: train() hangs"
    known_errors = (
        # A hang prints nothing; what there is to match is the traceback of the Ctrl-C that ends it.
        KnownError("dataset-smaller-than-batch", r"in repeat_generator\b[\s\S]*KeyboardInterrupt",
                   'File ".../trl/experimental/ppo/ppo_trainer.py", line 616, in repeat_generator\n    while True:\n'
                   "KeyboardInterrupt", "0.12 - 1.12", "train() (hangs until interrupted)",
                   "the dataset has fewer rows than per_device_train_batch_size × gradient_accumulation_steps × "
                   "processes, so the DataLoader (drop_last=True) is empty and TRL's `while True: yield from "
                   "dataloader` never yields", "give the dataset at least one batch of rows, or lower the batch size"),
    )
    invalid = ('''
        from datasets import Dataset
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        dataset = Dataset.from_dict({"input_ids": [[5, 6, 7], [8, 9], [10, 11, 12]]})
        config = PPOConfig(output_dir="out", per_device_train_batch_size=8)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=dataset)
        ''', '''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(output_dir="out", per_device_train_batch_size=4, gradient_accumulation_steps=4)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=tokenized.select(range(10)))
        ''')
    valid = ('''
        from datasets import Dataset
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        dataset = Dataset.from_dict({"input_ids": [[5, 6], [7, 8], [9, 10], [11, 12]]})
        config = PPOConfig(output_dir="out", per_device_train_batch_size=2, gradient_accumulation_steps=2)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=dataset)
        ''', '''
        from datasets import Dataset
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        dataset = Dataset.from_dict({"input_ids": [[5, 6], [7, 8]]})
        config = PPOConfig(output_dir="out", per_device_train_batch_size=args.batch_size)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=dataset)
        ''', '''
        from datasets import load_dataset
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(output_dir="out", per_device_train_batch_size=64)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=load_dataset("org/prompts", split="train"))
        ''')

    def check_setup(self, setup, context):
        dataset, config = setup.role(Role.TRAIN_DATASET), setup.role(Role.CONFIG)
        if dataset is None or config is None or not is_ppo_config(config.origin) \
                or not new_api_applies(setup, context):
            return
        rows = max_rows(dataset.origin)
        factors = [config_value(config.origin, name, BATCH_DEFAULTS.get(name)) for name in _FACTORS]
        if rows is None or not all(known and type(value) is int and value > 0 for known, value in factors):
            return
        per_device, accumulation = (value for _known, value in factors)
        world = context.launch.world_size if context.launch is not None else 1
        if world is None:
            world = 1  # the launch does not say: one process, the least that can work
        batch = per_device * accumulation
        if rows >= batch * world:
            return
        if world == 1:
            yield self.report(
                f"train_dataset `{dataset.text}` has {rows} row{'s' if rows != 1 else ''} < batch {batch} = "
                f"per_device_train_batch_size {per_device} × gradient_accumulation_steps {accumulation}: TRL's "
                f"DataLoader (drop_last=True) is empty and train() hangs forever without an error "
                f"({versions(context)}); give it at least {batch} rows or lower the batch size",
                dataset.value_span, setup)
            return
        most = rows // batch
        fewer = f", or launch at most {most} process{'es' if most > 1 else ''}" if most else ""
        yield self.report(
            f"train_dataset `{dataset.text}` has {rows} row{'s' if rows != 1 else ''}, sharded over the launch's "
            f"{world} processes: each rank needs its own batch of {batch} (per_device_train_batch_size {per_device} "
            f"× gradient_accumulation_steps {accumulation}), {batch * world} rows in all, so the ranks' DataLoaders "
            f"(drop_last=True) are empty and train() hangs forever without an error ({versions(context)}); give it "
            f"at least {batch * world} rows or lower the batch size{fewer}", dataset.value_span, setup)
