"""What every PPOConfig field becomes in RLOOConfig / GRPOConfig: the port's one table.

Read from trl 1.16.0's rloo_config.py / grpo_config.py / trainers (successors.json holds their fields
and defaults) and TRL's own migration table for the on-policy RLOO trainer ("Migration Guide from the
old implementation", docs/source/rloo_trainer.md), which lists kl_coef→beta, cliprange→epsilon,
num_ppo_epochs→num_iterations, response_length→max_completion_length, num_mini_batches→
steps_per_generation, total_episodes→max_steps, stop_token/stop_token_id/missing_eos_penalty removed.
Where the arithmetic matters the planner (plan.py) computes it; this table says what, plan.py how.

Two families of PPOConfig share field names with different meanings: the ≤ 0.11 one (`batch_size` is
the rollout batch) and the TrainingArguments-based one from 0.12 (`batch_size` is computed by TRL).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional

from ..types import Successor

OLD_FAMILY, NEW_FAMILY = "old", "new"  # ≤ 0.11 PPOConfig; 0.12 – 1.12 PPOConfig
RLOO, GRPO = Successor.RLOO, Successor.GRPO
TRAINERS = {RLOO: ("RLOOTrainer", "RLOOConfig"), GRPO: ("GRPOTrainer", "GRPOConfig")}
NEWEST_MEASURED = "1.16.0"


class Action(enum.Enum):
    KEEP = "keep"  # same name and meaning in the new config
    RENAME = "rename"  # same meaning, new name
    DROP = "drop"  # no counterpart: removed, with a comment saying why
    COMPUTE = "compute"  # the value is recomputed (batch arithmetic, reward function, ...); see plan.py


class Special(enum.Enum):
    """The fields whose port needs more than a rename; plan.py has one handler each."""

    TOTAL_EPISODES = "total_episodes"  # → max_steps = ceil(episodes / rollout batch) × mini-batches × epochs
    MINI_BATCHES = "num_mini_batches"  # → steps_per_generation = gradient_accumulation_steps × mini-batches
    OLD_BATCH = "old_batch"  # ≤ 0.11 batch_size / mini_batch_size → per-device batch and steps_per_generation
    LOG_WITH = "log_with"  # ≤ 0.11 log_with="wandb" → report_to="wandb" (None → "none")
    SCORE_CLIP = "score_clip"  # ≤ 0.11 score_clip=c → RLOO reward_clip_range=(-c, c); GRPO has none
    EOS_PENALTY = "missing_eos_penalty"  # → a reward function subtracting it from completions without EOS
    EXP_NAME = "exp_name"  # → run_name, unless run_name is given too


@dataclass(frozen=True)
class FieldRule:
    field: str
    action: Action
    new: str = ""  # the new field (RENAME, and KEEP when it differs by family)
    reason: str = ""  # why it was dropped, or what changed in meaning (goes into the comment)
    special: Optional[Special] = None
    # When the script does not set it: write PPO's default explicitly if the new default differs,
    # so that the port trains with the values PPO did. Per target; GRPO's beta is carried only when
    # explicit (GRPO's own default, 0, trains without a reference model).
    carry_default: tuple[str, ...] = ()
    only: tuple[str, ...] = (RLOO, GRPO)  # the targets this rule holds for (others: see `otherwise`)
    otherwise: str = ""  # the drop reason for the other targets
    report: str = ""  # said to the user too when the script sets it: what the port could not carry over


_BOTH = (RLOO, GRPO)
_CRITIC = "no value model in {trainer}: advantages come from the other completions of the same prompt"
_COMPUTED = "computed by PPOTrainer from the batch sizes; {trainer} derives its own"

# Fields of the TrainingArguments-based PPOConfig (0.12 - 1.12), TRL's own; TrainingArguments' fields
# are kept as they are (the new configs inherit TrainingArguments too).
NEW_RULES: tuple[FieldRule, ...] = (
    FieldRule("kl_coef", Action.RENAME, "beta", carry_default=(RLOO,)),
    FieldRule("cliprange", Action.RENAME, "epsilon", carry_default=_BOTH),
    FieldRule("num_ppo_epochs", Action.RENAME, "num_iterations", carry_default=_BOTH),
    FieldRule("response_length", Action.RENAME, "max_completion_length", carry_default=_BOTH),
    FieldRule("temperature", Action.KEEP, carry_default=_BOTH),
    FieldRule("learning_rate", Action.KEEP, carry_default=_BOTH),
    FieldRule("bf16", Action.KEEP, carry_default=_BOTH),
    FieldRule("gradient_checkpointing", Action.KEEP, carry_default=_BOTH),
    FieldRule("num_mini_batches", Action.COMPUTE, "steps_per_generation", special=Special.MINI_BATCHES),
    FieldRule("total_episodes", Action.COMPUTE, "max_steps", special=Special.TOTAL_EPISODES),
    FieldRule("missing_eos_penalty", Action.COMPUTE, special=Special.EOS_PENALTY,
              reason="the new trainers have no such field: a reward function subtracts it instead"),
    FieldRule("exp_name", Action.COMPUTE, "run_name", special=Special.EXP_NAME),
    FieldRule("run_name", Action.KEEP),  # PPO 0.12's own field; TrainingArguments' in the new configs
    FieldRule("push_to_hub", Action.KEEP),
    FieldRule("ds3_gather_for_generation", Action.KEEP),
    FieldRule("logging_steps", Action.KEEP),
    FieldRule("lr_scheduler_kwargs", Action.KEEP),
    FieldRule("use_liger_kernel", Action.KEEP),
    FieldRule("torch_empty_cache_steps", Action.KEEP),
    FieldRule("vf_coef", Action.DROP, reason=_CRITIC),
    FieldRule("cliprange_value", Action.DROP, reason=_CRITIC),
    FieldRule("gamma", Action.DROP, reason=_CRITIC + " (no discounting, one reward per completion)"),
    FieldRule("lam", Action.DROP, reason=_CRITIC + " (no GAE)"),
    FieldRule("whiten_rewards", Action.DROP, reason=_CRITIC + "; normalize_advantages is the nearest knob"),
    FieldRule("kl_estimator", Action.DROP, reason="fixed in {trainer}: " + "{kl_placement}"),
    FieldRule("stop_token", Action.DROP, reason="{trainer} ends every completion at the tokenizer's and the "
              "model's EOS tokens already"),
    FieldRule("stop_token_id", Action.DROP, reason="removed in {trainer}: completions end at "
              "processing_class.eos_token_id and the model's generation_config EOS ids",
              report="stop_token_id={value} is not carried over: {trainer} ends completions at the tokenizer's "
                     "eos_token_id and the model's generation_config EOS ids; make {value} one of those (e.g. "
                     "model.generation_config.eos_token_id) if it is not already"),
    FieldRule("dataset_num_proc", Action.DROP, reason="unused by PPOTrainer and not in {trainer}"),
    FieldRule("local_rollout_forward_batch_size", Action.DROP,
              reason="{trainer} uses per_device_train_batch_size for its forward passes"),
    FieldRule("num_sample_generations", Action.DROP, reason="use log_completions=True and logging_steps in "
              "{trainer} to see samples"),
    FieldRule("sft_model_path", Action.DROP, reason="a path for TRL's example script only; the policy is `model=`"),
    FieldRule("reward_model_path", Action.DROP, reason="a path for TRL's example script only; the reward model "
              "is `reward_funcs=`"),
    FieldRule("model_adapter_name", Action.DROP, reason="{trainer} trains the PEFT adapter named `default`"),
    FieldRule("ref_adapter_name", Action.DROP, reason="{trainer} makes its own `ref` adapter (or disables the "
              "adapter) for the reference"),
    FieldRule("world_size", Action.DROP, reason=_COMPUTED),
    FieldRule("num_total_batches", Action.DROP, reason=_COMPUTED),
    FieldRule("micro_batch_size", Action.DROP, reason=_COMPUTED),
    FieldRule("local_batch_size", Action.DROP, reason=_COMPUTED),
    FieldRule("batch_size", Action.DROP, reason=_COMPUTED),
    FieldRule("local_mini_batch_size", Action.DROP, reason=_COMPUTED),
    FieldRule("mini_batch_size", Action.DROP, reason=_COMPUTED),
)

# Fields of the ≤ 0.11 PPOConfig (its own dataclass, not TrainingArguments).
OLD_RULES: tuple[FieldRule, ...] = (
    FieldRule("init_kl_coef", Action.RENAME, "beta", carry_default=(RLOO,)),
    FieldRule("cliprange", Action.RENAME, "epsilon", carry_default=_BOTH),
    FieldRule("ppo_epochs", Action.RENAME, "num_iterations", carry_default=_BOTH),
    FieldRule("learning_rate", Action.KEEP, carry_default=_BOTH),
    FieldRule("seed", Action.KEEP),
    FieldRule("gradient_accumulation_steps", Action.KEEP),
    FieldRule("max_grad_norm", Action.KEEP),
    FieldRule("gradient_checkpointing", Action.KEEP, carry_default=_BOTH),
    FieldRule("bf16", Action.KEEP, carry_default=_BOTH),  # no such field: ≤ 0.11 trained in fp32
    FieldRule("remove_unused_columns", Action.KEEP),
    FieldRule("batch_size", Action.COMPUTE, "steps_per_generation", special=Special.OLD_BATCH),
    FieldRule("mini_batch_size", Action.COMPUTE, "per_device_train_batch_size", special=Special.OLD_BATCH),
    FieldRule("log_with", Action.COMPUTE, "report_to", special=Special.LOG_WITH),
    FieldRule("exp_name", Action.COMPUTE, "run_name", special=Special.EXP_NAME),
    FieldRule("score_clip", Action.COMPUTE, "reward_clip_range", special=Special.SCORE_CLIP, only=(RLOO,),
              otherwise="GRPOConfig has no reward clipping"),
    FieldRule("adap_kl_ctrl", Action.DROP, reason="no adaptive KL controller: beta stays fixed"),
    FieldRule("kl_penalty", Action.DROP, reason="fixed in {trainer}: {kl_placement}"),
    FieldRule("target", Action.DROP, reason="the adaptive KL target: beta stays fixed in {trainer}"),
    FieldRule("horizon", Action.DROP, reason="the adaptive KL horizon: beta stays fixed in {trainer}"),
    FieldRule("gamma", Action.DROP, reason=_CRITIC + " (no discounting, one reward per completion)"),
    FieldRule("lam", Action.DROP, reason=_CRITIC + " (no GAE)"),
    FieldRule("cliprange_value", Action.DROP, reason=_CRITIC),
    FieldRule("vf_coef", Action.DROP, reason=_CRITIC),
    FieldRule("whiten_rewards", Action.DROP, reason=_CRITIC + "; normalize_advantages is the nearest knob"),
    FieldRule("early_stopping", Action.DROP, reason="{trainer} does not stop an update on KL"),
    FieldRule("target_kl", Action.DROP, reason="{trainer} does not stop an update on KL"),
    FieldRule("ratio_threshold", Action.DROP, reason="{trainer} does not skip batches on the ratio; epsilon "
              "clips it"),
    FieldRule("use_score_scaling", Action.DROP, reason="no running score statistics in {trainer}; "
              "normalize_advantages is the nearest knob"),
    FieldRule("use_score_norm", Action.DROP, reason="no running score statistics in {trainer}; "
              "normalize_advantages is the nearest knob"),
    FieldRule("model_name", Action.DROP, reason="a name for logging: the policy is `model=`"),
    FieldRule("query_dataset", Action.DROP, reason="a name for logging"),
    FieldRule("reward_model", Action.DROP, reason="a name for logging: the reward model is `reward_funcs=`"),
    FieldRule("task_name", Action.DROP, reason="a name for logging; run_name names the run"),
    FieldRule("tracker_kwargs", Action.DROP, reason="tracker settings: {trainer} logs through report_to"),
    FieldRule("tracker_project_name", Action.DROP, reason="tracker settings: {trainer} logs through report_to "
              "(wandb reads WANDB_PROJECT)"),
    FieldRule("accelerator_kwargs", Action.DROP, reason="the new trainers build their Accelerator from the "
              "config"),
    FieldRule("project_kwargs", Action.DROP, reason="the new trainers build their Accelerator from the config"),
    FieldRule("push_to_hub_if_best_kwargs", Action.DROP, reason="use push_to_hub and hub_model_id"),
    FieldRule("steps", Action.DROP, reason="the hand-written loop's length: {trainer} runs max_steps or "
              "num_train_epochs"),
    FieldRule("forward_batch_size", Action.DROP, reason="deprecated in PPO already; {trainer} uses "
              "per_device_train_batch_size"),
    FieldRule("optimize_cuda_cache", Action.DROP, reason="not in {trainer}"),
    FieldRule("optimize_device_cache", Action.DROP, reason="not in {trainer}"),
    FieldRule("compare_steps", Action.DROP, reason="not in {trainer}"),
    FieldRule("world_size", Action.DROP, reason=_COMPUTED),
    FieldRule("is_encoder_decoder", Action.DROP, reason="computed by PPOTrainer; {trainer} trains decoders"),
    FieldRule("is_peft_model", Action.DROP, reason="computed by PPOTrainer; {trainer} sees the model"),
    FieldRule("backward_batch_size", Action.DROP, reason=_COMPUTED),
    FieldRule("global_backward_batch_size", Action.DROP, reason=_COMPUTED),
    FieldRule("global_batch_size", Action.DROP, reason=_COMPUTED),
    FieldRule("dataset_num_proc", Action.DROP, reason="not in {trainer}"),
)

RULES = {OLD_FAMILY: {rule.field: rule for rule in OLD_RULES}, NEW_FAMILY: {rule.field: rule for rule in NEW_RULES}}

# transformers.TrainingArguments' defaults for the fields carried above that the 0.12 - 1.12 PPOConfig
# inherits without overriding in some releases (checked against the installed transformers by a test).
TRAINING_ARGUMENTS_DEFAULTS = {"learning_rate": 5e-05, "bf16": False, "gradient_checkpointing": False}
# What the ≤ 0.11 PPOConfig trained with where it had no field: fp32 (no mixed precision by default).
OLD_FAMILY_IMPLICIT = {"bf16": False}

KL_PLACEMENT = {
    RLOO: "the KL to the reference (k1, log-ratio, summed over the completion) is subtracted from the reward, "
          "as PPO did",
    GRPO: "the KL to the reference (k3) is added to the per-token loss, not to the reward",
}

# Trainer keywords, whatever the PPO era called them → what the successor calls them ("" drops it).
TRAINER_KEYWORDS = {
    "policy": "model", "processing_class": "processing_class", "config": "args", "train_dataset": "train_dataset",
    "eval_dataset": "eval_dataset", "callbacks": "callbacks", "optimizers": "optimizers",
    "peft_config": "peft_config", "reward": "reward_funcs",
}
# What the ≤ 0.11 loop passes to `trainer.generate(...)` → the new config's field.
LOOP_GENERATION = {"max_new_tokens": "max_completion_length", "temperature": "temperature", "top_k": "top_k",
                   "top_p": "top_p", "min_p": "min_p", "repetition_penalty": "repetition_penalty"}
DROPPED_TRAINER_KEYWORDS = {
    "reference": "{trainer} builds its reference model itself from `model` (none when beta is 0 or with PEFT)",
    "value": "{trainer} has no value model",
    "data_collator": "{trainer} collates prompts itself",
    "num_shared_layers": "{trainer} has no shared layers option",
}


def rule_for(field: str, family: str) -> Optional[FieldRule]:
    return RULES[family].get(field)


def format_reason(text: str, target: str) -> str:
    return text.format(trainer=TRAINERS[target][0], kl_placement=KL_PLACEMENT[target])
