from __future__ import annotations

from typing import Optional

from ..probe.probe_checks import Check
from ..setup.model import Origin, RoleBinding
from ..types import ERROR, SAFE, KnownError, OriginKind, Role
from .base import Rule
from .common import ReplacementFix, replace_fix
from .group_common import GROUP_KINDS, MEASURED, applies, example, trainer_word

# What one reward function or model is, as a single argument: anything else may itself be a list.
_ONE_OBJECT = (OriginKind.FUNCTION, OriginKind.FROM_PRETRAINED, OriginKind.FROM_CONFIG, OriginKind.CONSTRUCTOR,
               OriginKind.COPY, OriginKind.PEFT)


class RewardProcessingClassesCount(ReplacementFix, Rule):
    """`reward_processing_classes` has not one entry per reward function.

    Why it breaks: RLOOTrainer and GRPOTrainer pair `reward_processing_classes` with `reward_funcs` one to
    one (a single tokenizer counts as a list of one) and refuse a mismatch when they are built:
    `ValueError: The number of reward processing classes (1) must match the number of reward functions
    (2).` (trl 1.12 - 1.16), after the policy is loaded. Adding a reward function beside a reward model
    that had its tokenizer passed alone is the usual way in.

    Fix: one entry per reward function, `None` for a function (it reads text, not tokens) and for a model
    whose tokenizer TRL may load from its path. Where one tokenizer is given for several entries, the fix
    writes it for each model and `None` for each function (safe: the original cannot run).
    """

    code = "PPD608"
    name = "reward-processing-classes-count"
    severity = ERROR
    summary = "reward_processing_classes does not have one entry per reward function"
    trainer_kinds = GROUP_KINDS
    fix_title = "one entry per reward function: the tokenizer for each model, None for each function"
    probe_check = "the statements of the trainer's __init__ that read only reward_funcs and " \
                  "reward_processing_classes (TRL's own, from its source) run with the call's counts; fixed: they pass"
    known_errors = (
        KnownError("reward-processing-classes-count", r"number of reward processing classes \(\d+\) must match",
                   "ValueError: The number of reward processing classes (1) must match the number of reward "
                   "functions (2).", "1.12 - 1.16", "RLOOTrainer(...) / GRPOTrainer(...)",
                   "reward_processing_classes and reward_funcs have different lengths",
                   "one entry per reward function (None for a function)"),
    )
    invalid = (example('''
        from transformers import AutoTokenizer
        from trl import GRPOTrainer
        tok = AutoTokenizer.from_pretrained("org/rm")
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=[reward_len, "org/rm"], args=config,
                              train_dataset=ds, reward_processing_classes=tok)
        '''), example('''
        from trl import RLOOTrainer
        trainer = RLOOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=["org/rm"], args=config, train_dataset=ds,
                              reward_processing_classes=[None, None])
        '''))
    valid = (example('''
        from transformers import AutoTokenizer
        from trl import GRPOTrainer
        tok = AutoTokenizer.from_pretrained("org/rm")
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=[reward_len, "org/rm"], args=config,
                              train_dataset=ds, reward_processing_classes=[None, tok])
        '''), example('''
        from trl import GRPOTrainer
        trainer = GRPOTrainer(model="Qwen/Qwen2-0.5B", reward_funcs=reward_funcs, args=config, train_dataset=ds,
                              reward_processing_classes=tokenizers)
        '''))

    def check_setup(self, setup, context):
        funcs, classes = setup.role(Role.REWARD_FUNCS), setup.role(Role.REWARD_PROCESSING_CLASSES)
        if funcs is None or classes is None or not applies(context) or classes.origin.kind == OriginKind.NONE:
            return  # None: TRL makes one None per function itself
        wanted, given = _count(funcs), _count(classes)
        if wanted is None or given is None or wanted == given:
            return
        yield self.report(
            f"reward_processing_classes `{classes.text}` has {given} entr{'y' if given == 1 else 'ies'} for {wanted} "
            f"reward functions: {trainer_word(setup)}Trainer raises `ValueError: The number of reward processing "
            f"classes ({given}) must match the number of reward functions ({wanted}).` ({MEASURED}, target "
            f"{context.target.version}); give one per function, None for a function",
            classes.value_span, setup, fix=_fix(funcs, classes, self.fix_title), subject="reward_processing_classes")

    def reproduce(self, diagnostic, facts):
        # the probe's library loads only when the probe runs: kept off `check`
        from ..probe.group_facts import step_fails

        return step_fails(facts, diagnostic.setup_index, Check.REWARD_PROCESSING_CLASSES,
                          [known.pattern for known in self.known_errors])


def _count(binding: RoleBinding) -> Optional[int]:
    if binding.elements is not None:
        return len(binding.elements)
    origin = binding.origin
    if origin.kind in _ONE_OBJECT or origin.kind == OriginKind.LITERAL and origin.text[:1] in "'\"":
        return 1
    return None


def _fix(funcs: RoleBinding, classes: RoleBinding, title: str):
    if classes.elements is not None or funcs.elements is None or classes.via != "keyword" \
            or not classes.text.isidentifier():
        return None  # a list of the wrong length: which entry is missing is the user's call
    entries = [_entry(member, classes.text) for member in funcs.elements]
    if None in entries:
        return None
    return replace_fix(title, [(classes.value_span, f"[{', '.join(entries)}]")], SAFE)


def _entry(member: Origin, tokenizer: str) -> Optional[str]:
    if member.kind == OriginKind.FUNCTION or member.function is not None:
        return "None"  # a function or a callable object: TRL gives it no processing class
    if member.kind in _ONE_OBJECT or member.kind == OriginKind.LITERAL:
        return tokenizer  # a reward model, or its path
    return None
