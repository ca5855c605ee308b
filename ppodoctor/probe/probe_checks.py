"""The probe's checks and their outcomes, named once for both sides of the worker's JSON.

The worker (worker*.py, run as plain scripts in the user's interpreter, which import this file as a
sibling module) writes each check under its `Check` with a `Status`; the rules read them back through
probe/facts.py by the same members. Standard library only: the worker cannot import ppodoctor. A
rule that wants a new runtime check adds a member here and one worker function that fills it.
"""

from __future__ import annotations

from enum import Enum


class _Named(str, Enum):
    """A member is its value in JSON, comparisons and f-strings (the worker's JSON stays plain text)."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


class Check(_Named):
    """One of TRL's own steps that the worker runs on the meta-device models: PPOTrainer's (trl 0.12 - 1.12)
    and RLOOTrainer's / GRPOTrainer's (trl >= 1.0, worker_group.py; SIGNATURE, CONFIG and GENERATION_CONFIG
    serve both)."""

    SIGNATURE = "signature"  # the trainer's __init__ parameters bound to the call's arguments
    CONFIG = "config"  # the trainer's config (PPOConfig, RLOOConfig, GRPOConfig) built with the call's literal keywords
    BATCH = "batch"  # __init__'s batch arithmetic (num_mini_batches, whitening)
    SAME_OBJECT = "same_object"  # `model` and `ref_model` are not one object
    DROPOUT = "dropout"  # disable_dropout_in_model over the four models
    GENERATION_CONFIG = "generation_config"  # the policy's generation_config (the stop token)
    POLICY_LOGITS = "policy_logits"  # the policy's forward (rollout and update) gives per-token `.logits`
    REFERENCE_LOGITS = "reference_logits"  # the reference's forward gives per-token `.logits`
    WRAPPER = "wrapper"  # PolicyAndValueWrapper(policy, value) forward
    REWARD_GET_REWARD = "reward_get_reward"  # get_reward on the reward model
    VALUE_GET_REWARD = "value_get_reward"  # get_reward on the value model
    REWARD_NOT_TRAINED = "reward_not_trained"  # no reward parameter is among PolicyAndValueWrapper's trained ones
    FIRST_BATCH = "first_batch"  # DataCollatorWithPadding(tokenizer) on the rebuilt dataset's first rows
    # RLOOTrainer / GRPOTrainer
    VLLM = "vllm"  # with use_vllm: TRL's own check that vLLM is installed
    REWARD_MODELS = "reward_models"  # each reward model entry built on the meta device
    REWARD_CALL = "reward_call"  # each reward function's stand-in called by the trainer's _calculate_rewards
    REWARD_PROCESSING_CLASSES = "reward_processing_classes"  # __init__'s own count check of them

    @classmethod
    def get_reward(cls, role: str) -> "Check":
        """The get_reward check of a scorer role ("reward" or "value")."""
        return cls(f"{role}_get_reward")

    @classmethod
    def logits(cls, role: str) -> "Check":
        """The forward-gives-`.logits` check of a generating role ("policy" or "reference")."""
        return cls(f"{role}_logits")


class Status(_Named):
    PASS = "pass"
    FAIL = "fail"  # with TRL's (or torch's) error
    UNCHECKED = "unchecked"  # with the reason it could not run


# Not a check: the trl module whose PPOTrainer the checks ran against (a plain string in `checks`).
TRL_MODULE = "trl_module"


class Built(_Named):
    """What became of one model or the tokenizer when the worker tried to build it."""

    BUILT = "built"  # on the meta device (a tokenizer: from its saved files)
    ABSENT = "absent"  # the trainer call has no such role
    NONE = "none"  # the role is passed as None
    UNCHECKED = "unchecked"  # it could not be built: the reason follows


class Imported(_Named):
    """How `from module import names` went in the worker, as the script would run it."""

    OK = "ok"
    WARNING = "warning"  # a deprecation that names the module or a name
    ERROR = "error"  # the script would die here
