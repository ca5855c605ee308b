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
        "pin `trl>=0.29,<1.13` for `trl.experimental.ppo`, or import from `trl` on ≤ 0.28"),
    KnownError(
        "import-path", r"cannot import name '(PPOTrainer|PPOConfig|AutoModelForCausalLMWithValueHead|PPOv2Trainer|"
                       r"PPOv2Config|respond_to_batch)'|No module named '?trl\.(experimental|core|trainer\.ppov2)",
        "ImportError: cannot import name 'PPOTrainer' from 'trl'",
        "0.29 - 1.12 (`from trl import PPOTrainer`); ≤ 0.25 (`trl.experimental`)", "import",
        "the import path belongs to another TRL era", ("PPD202", "PPD203"),
        "import from `trl.experimental.ppo` on 0.26 - 1.12, from `trl` before that; `ppodoctor fix` rewrites "
        "the import"),
    KnownError(
        "trl-import-missing", r"cannot import name '\w+' from 'trl[\w.]*'|No module named '?trl\.[\w.]+",
        "ImportError: cannot import name 'SIMPLE_CHAT_TEMPLATE' from 'trl.trainer.utils'",
        "any (names move and go: `SIMPLE_CHAT_TEMPLATE` left `trl.trainer.utils` in 0.27, `trl.core` is gone "
        "from 0.25)", "import", "the installed TRL does not have this name or module", ("PPD209",),
        "import it from where the installed TRL keeps it (`ppodoctor check` names the module), or pin a TRL "
        "that has it"),
)


@dataclass(frozen=True)
class Match:
    known: KnownError
    excerpt: str  # the matched text as it appears in the input
    position: int


def match_errors(text: str) -> tuple[Match, ...]:
    """Every known error in the text; the last one raised (the bottom of a traceback) first."""
    found = []
    for known in KNOWN_ERRORS:
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
            "rules": [{"code": code, "registered": find_rule(code) is not None} for code in known.codes]}
