"""Whether a file can give the rules anything, decided by Python's own parser before libcst's.

The byte prefilter (files.may_hold_setup) must let through every file that imports trl: all of
TRL's own sources and every script built on any TRL trainer. libcst costs ~6 ms a KB on those
(parse, positions, scopes); Python's C parser and an ast walk answer ~30× faster whether the file
holds anything the setup model feeds to the rules:
  - a trainer's name (PPOTrainer, PPOv2Trainer, RLOOTrainer, GRPOTrainer) as a variable or an attribute: every trainer call
    and trainer subclass goes through one, however it was imported or aliased;
  - an import from trl (absolute) of a name the era table tracks, of `*`, or from
    trl.experimental.ppo, and `import trl.<module>`: what the import rules read.
A file with none of these gives no setup and no finding at any era (tests hold this over the
fixtures, every rule's examples, mutations of them and TRL's own sources), so it never reaches
libcst: TRL's own 50 KB ppo_trainer.py defines PPOTrainer but never names it as a value.
Text Python's parser refuses (a syntax error, syntax newer than this interpreter, nesting too deep)
goes to libcst, which parses what it can and reports the rest.
"""

from __future__ import annotations

import ast
import warnings
from functools import lru_cache

from ..types import TrainerKind

# Which trainer each name builds: PPO's, and RLOO/GRPO (the trainers `migrate` ports to).
TRAINER_KINDS = {"PPOTrainer": TrainerKind.PPO, "PPOv2Trainer": TrainerKind.PPO,
                 "RLOOTrainer": TrainerKind.RLOO, "GRPOTrainer": TrainerKind.GRPO}
TRAINER_NAMES = frozenset(TRAINER_KINDS)


def may_matter(text: str) -> bool:
    """False only when no rule can report anything in `text`, whatever the target TRL."""
    try:
        with warnings.catch_warnings():
            # Invalid escapes and the like warn at compile time: the user's business, not ours.
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    return tree_may_matter(tree)


def tree_may_matter(tree: ast.AST) -> bool:
    """may_matter() for a module Python has parsed already."""
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Name:
            if node.id in TRAINER_NAMES:
                return True
        elif kind is ast.Attribute:
            if node.attr in TRAINER_NAMES:
                return True
        elif kind is ast.ImportFrom:
            if _import_from_matters(node):
                return True
        elif kind is ast.Import:
            if any(alias.name.startswith("trl.") for alias in node.names):
                return True
    return False


def _import_from_matters(node: ast.ImportFrom) -> bool:
    module = node.module or ""
    if node.level or not (module == "trl" or module.startswith("trl.")):
        return False
    if module.startswith("trl.experimental.ppo"):
        return True
    tracked = _tracked_names()
    return any(alias.name == "*" or alias.name in tracked for alias in node.names)


@lru_cache(maxsize=1)
def _tracked_names() -> frozenset[str]:
    # the era table loads only for what needs it: kept off `check`'s start-up
    from ..trl_api import table

    return table.tracked_names()
