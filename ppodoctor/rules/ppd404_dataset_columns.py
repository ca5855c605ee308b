from __future__ import annotations

from ..types import ERROR, KnownError, Role
from .base import Rule
from .common import new_api_applies, versions
from .dataset_shape import columns

_TOKENIZE = "dataset.map(lambda row: tokenizer(row[\"prompt\"]), remove_columns=dataset.column_names)"


class DatasetColumns(Rule):
    """The training dataset holds raw text, or keeps a text column beside `input_ids`.

    Why it breaks: PPOTrainer (trl 0.12-1.12) batches `train_dataset` with
    `DataCollatorWithPadding(processing_class)`, which pads the token ids it finds and turns every
    column into a tensor. A dataset of raw text (`load_dataset("org/name")` as it comes, or
    `Dataset.from_dict({"prompt": [...]})`) has no `input_ids`: the first batch of `train()` fails
    with `ValueError: You should supply an encoding or a list of encodings to this method that
    includes input_ids, but you provided ['prompt']`. A `.map(tokenize)` that adds `input_ids` but
    keeps the text column fails there too: `ValueError: Unable to create tensor, you should probably
    activate truncation and/or padding ...`. Both strike after every model is loaded.

    Fix: tokenize the dataset and keep only `input_ids`, as TRL's example does:
    `dataset.map(tokenize, remove_columns=dataset.column_names)` (or `.select_columns(["input_ids"])`).
    The rule stays silent when the columns cannot be read off the source (a helper it cannot follow, a
    function whose returned keys are not visible, local data files, `set_format`, a custom collator).
    """

    code = "PPD404"
    name = "dataset-columns"
    severity = ERROR
    summary = "the training dataset is raw text, or keeps a text column beside input_ids"
    known_errors = (
        KnownError(
            "dataset-not-tokenized", r"You should supply an encoding.*input_ids|that includes input_ids",
            "ValueError: You should supply an encoding or a list of encodings to this method that includes "
            "input_ids, but you provided ['text']", "0.12 - 1.12", "train() (first batch)",
            "`train_dataset` holds raw text, not token ids",
            f"tokenize the dataset first (`{_TOKENIZE}`) so it holds only `input_ids`"),
        KnownError(
            "dataset-extra-column", r"Unable to create tensor",
            "ValueError: Unable to create tensor, you should probably activate truncation and/or padding with "
            "'padding=True' 'truncation=True' to have batched tensors with the same length. Perhaps your features "
            "(`text` in this case) have excessive nesting (inputs type `list` where type `int` is expected).",
            "0.12 - 1.12", "train() (first batch)", "a text column is left beside `input_ids`",
            "drop every column but `input_ids` (`remove_columns=dataset.column_names` in `map`, or "
            "`.select_columns([\"input_ids\"])`)"),
    )
    invalid = ('''
        from datasets import load_dataset
        from trl.experimental.ppo import PPOTrainer
        dataset = load_dataset("trl-lib/tldr", split="train")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=dataset)
        ''', '''
        from datasets import Dataset
        from trl.experimental.ppo import PPOTrainer
        dataset = Dataset.from_dict({"prompt": ["Hello", "Tell me a story"]})
        dataset = dataset.map(lambda row: {"input_ids": tok(row["prompt"])["input_ids"]})
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=dataset)
        ''')
    valid = ('''
        from datasets import load_dataset
        from trl.experimental.ppo import PPOTrainer
        dataset = load_dataset("trl-lib/tldr", split="train")
        def tokenize(row):
            return {"input_ids": tok(row["prompt"])["input_ids"]}
        dataset = dataset.map(tokenize, remove_columns=dataset.column_names)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=dataset)
        ''', '''
        from datasets import Dataset
        from trl.experimental.ppo import PPOTrainer
        dataset = Dataset.from_dict({"prompt": ["Hello", "Tell me a story"]}).map(tokenize_fn)
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=dataset)
        ''', '''
        from datasets import load_dataset
        from trl.experimental.ppo import PPOTrainer
        dataset = load_dataset("json", data_files="prompts.jsonl", split="train")
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=dataset)
        ''', '''
        from datasets import Dataset
        from trl.experimental.ppo import PPOTrainer
        dataset = Dataset.from_dict({"prompt": ["Hi", "Yo"]})
        dataset = dataset.map(lambda row: {"input_ids": tok(row["prompt"])["input_ids"]})
        dataset.set_format(type="torch", columns=["input_ids"])
        trainer = PPOTrainer(args=cfg, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=dataset)
        ''')

    def check_setup(self, setup, context):
        binding = setup.role(Role.TRAIN_DATASET)
        if binding is None or not new_api_applies(setup, context) or setup.role(Role.DATA_COLLATOR) is not None \
                or setup.unresolved_star:
            return  # a collator of the user's own (perhaps in a hidden **kwargs) may well take text
        found = columns(binding.origin)
        if found is None:
            return
        text = found.text_columns()
        shown = ", ".join(f"`{name}`" for name in text) or "its own"
        where = f"`{binding.text}`"
        if not found.has_input_ids and (text or found.hub_text):
            source = "a hub dataset as `load_dataset` returns it (raw text)" if not text else \
                f"raw text in {shown} and no `input_ids`"
            yield self.report(
                f"train_dataset {where} holds {source}: the first batch of train() fails with `ValueError: You "
                f"should supply an encoding ... that includes input_ids` ({versions(context)}); tokenize it and "
                f"keep only `input_ids`: `{_TOKENIZE}`", binding.value_span, setup, subject="not-tokenized")
        elif found.has_input_ids and (text or found.hub_text):
            left = f"the text column {shown}" if text else "the hub dataset's own (text) columns"
            yield self.report(
                f"train_dataset {where} keeps {left} beside `input_ids`: the first batch of train() fails with "
                f"`ValueError: Unable to create tensor ...` ({versions(context)}); drop them with "
                "`remove_columns=dataset.column_names` in the `.map(...)` or `.select_columns([\"input_ids\"])`",
                binding.value_span, setup, subject="extra-column")
