"""What PPO's successors (RLOOTrainer, GRPOTrainer) raise, measured with trl 1.16.0 on CPU.

`ppodoctor migrate` owns these as a rule owns its errors: `ppodoctor explain` recognises them and
points at the port, whose probe builds the new config and checks the new call before anything is
written. Plain data: importing this module imports nothing heavy.
"""

from __future__ import annotations

from ..types import KnownError


def _measured(key: str, pattern: str, error: str, trl_versions: str, when: str, cause: str, _codes: tuple,
              fix: str, caught_by: str) -> KnownError:
    return KnownError(key, pattern, error, trl_versions, when, cause, fix, caught_by=caught_by)


_MIGRATE = "`ppodoctor migrate --to rloo|grpo` (its probe builds the new config and checks the call before writing)"
_NEW_TRAINER = r"(?<=(?:RLOO|GRPO)Trainer\.__init__\(\) got an )"

# What RLOOTrainer / GRPOTrainer (PPO's successors) raise, measured with trl 1.16.0 on CPU. The errors a
# check rule catches on any RLOO/GRPO script are that rule's (the generation batch: PPD601, num_generations
# < 2: PPD602, a written generation_batch_size that is not a multiple of the global batch: PPD601 too,
# no `prompt` column: PPD604, a PPOConfig field: PPD606, reward_processing_classes of the wrong
# length: PPD608): `explain` names the rule, and a port is checked by it before it is written.
SUCCESSOR_ERRORS: tuple[KnownError, ...] = (
    _measured(
        "generation-batch-and-steps", r"'generation_batch_size' and 'steps_per_generation' can not be both",
        "ValueError: 'generation_batch_size' and 'steps_per_generation' can not be both configured at the same time",
        "RLOO/GRPO ≥ 0.22", "RLOOConfig(...) / GRPOConfig(...)", "both ways of sizing the generation batch are set",
        (), "keep one of the two", _MIGRATE),
    _measured(
        "ppo-keyword-on-successor", _NEW_TRAINER + r"unexpected keyword argument "
        r"'(value_model|ref_model|ref_policy|reward_model|policy|config|tokenizer|dataset|data_collator)'",
        "TypeError: RLOOTrainer.__init__() got an unexpected keyword argument 'value_model'",
        "RLOO/GRPO ≥ 0.22", "RLOOTrainer(...) / GRPOTrainer(...)",
        "a PPOTrainer keyword on PPO's successor: there is no value model, the reference is built from `model`, "
        "the reward model is `reward_funcs=`, the config `args=`", (),
        "drop value_model/ref_model; rename reward_model→reward_funcs, policy→model, config→args, "
        "tokenizer→processing_class", _MIGRATE),
    _measured(
        "reward-funcs-missing", r"missing 1 required positional argument: '?reward_funcs'?|No reward source provided",
        "TypeError: RLOOTrainer.__init__() missing 1 required positional argument: 'reward_funcs'",
        "RLOO/GRPO ≥ 0.22", "RLOOTrainer(...) / GRPOTrainer(...)", "no `reward_funcs=`", (),
        "pass the reward model (a one-label sequence classifier, or its path) or a reward function as "
        "`reward_funcs=`", _MIGRATE),
    _measured(
        "reward-not-classifier", r"expand\(torch\.\w+\{\[\d+, \d+\]\}, size=\[\d+\]\)",
        "RuntimeError: expand(torch.FloatTensor{[2, 64]}, size=[2]): the number of sizes provided (1) must be "
        "greater or equal to the number of dimensions in the tensor (2)", "RLOO/GRPO ≥ 0.22", "train() (scoring)",
        "the reward model is a causal LM: its logits are per token, the trainer reads `logits[:, 0]` per completion",
        (), "load the reward model with `AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)`",
        _MIGRATE),
)
