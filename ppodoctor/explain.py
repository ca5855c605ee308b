"""From an error message (or a whole traceback) to the rule that would have caught it.

KNOWN_ERRORS is the one table of TRL's measured PPO failures (docs: /work/shared/trl-ppo-facts.md,
"What each mistake does"). Rules are looked up lazily by code, so an entry may name a rule that is not
registered yet: it is then shown by its code alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from .rules import find_rule
from .rules.base import Rule

# The keywords that changed names between the constructor eras (≤ 0.12 vs ≥ 0.13).
_ERA_KEYWORDS = "args|model|ref_model|processing_class|config|policy|ref_policy|tokenizer|reward_model|" \
                "value_model|train_dataset|peft_config"
# Old-era PPOConfig fields that the new PPOConfig rejects.
_OLD_CONFIG_FIELDS = "model_name|query_dataset|log_with|init_kl_coef|kl_penalty|adap_kl_ctrl|ppo_epochs|" \
                     "target|horizon|forward_batch_size|tracker_project_name|tracker_kwargs|" \
                     "accelerator_kwargs|optimize_cuda_cache|optimize_device_cache|early_stopping|" \
                     "target_kl|use_score_scaling|use_score_norm|score_clip|whiten_rewards|steps|" \
                     "is_encoder_decoder|is_peft_model|ratio_threshold|compare_steps|gradient_checkpointing"


@dataclass(frozen=True)
class KnownError:
    """One failure TRL produces: how to recognise it, where it comes from, what prevents it."""

    key: str  # a stable id for tests and JSON
    pattern: str  # a regular expression searched in the message (case-insensitive)
    error: str  # the message as TRL raises it
    trl_versions: str
    when: str  # the moment it strikes: "PPOTrainer(...)", "train()", ...
    cause: str
    codes: tuple[str, ...]  # the rules that catch it before it runs, most specific first
    fix: str
    caught_by: str = ""  # what catches it when no rule does (e.g. `ppodoctor migrate`'s probe)

    def search(self, text: str) -> Optional[re.Match]:
        return re.search(self.pattern, text, re.IGNORECASE)


KNOWN_ERRORS: tuple[KnownError, ...] = (
    KnownError(
        "value-model-required", r"missing 1 required positional argument: '?value_model'?",
        "TypeError: PPOTrainer.__init__() missing 1 required positional argument: 'value_model'",
        "0.18 - 1.12", "PPOTrainer(...)", "the trainer is built without a value model",
        ("PPD101",), "pass a single-logit sequence classifier as `value_model=`, e.g. "
        "`AutoModelForSequenceClassification.from_pretrained(reward_path, num_labels=1)`"),
    KnownError(
        "value-model-none-modules", r"'NoneType' object has no attribute 'modules'",
        "AttributeError: 'NoneType' object has no attribute 'modules'",
        "0.12", "PPOTrainer(...) (disabling dropout)", "`value_model` is left out or None; TRL 0.12 defaults it "
        "to None", ("PPD101", "PPD102"), "pass a single-logit sequence classifier as `value_model=`"),
    KnownError(
        "value-model-none-prefix", r"'NoneType' object has no attribute 'base_model_prefix'",
        "AttributeError: 'NoneType' object has no attribute 'base_model_prefix'",
        "0.13 - 1.12", "PPOTrainer(...) (PolicyAndValueWrapper)", "`value_model=None` (or left out before 0.18)",
        ("PPD102", "PPD101"), "pass a single-logit sequence classifier as `value_model=`"),
    KnownError(
        "value-head-wrapper-prefix", r"'(?!NoneType')[\w.]*' object has no attribute 'base_model_prefix'",
        "AttributeError: 'AutoModelForCausalLMWithValueHead' object has no attribute 'base_model_prefix'",
        "0.12 - 1.12", "PPOTrainer(...)", "the value model is a value-head wrapper (the ≤ 0.11 API)",
        ("PPD107",), "use `AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)` as the value "
        "model; the new trainer adds no value head of its own"),
    KnownError(
        "value-head-wrapper-generation-config", r"object has no attribute 'generation_config'",
        "AttributeError: 'AutoModelForCausalLMWithValueHead' object has no attribute 'generation_config'",
        "0.12 - 1.12", "PPOTrainer(...)", "the policy is `AutoModelForCausalLMWithValueHead` (the ≤ 0.11 API)",
        ("PPD107",), "load the policy with `AutoModelForCausalLM.from_pretrained(...)`"),
    KnownError(
        "no-score-head", r"object has no attribute 'score'",
        "AttributeError: 'LlamaForCausalLM' object has no attribute 'score'",
        "0.12 - 1.12", "train() (first rollout)", "the value or reward model is a causal LM (often the policy "
        "object itself) or an encoder whose head is named `classifier`",
        ("PPD103", "PPD104", "PPD109", "PPD501"),
        "load reward and value models with `AutoModelForSequenceClassification.from_pretrained(reward_path, "
        "num_labels=1)` from a decoder checkpoint whose head is `score`"),
    KnownError(
        "num-labels-shape", r"doesn't match the broadcast shape|output with shape \[\d+\]",
        "RuntimeError: output with shape [2] doesn't match the broadcast shape [2, 2]",
        "0.12 - 1.12", "train()", "the reward or value model has `num_labels` other than 1",
        ("PPD105",), "load it with `num_labels=1`"),
    KnownError(
        "reference-same-object", r"cannot be the same object",
        "ValueError: model and ref_model cannot be the same object",
        "0.12 - 1.12", "PPOTrainer(...)", "the reference model is the policy object",
        ("PPD106",), "load a separate copy for `ref_model=` (or pass `ref_model=None` with a `peft_config`)"),
    KnownError(
        "pad-token-missing", r"Asking to pad but the tokenizer does not have a padding token",
        "ValueError: Asking to pad but the tokenizer does not have a padding token",
        "0.12 - 1.12", "first batch (even with equal-length prompts)", "the tokenizer has no pad token",
        ("PPD301", "PPD503"), "add one before building the models: "
        "`tokenizer.add_special_tokens({\"pad_token\": \"[PAD]\"})` and resize the embeddings, "
        "or save the tokenizer with its pad token"),
    KnownError(
        "vocab-mismatch", r"index out of range in self",
        "IndexError: index out of range in self",
        "0.12 - 1.12", "train()", "the reward or value model's vocabulary is smaller than the tokenizer's",
        ("PPD502",), "load reward and value models from a checkpoint that shares the policy's tokenizer, or "
        "`model.resize_token_embeddings(len(tokenizer))`"),
    KnownError(
        "dataset-not-tokenized", r"You should supply an encoding.*input_ids|that includes input_ids",
        "ValueError: You should supply an encoding or a list of encodings to this method that includes "
        "input_ids", "0.12 - 1.12", "first batch", "`train_dataset` holds raw text, not token ids",
        (), "tokenize the dataset first (`dataset.map(lambda x: tokenizer(x[\"prompt\"]), "
        "remove_columns=dataset.column_names)`) so it holds only `input_ids`"),
    KnownError(
        "dataset-extra-column", r"Unable to create tensor",
        "ValueError: Unable to create tensor, you should probably activate truncation and/or padding",
        "0.12 - 1.12", "first batch", "a text column is left beside `input_ids`",
        (), "drop every column but `input_ids` (`remove_columns=dataset.column_names` in `map`)"),
    KnownError(
        "mini-batches", r"must be a multiple of num_mini_batches",
        "ValueError: batch_size must be a multiple of num_mini_batches",
        "0.12 - 1.12", "PPOTrainer(...)", "per_device_train_batch_size × gradient_accumulation_steps × world "
        "size is not divisible by `num_mini_batches`", ("PPD401",),
        "choose batch sizes whose product is a multiple of `num_mini_batches`"),
    KnownError(
        "bf16-no-gpu", r"Your setup doesn't support bf16/gpu|doesn't support bf16",
        "ValueError: Your setup doesn't support bf16/gpu.",
        "0.12 - 1.12", "PPOConfig(...)", "`PPOConfig` defaults to `bf16=True` and the machine has no GPU",
        ("PPD504",), "pass `bf16=False` (and `use_cpu=True` on CPU) to `PPOConfig`"),
    KnownError(
        "old-config-field", rf"unexpected keyword argument '({_OLD_CONFIG_FIELDS})'",
        "TypeError: PPOConfig.__init__() got an unexpected keyword argument 'ppo_epochs'",
        "0.12 - 1.12", "PPOConfig(...)", "an old-era (≤ 0.11) PPOConfig field",
        ("PPD205",), "rename (`ppo_epochs`→`num_ppo_epochs`, `init_kl_coef`→`kl_coef`, `log_with`→`report_to`) "
        "or drop the field; `ppodoctor fix` does the renames"),
    KnownError(
        "other-era-keyword", rf"unexpected keyword argument '({_ERA_KEYWORDS})'",
        "TypeError: PPOTrainer.__init__() got an unexpected keyword argument 'args'",
        "≤ 0.12 (new names) and 0.15 - 1.12 (0.12 names)", "PPOTrainer(...)",
        "the keywords belong to another TRL era than the installed one", ("PPD201",),
        "use the installed era's names (`args`/`model`/`ref_model`/`processing_class` from 0.13 on, "
        "`config`/`policy`/`ref_policy`/`tokenizer` in 0.12) or pin the TRL the script was written for"),
    KnownError(
        "needs-value-head-wrapper", r"model must be a PreTrainedModelWrapper",
        "ValueError: model must be a PreTrainedModelWrapper, got <class '...LlamaForCausalLM'>",
        "≤ 0.11", "PPOTrainer(...)", "a new-era script (plain causal LM policy) runs on the ≤ 0.11 PPOTrainer",
        ("PPD206", "PPD201"), "install trl ≥ 0.12 for the new API, or on ≤ 0.11 wrap the policy in "
        "`AutoModelForCausalLMWithValueHead`"),
    KnownError(
        "old-loop-on-new-trainer", r"'PPOTrainer' object has no attribute '(step|generate|log_stats)'",
        "AttributeError: 'PPOTrainer' object has no attribute 'step'",
        "0.12 - 1.12 (the class has only `train()`)", "the training loop",
        "the ≤ 0.11 `generate` / `step` loop runs on the new trainer", ("PPD204",),
        "replace the hand-written loop with `trainer.train()`; rewards come from `reward_model`"),
    KnownError(
        "ppo-removed", r"No module named '?trl\.experimental\.ppo'?",
        "ModuleNotFoundError: No module named 'trl.experimental.ppo'",
        "≥ 1.13 (PPO removed) and ≤ 0.25 (not moved yet)", "import",
        "the installed TRL has no PPO at that path", ("PPD203", "PPD202"),
        "pin `trl>=0.29,<1.13` for `trl.experimental.ppo`, or import from `trl` on ≤ 0.28; on ≥ 1.13 port the "
        "script: `ppodoctor migrate --to rloo|grpo`"),
    KnownError(
        "import-path", r"cannot import name '(PPOTrainer|PPOConfig|AutoModelForCausalLMWithValueHead|PPOv2Trainer|"
                       r"PPOv2Config|respond_to_batch)'|No module named '?trl\.(experimental|core|trainer\.ppov2)",
        "ImportError: cannot import name 'PPOTrainer' from 'trl'",
        "0.29 - 1.12 (`from trl import PPOTrainer`); ≤ 0.25 (`trl.experimental`)", "import",
        "the import path belongs to another TRL era", ("PPD202", "PPD203"),
        "import from `trl.experimental.ppo` on 0.26 - 1.12, from `trl` before that; `ppodoctor fix` rewrites "
        "the import"),
)


_MIGRATE = "`ppodoctor migrate --to rloo|grpo` (its probe builds the new config and checks the call before writing)"
_NEW_TRAINER = r"(?<=(?:RLOO|GRPO)Trainer\.__init__\(\) got an )"
_NEW_CONFIG = r"(?<=(?:RLOO|GRPO)Config\.__init__\(\) got an )"

# What RLOOTrainer / GRPOTrainer (PPO's successors) raise, measured with trl 1.16.0 on CPU.
SUCCESSOR_ERRORS: tuple[KnownError, ...] = (
    KnownError(
        "generations-divide", r"generation_batch_size \(\d+\) must be divisible by num_generations",
        "ValueError: generation_batch_size (2) must be divisible by num_generations (8).",
        "RLOO/GRPO ≥ 0.22", "RLOOConfig(...) / GRPOConfig(...)",
        "the generation batch (per_device_train_batch_size × processes × steps_per_generation) does not hold "
        "whole groups of num_generations completions; GRPOConfig defaults num_generations to 8", (),
        "set num_generations to a divisor (≥ 2) of the generation batch, or raise steps_per_generation",
        _MIGRATE),
    KnownError(
        "generations-at-least-two", r"requires at least 2 generations per prompt",
        "ValueError: RLOO requires at least 2 generations per prompt to calculate the advantages. You provided 1, "
        "which is less than the minimum required.", "RLOO/GRPO ≥ 0.22", "RLOOConfig(...) / GRPOConfig(...)",
        "num_generations < 2: the advantages compare a prompt's completions with each other", (),
        "set num_generations ≥ 2 (PPO's one completion per prompt has no counterpart)", _MIGRATE),
    KnownError(
        "generation-batch-global", r"generation_batch_size \(\d+\) must be divisible by the global batch size",
        "ValueError: generation_batch_size (3) must be divisible by the global batch size (2).",
        "RLOO/GRPO ≥ 0.22", "RLOOConfig(...) / GRPOConfig(...)",
        "generation_batch_size is not a multiple of per_device_train_batch_size × processes", (),
        "set steps_per_generation instead (generation batch = per-device batch × processes × steps)", _MIGRATE),
    KnownError(
        "generation-batch-and-steps", r"'generation_batch_size' and 'steps_per_generation' can not be both",
        "ValueError: 'generation_batch_size' and 'steps_per_generation' can not be both configured at the same time",
        "RLOO/GRPO ≥ 0.22", "RLOOConfig(...) / GRPOConfig(...)", "both ways of sizing the generation batch are set",
        (), "keep one of the two", _MIGRATE),
    KnownError(
        "ppo-keyword-on-successor", _NEW_TRAINER + r"unexpected keyword argument "
        r"'(value_model|ref_model|ref_policy|reward_model|policy|config|tokenizer|dataset|data_collator)'",
        "TypeError: RLOOTrainer.__init__() got an unexpected keyword argument 'value_model'",
        "RLOO/GRPO ≥ 0.22", "RLOOTrainer(...) / GRPOTrainer(...)",
        "a PPOTrainer keyword on PPO's successor: there is no value model, the reference is built from `model`, "
        "the reward model is `reward_funcs=`, the config `args=`", (),
        "drop value_model/ref_model; rename reward_model→reward_funcs, policy→model, config→args, "
        "tokenizer→processing_class", _MIGRATE),
    KnownError(
        "ppo-field-on-successor-config", _NEW_CONFIG + r"unexpected keyword argument '(\w+)'",
        "TypeError: RLOOConfig.__init__() got an unexpected keyword argument 'kl_coef'",
        "RLOO/GRPO ≥ 0.22", "RLOOConfig(...) / GRPOConfig(...)",
        "a PPOConfig field the new config does not have", (),
        "kl_coef→beta, cliprange→epsilon, num_ppo_epochs→num_iterations, response_length→max_completion_length, "
        "num_mini_batches→steps_per_generation, total_episodes→max_steps; the critic's fields go", _MIGRATE),
    KnownError(
        "reward-funcs-missing", r"missing 1 required positional argument: '?reward_funcs'?|No reward source provided",
        "TypeError: RLOOTrainer.__init__() missing 1 required positional argument: 'reward_funcs'",
        "RLOO/GRPO ≥ 0.22", "RLOOTrainer(...) / GRPOTrainer(...)", "no `reward_funcs=`", (),
        "pass the reward model (a one-label sequence classifier, or its path) or a reward function as "
        "`reward_funcs=`", _MIGRATE),
    KnownError(
        "reward-processing-classes-count", r"number of reward processing classes \(\d+\) must match",
        "ValueError: The number of reward processing classes (2) must match the number of reward functions (1).",
        "RLOO/GRPO ≥ 0.22", "RLOOTrainer(...) / GRPOTrainer(...)",
        "reward_processing_classes and reward_funcs have different lengths", (),
        "one entry per reward function (None for a function)", _MIGRATE),
    KnownError(
        "prompt-column-missing", r"KeyError: '?prompt'?",
        "KeyError: 'prompt'", "RLOO/GRPO ≥ 0.22", "train() (first batch)",
        "the dataset has no `prompt` text column (PPO's tokenized `input_ids` are not read)", (),
        "give the dataset a `prompt` column of text (decode PPO's token ids: "
        "`ds.map(lambda r: {\"prompt\": tok.decode(r[\"input_ids\"], skip_special_tokens=True)})`)", _MIGRATE),
    KnownError(
        "reward-not-classifier", r"expand\(torch\.\w+\{\[\d+, \d+\]\}, size=\[\d+\]\)",
        "RuntimeError: expand(torch.FloatTensor{[2, 64]}, size=[2]): the number of sizes provided (1) must be "
        "greater or equal to the number of dimensions in the tensor (2)", "RLOO/GRPO ≥ 0.22", "train() (scoring)",
        "the reward model is a causal LM: its logits are per token, the trainer reads `logits[:, 0]` per completion",
        (), "load the reward model with `AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)`",
        _MIGRATE),
)


@dataclass(frozen=True)
class Match:
    known: KnownError
    excerpt: str  # the matched text as it appears in the input
    position: int


def match_errors(text: str) -> tuple[Match, ...]:
    """Every known error in the text; the last one raised (the bottom of a traceback) first."""
    found = []
    for known in SUCCESSOR_ERRORS + KNOWN_ERRORS:
        hit = known.search(text)
        if hit is not None:
            found.append(Match(known, hit.group(0), hit.start()))
    # A later match in a traceback is nearer the real exception; ties keep the table's order.
    return tuple(sorted(found, key=lambda m: -m.position))


def rule_label(code: str) -> str:
    rule: Optional[Rule] = find_rule(code)
    if rule is None:
        return code
    return f"{rule.code} {rule.name}: {rule.summary}"


def describe(match: Match) -> list[str]:
    known = match.known
    lines = [f"Recognised: {known.error}",
             f"  raised by: trl {known.trl_versions}, at {known.when}",
             f"  cause:     {known.cause}"]
    if known.codes:
        lines.append("  caught by: " + rule_label(known.codes[0]))
        lines.extend("             " + rule_label(code) for code in known.codes[1:])
    elif known.caught_by:
        lines.append(f"  caught by: {known.caught_by}")
    else:
        lines.append("  caught by: no static rule (run the probe: it checks the data at run time)")
    lines.append(f"  fix:       {known.fix}")
    registered = [code for code in known.codes if find_rule(code) is not None]
    if registered:
        lines.append(f"  more:      ppodoctor explain {registered[0]}")
    return lines


def match_dict(match: Match) -> dict:
    known = match.known
    return {"key": known.key, "matched": match.excerpt, "error": known.error, "trl_versions": known.trl_versions,
            "when": known.when, "cause": known.cause, "fix": known.fix,
            "rules": [{"code": code, "registered": find_rule(code) is not None} for code in known.codes],
            "caught_by": known.caught_by or None}
