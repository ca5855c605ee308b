from __future__ import annotations

from ..types import ERROR, KnownError, Role
from .base import Rule
from .group_common import GROUP_KINDS, MEASURED, applies, dataset_columns, example, trainer_word


class PromptColumnMissing(Rule):
    """The training dataset has no `prompt` column.

    Why it breaks: RLOOTrainer and GRPOTrainer generate completions for each row's `prompt` (raw text,
    or a list of chat messages for a conversational dataset) and read it by name when the first batch
    is prepared: a dataset without that column fails with `KeyError: 'prompt'` (trl 1.12 - 1.16),
    after the models are loaded. Datasets made for PPO (`input_ids` only), SFT (`text`, `messages`) or
    preference training (`chosen`/`rejected`) all lack it.

    Fix: name the prompt column `prompt` (`dataset.rename_column("question", "prompt")`, or a `.map`
    that builds it). The rule stays silent when the columns cannot be read off the source (a hub
    dataset as it comes, local data files, a mapped function whose returned keys are not visible).
    """

    code = "PPD604"
    name = "prompt-column-missing"
    severity = ERROR
    summary = "the RLOO/GRPO training dataset has no `prompt` column"
    trainer_kinds = GROUP_KINDS
    known_errors = (
        KnownError("prompt-column-missing", r"KeyError: 'prompt'", "KeyError: 'prompt'", "1.12 - 1.16",
                   "train() (first batch)", "the training dataset has no `prompt` column",
                   "rename the prompt column to `prompt` (`dataset.rename_column(\"question\", \"prompt\")`)"),
    )
    invalid = (example('''
        from datasets import Dataset
        from trl import GRPOTrainer
        ds = Dataset.from_dict({"question": ["2+2=", "3+3="]})
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from datasets import Dataset
        from trl import RLOOTrainer
        ds = Dataset.from_list([{"text": "a b c"}]).map(lambda row: {"input_ids": tok(row["text"])["input_ids"]},
                                                        remove_columns=["text"])
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''))
    valid = (example('''
        from datasets import Dataset
        from trl import GRPOTrainer
        ds = Dataset.from_dict({"question": ["2+2=", "3+3="]}).rename_column("question", "prompt")
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''), example('''
        from datasets import load_dataset
        from trl import GRPOTrainer
        ds = load_dataset("trl-lib/tldr", split="train")
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_len, args=config, train_dataset=ds)
        '''))

    def check_setup(self, setup, context):
        binding = setup.role(Role.TRAIN_DATASET)
        if binding is None or not applies(context):
            return
        found = dataset_columns(setup)
        if found is None or found.hub_text or "prompt" in found.kinds():
            return
        shown = ", ".join(f"`{name}`" for name, _kind in found.named) or "none"
        yield self.report(
            f"train_dataset `{binding.text}` has no `prompt` column (its columns: {shown}): "
            f"{trainer_word(setup)}Trainer reads each row's prompt by name and fails with `KeyError: 'prompt'` "
            f"at the first batch ({MEASURED}, target {context.target.version}); rename the prompt column to "
            "`prompt`", binding.value_span, setup, subject="train_dataset")
