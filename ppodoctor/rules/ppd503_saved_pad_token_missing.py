from __future__ import annotations

from ..types import WARNING, Role
from .base import Rule
from .ppd301_pad_token_missing import PadTokenMissing


class SavedPadTokenMissing(Rule):
    """The saved tokenizer has no pad token, and the script's handling of it cannot be seen.

    Why it breaks: TRL's collator pads every batch; a tokenizer without a pad token makes the first
    batch raise `ValueError: Asking to pad but the tokenizer does not have a padding token`
    (trl 0.12-1.12). PPD301 reports scripts that never set one; this rule covers what it must leave
    alone: the tokenizer is passed to a helper that may or may not add one. The probe loads the
    saved tokenizer files (never weights), replays the edits it can read, and reports when the
    saved tokenizer has none.

    Fix: make sure the helper adds a pad token, or add one right after loading:
    `tokenizer.add_special_tokens({"pad_token": "[PAD]"})`. No automatic fix.
    """

    code = "PPD503"
    name = "saved-pad-token-missing"
    severity = WARNING
    summary = "the saved tokenizer has no pad token (runtime, --probe)"
    runtime_only = True
    probe_check = "the saved tokenizer loaded, the script's edits replayed"
    superseded_by = (PadTokenMissing,)  # a script that never sets a pad token is PPD301's

    def from_probe(self, setup, facts, already):
        tokenizer = facts.tokenizer
        binding = setup.role(Role.PROCESSING_CLASS)
        if not tokenizer.built or binding is None:
            return
        if tokenizer.pad_token is not None or not tokenizer.opaque:
            return
        helpers = ", ".join(f"`{name}`" for name in tokenizer.opaque)
        yield self.report(
            f"the saved tokenizer `{tokenizer.source}` has no pad token; the script relies on {helpers} to add "
            "one, or the first batch raises `ValueError: Asking to pad but the tokenizer does not have a padding "
            "token`", binding.origin.span or binding.value_span, setup), "no pad token as saved"
