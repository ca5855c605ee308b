from __future__ import annotations

from ..types import ERROR, KnownError
from .base import Rule


class VocabularyMismatch(Rule):
    """A model embeds fewer token ids than it will be fed.

    Why it breaks: every id the tokenizer can produce reaches the policy and the reference, and every
    id the policy can generate reaches the reward and value models. A model with a smaller embedding
    table (a reward model from another family, a tokenizer that gained tokens) makes `train()`
    raise `IndexError: index out of range in self` (trl 0.12-1.12) at the first forward pass. TRL
    replaces pad ids with 0 before each forward pass, so a pad token added past the end of the
    vocabulary is harmless and is allowed for. Only the saved configs and tokenizer tell the sizes,
    so this rule runs in the probe (`ppodoctor check --probe`).

    Fix: load the reward and value models from a checkpoint trained with the policy's tokenizer,
    or call `model.resize_token_embeddings(len(tokenizer))` (which adds untrained rows). No
    automatic fix.
    """

    code = "PPD502"
    name = "vocabulary-mismatch"
    severity = ERROR
    summary = "a model's vocabulary is smaller than the ids it is fed (runtime, --probe)"
    no_fix_reason = ("resizing the embeddings adds untrained rows that change the model's outputs; the proper cure"
                     " is a checkpoint trained with the policy's tokenizer")
    runtime_only = True
    probe_check = "embedding sizes of the models built on the meta device against the tokenizer's ids"
    known_errors = (
        KnownError("vocab-mismatch", r"index out of range in self", "IndexError: index out of range in self",
                   "0.12 - 1.12", "train()", "the reward or value model's vocabulary is smaller than the tokenizer's",
                   "load reward and value models from a checkpoint that shares the policy's tokenizer, or "
                   "`model.resize_token_embeddings(len(tokenizer))`"),
    )

    def from_probe(self, setup, facts, already):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.facts import vocabulary_mismatches

        for role, vocab, wanted in vocabulary_mismatches(facts):
            binding = setup.role(role)
            if binding is None:
                continue
            error = "IndexError: index out of range in self"
            yield self.report(
                f"the {role} model embeds {vocab} token ids but is fed ids up to {wanted - 1} (tokenizer "
                f"and policy): train() fails with `{error}` (trl 0.12-1.12)", binding.value_span, setup), error
