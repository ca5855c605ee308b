from __future__ import annotations

import re

from ..setup import kinds
from ..types import ERROR, SAFE, UNSAFE, WARNING, Declined, Fix, KnownError, OperationKind, Role, ValueKind
from .base import Rule
from .common import new_api_applies

# Callees that may give a tokenizer its pad token when it is passed to them.
# (a local helper's own operations are already the tokenizer's: the setup model follows them)
_MAY_SET_PAD = re.compile(r"token|pad|special|chat_format", re.IGNORECASE)


def _names_pad(value) -> bool:
    """`{"pad_token": ...}` written out, or a constant holding such a dict."""
    literal = value.value if value.kind == ValueKind.LITERAL else None
    return "pad" in value.text or isinstance(literal, dict) and any("pad" in str(key) for key in literal)


def pad_token_given(origin) -> bool:
    if origin.keyword("pad_token", "pad_token_id") is not None or origin.partial:
        return True
    for operation in origin.all_operations():
        if operation.kind == OperationKind.SET and operation.name in ("pad_token", "pad_token_id"):
            return True
        if operation.kind == OperationKind.CALL and operation.name in ("add_special_tokens", "add_tokens") and any(
                _names_pad(value) for value in operation.args + tuple(k.value for k in operation.keywords)):
            return True
        if operation.kind == OperationKind.PASSED and _MAY_SET_PAD.search(operation.name):
            return True
    return False


class PadTokenMissing(Rule):
    """The tokenizer is never given a pad token.

    Why it breaks: TRL's collator pads every batch of prompts, even when they have equal length.
    A tokenizer saved without a pad token (Llama, Mistral, GPT-2, Pythia...) makes the first batch
    raise `ValueError: Asking to pad but the tokenizer does not have a padding token` (trl 0.12-1.12),
    after all four models are loaded. Many chat tokenizers (Gemma, Qwen) do ship one; `ppodoctor
    check --probe` reads the saved tokenizer and settles it (PPD503).

    Fix: add a dedicated pad token right after the tokenizer is created, as TRL's example does:
    `tokenizer.add_special_tokens({"pad_token": "[PAD]"})`. Setting `pad_token = eos_token` also
    runs, but then TRL masks real end-of-sequence tokens (PPD302).
    When the tokenizer's files are on disk (next to the script, in the working directory or in the
    Hugging Face cache), `check` reads them without importing anything: a saved pad token silences
    the rule; a saved `"pad_token": null` makes the crash certain (an error). Otherwise it stays a
    warning, and the probe (`--probe`, `fix --write`) loads the tokenizer to settle it.

    Fix: `tokenizer.add_special_tokens({"pad_token": "[PAD]"})` right after the tokenizer is bound.
    Fix safety: safe when the saved files show no pad token (the script cannot run without one);
    unsafe when they cannot be read (adding a token to a tokenizer that has one would change it).
    Probe: loads the saved tokenizer and replays what the script does to it; the fix passes when the
    replayed tokenizer has a pad token.
    """

    code = "PPD301"
    name = "pad-token-missing"
    severity = WARNING
    summary = "the tokenizer is never given a pad token"
    fix_title = "add a [PAD] token right after the tokenizer is created"
    probe_check = "the saved tokenizer loaded and the script's edits replayed; fixed: it has a pad token"
    known_errors = (
        KnownError("pad-token-missing", r"Asking to pad but the tokenizer does not have a padding token",
                   "ValueError: Asking to pad but the tokenizer does not have a padding token", "0.12 - 1.12",
                   "first batch (even with equal-length prompts)", "the tokenizer has no pad token",
                   "add one before building the models: `tokenizer.add_special_tokens({\"pad_token\": \"[PAD]\"})` "
                   "and resize the embeddings, or save the tokenizer with its pad token", ("PPD503",)),
    )
    invalid = ('''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("EleutherAI/pythia-160m")
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''',)
    valid = ('''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("EleutherAI/pythia-160m", padding_side="left")
        tokenizer.add_special_tokens({"pad_token": "[PAD]"})
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("EleutherAI/pythia-160m")
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''', '''
        from transformers import AutoTokenizer
        from trl.experimental.ppo import PPOTrainer
        tokenizer = AutoTokenizer.from_pretrained("EleutherAI/pythia-160m")
        prepare_tokenizer(tokenizer)
        trainer = PPOTrainer(args=cfg, processing_class=tokenizer, model=policy, ref_model=ref, reward_model=rm,
                             value_model=critic, train_dataset=ds)
        ''')

    def check_setup(self, setup, context):
        binding = setup.role(Role.PROCESSING_CLASS)
        if binding is None or not kinds.is_tokenizer(binding.origin) or not new_api_applies(setup, context):
            return
        if pad_token_given(binding.origin):
            return
        origin = binding.origin
        saved = context.saved.tokenizer(origin.path) if context.saved is not None else None
        if saved is not None and saved.has_pad:
            return
        name = f"`{origin.variable or binding.text}`"
        if saved is not None:
            message = (f"tokenizer {name} has no pad token: its saved files (`{saved.directory}`) set none and the "
                       "script adds none, so the first batch raises `ValueError: Asking to pad but the tokenizer "
                       "does not have a padding token` (trl 0.12-1.12); add one")
            fix = Fix("Add a [PAD] token right after the tokenizer is created", SAFE)
        else:
            message = (f"tokenizer {name} is never given a pad token: if the saved tokenizer has none, the first "
                       "batch raises `ValueError: Asking to pad but the tokenizer does not have a padding token` "
                       "(trl 0.12-1.12); add one with `add_special_tokens({\"pad_token\": \"[PAD]\"})`")
            fix = Fix("Add a [PAD] token right after the tokenizer is created", UNSAFE)
        yield self.report(message, origin.span or binding.value_span, setup, fix,
                          severity=ERROR if saved is not None else WARNING)

    def fix(self, diagnostic, context):
        """Right after the tokenizer is bound: where the trainer's scope binds it, else where it is made."""
        import libcst as cst

        # the fix library loads only when a fix is made: kept off `check`
        from ..fixes.builders import assignment_of, made_by_statement

        setup, source = context.setup, context.source
        binding = setup.role(Role.PROCESSING_CLASS)
        if binding is None:
            raise Declined("the trainer is given no tokenizer")
        line = '.add_special_tokens({"pad_token": "[PAD]"})'
        local = None
        if binding.text.isidentifier() and setup.span.file == source.file:  # else: a module's map (engine)
            local = assignment_of(source, binding.text, source.node_at(setup.span, cst.Call))
        if local is not None:
            return (source.insert_after(local, binding.text + line),)
        origin = binding.origin
        if origin.span is None:
            raise Declined("the tokenizer's creation cannot be located")
        found = made_by_statement(source, origin)  # `tok = ...` or `self.tokenizer = ...`
        if found is None:
            raise Declined("the tokenizer is not created by a plain `name = ...` statement")
        target, statement = found
        return (source.insert_after(statement, target + line),)

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import pad_token_evidence

        return pad_token_evidence(facts, diagnostic.setup_index)
