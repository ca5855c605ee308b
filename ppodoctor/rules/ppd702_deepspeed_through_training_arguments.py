from __future__ import annotations

from ..launch.model import DeepSpeedVia
from ..types import ERROR, KnownError, OriginKind, ValueKind
from .base import Rule
from .common import new_api_ppo_config, versions


class DeepSpeedThroughTrainingArguments(Rule):
    """The launch hands PPOConfig a DeepSpeed JSON (`--deepspeed ds.json`): building PPOConfig fails.

    Why it breaks: with `deepspeed=` set, TrainingArguments' `__post_init__` reads the JSON and
    computes `train_batch_size = args.world_size * per_device_train_batch_size *
    gradient_accumulation_steps` before anything else. PPOConfig declares a field `world_size` of
    its own (None until PPOTrainer fills it), which hides TrainingArguments' `world_size` property, so
    that line raises `TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'` on every
    rank, whatever the JSON holds (measured with trl 0.12.2 + transformers 4.46.3 and trl 1.12.0 +
    transformers 5.25.0, DeepSpeed 0.19.8 installed; without DeepSpeed it is `PackageNotFoundError`).
    transformers' own check of the JSON against the TrainingArguments ("Please correct the following
    DeepSpeed config values that mismatch TrainingArguments values") comes after that line, so a PPO
    run never reaches it.

    Fix: hand the JSON to accelerate, whose Accelerator PPOTrainer builds: `accelerate launch
    --use_deepspeed --deepspeed_config_file ds.json train.py ...`, or `deepspeed_config_file:` under
    `deepspeed_config:` in the accelerate config file; and drop `--deepspeed` from the script's arguments.
    """

    code = "PPD702"
    name = "deepspeed-through-training-arguments"
    severity = ERROR
    summary = "a DeepSpeed JSON given to PPOConfig (`--deepspeed`) makes PPOConfig(...) fail"
    no_fix_reason = ("the cure moves the DeepSpeed JSON from the script's arguments to the accelerate launch or its "
                     "config file, which live outside the Python file `fix` edits")
    known_errors = (
        KnownError("deepspeed-world-size", r"trainer_config_process[\s\S]*unsupported operand type\(s\) for \*: "
                   r"'NoneType' and 'int'",
                   "File \".../transformers/integrations/deepspeed.py\", line 145, in trainer_config_process\n"
                   "TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'", "0.12 - 1.12", "PPOConfig(...)",
                   "PPOConfig's own `world_size` field (None) hides TrainingArguments' world size when `deepspeed=` is set",
                   "give the DeepSpeed JSON to accelerate (`--use_deepspeed --deepspeed_config_file`), not to PPOConfig"),
    )

    invalid = ('''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(output_dir="out", deepspeed="ds_zero2.json")
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)
    valid = ('''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(output_dir="out")
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from trl.experimental.ppo import PPOConfig, PPOTrainer
        config = PPOConfig(output_dir="out", deepspeed=None)
        trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        binding = new_api_ppo_config(setup, context)
        if binding is None:
            return
        origin = binding.origin
        keyword = origin.keyword("deepspeed")
        if keyword is None or keyword.value.kind != ValueKind.LITERAL or not keyword.value.value:
            return  # no DeepSpeed JSON reaches PPOConfig (a launch's `--deepspeed` binds here when it does)
        launch = context.launch
        named = launch.deepspeed.source if launch is not None and launch.deepspeed is not None \
            and launch.deepspeed.via == DeepSpeedVia.TRAINING_ARGUMENTS else str(keyword.value.value)
        given = "the launch gives" if origin.kind == OriginKind.PARSED_ARGS else "the script gives"
        yield self.report(
            f"{given} PPOConfig the DeepSpeed config {named} (`deepspeed=`): "
            f"TrainingArguments computes `args.world_size * per_device_train_batch_size * ...` with PPOConfig's own "
            f"`world_size` field, still None, and fails with `TypeError: unsupported operand type(s) for *: 'NoneType' "
            f"and 'int'` on every rank ({versions(context)}); hand it to accelerate instead: `accelerate launch "
            f"--use_deepspeed --deepspeed_config_file {named} ...`", keyword.span or origin.span or binding.value_span,
            setup)
