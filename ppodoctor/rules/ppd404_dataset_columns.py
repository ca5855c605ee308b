from __future__ import annotations

import json
import re

from ..probe.probe_checks import Check
from ..setup import kinds
from ..types import ERROR, SAFE, Declined, Fix, KnownError, Role
from .base import Rule
from .common import new_api_applies, versions
from .dataset_shape import Columns, columns

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
    ppodoctor's fix, raw text: `dataset = dataset.map(lambda row: {"input_ids": tokenizer(row["prompt"])
    ["input_ids"]}, remove_columns=["prompt"])` right after the dataset is bound (or the same `.map` on the
    argument itself), with the trainer's own tokenizer and the one text column the source shows; a text
    column left beside `input_ids`: `.select_columns(["input_ids"])`. No fix for a hub dataset (its columns
    are not in the source), several text columns (which one is the prompt is your choice), or a
    processing class that is not a tokenizer bound to a name.
    Fix safety: safe (the columns are read off literal data, and the original cannot get past its first batch).
    Probe: rebuilds the dataset as the source makes it (literal rows, a lambda `.map` that reads only the
    tokenizer, column methods) with the real `datasets` library and the saved tokenizer, and hands its first
    rows to TRL's `DataCollatorWithPadding`: the original must raise this error and the fixed one must batch.
    """

    code = "PPD404"
    name = "dataset-columns"
    severity = ERROR
    roles = (Role.TRAIN_DATASET,)
    summary = "the training dataset is raw text, or keeps a text column beside input_ids"
    fix_title = "tokenize the one text column with the trainer's tokenizer, keeping only input_ids"
    probe_check = "the dataset rebuilt from the source, its first rows through TRL's DataCollatorWithPadding; " \
                  "fixed: they batch"
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
            fix = Fix("Tokenize the text column with the trainer's tokenizer, keeping only input_ids", SAFE) \
                if _tokenizing(found, setup) is not None else None
            yield self.report(
                f"train_dataset {where} holds {source}: the first batch of train() fails with `ValueError: You "
                f"should supply an encoding ... that includes input_ids` ({versions(context)}); tokenize it and "
                f"keep only `input_ids`: `{_TOKENIZE}`", binding.value_span, setup, fix, subject="not-tokenized")
        elif found.has_input_ids and (text or found.hub_text):
            left = f"the text column {shown}" if text else "the hub dataset's own (text) columns"
            yield self.report(
                f"train_dataset {where} keeps {left} beside `input_ids`: the first batch of train() fails with "
                f"`ValueError: Unable to create tensor ...` ({versions(context)}); drop them with "
                "`remove_columns=dataset.column_names` in the `.map(...)` or `.select_columns([\"input_ids\"])`",
                binding.value_span, setup, Fix("Keep only the input_ids column", SAFE), subject="extra-column")

    def fix(self, diagnostic, context):
        setup = context.setup
        binding = setup.role(Role.TRAIN_DATASET)
        found = columns(binding.origin) if binding is not None else None
        if found is None:
            raise Declined("the dataset's columns cannot be read off the source")
        if diagnostic.subject == "extra-column":
            return _apply(context.source, setup, binding, '.select_columns(["input_ids"])')
        step = _tokenizing(found, setup)
        if step is None:
            raise Declined(_why_not(found, setup))
        return _apply(context.source, setup, binding, step)

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import failed

        pattern = self.known_errors[0 if diagnostic.subject == "not-tokenized" else 1].pattern
        return failed(facts, diagnostic.setup_index, (Check.FIRST_BATCH,), lambda r: re.search(pattern, r.error))

    def validate_fix(self, diagnostic, before, after):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import failed

        broken, detail = failed(after, diagnostic.setup_index, (Check.FIRST_BATCH,))
        if broken:
            return False, f"the fixed dataset's first batch still fails: {detail}"
        return (None if broken is None else True), detail


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def _tokenizer_name(setup):
    """The trainer's tokenizer as the call spells it, when that is a name (or `self.tokenizer`)."""
    binding = setup.role(Role.PROCESSING_CLASS)
    if binding is None or not kinds.is_tokenizer(binding.origin) or not _DOTTED.match(binding.text):
        return None
    return binding.text


def _tokenizing(found: Columns, setup):
    """`.map(...)` that tokenizes the one text column and keeps only `input_ids`, or None."""
    text, tokenizer = found.text_columns(), _tokenizer_name(setup)
    if found.hub_text or len(text) != 1 or tokenizer is None:
        return None
    every = json.dumps([name for name, _kind in found.named])
    return f'.map(lambda row: {{"input_ids": {tokenizer}(row[{json.dumps(text[0])}])["input_ids"]}}, ' \
        f"remove_columns={every})"


def _why_not(found: Columns, setup) -> str:
    if found.hub_text:
        return "the hub dataset's columns are not in the source: which one holds the prompt cannot be told"
    if len(found.text_columns()) != 1:
        shown = ", ".join(f"`{name}`" for name in found.text_columns())
        return f"several text columns ({shown}): which one is the prompt is your choice"
    return "the trainer is not given a tokenizer bound to a name that the fix could call"


def _apply(source, setup, binding, step: str):
    """`name = name<step>` right after the statement that binds the dataset's name, where the tokenizer is
    visible there; else `<step>` on the argument itself (the call reads the tokenizer, so it is bound there)."""
    import libcst as cst

    # the fix library loads only when a fix is made: kept off `check`
    from ..fixes.builders import assignment_of

    call = source.node_at(setup.span, cst.Call)
    span = binding.written_span if binding.via == "mapping" else binding.value_span
    if span is None:
        raise Declined("where the dataset is given to the trainer cannot be located")
    value = source.node_at(span, cst.BaseExpression)
    if isinstance(value, cst.Name):
        statement = assignment_of(source, value.value, call)
        tokenizer = _tokenizer_name(setup) or ""
        if statement is not None and source.scope_of(statement.body[0].value) is source.scope_of(call) \
                and source.visible(tokenizer.split(".")[0] or value.value, source.scope_of(call),
                                   source.position_after(statement)):
            return (source.insert_after(statement, f"{value.value} = {value.value}{step}"),)
    text = source.module.code_for_node(value)
    plain = isinstance(value, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not value.lpar
    return (source.replace(value, (text if plain else f"({text})") + step),)
