"""What the probe found, and the readers rules use to turn it into evidence.

The worker (worker*.py, in the user's interpreter) answers with plain JSON: per setup the models it
built on the meta device, the tokenizer, and the outcome of each of TRL's own checks; per file the
import attempts; for the interpreter its TRL API (PPOTrainer's parameters, PPOConfig's fields). A
rule's `reproduce`/`validate_fix` reads a `FileFacts` with the helpers here; nothing in this module
knows a rule code. Everything is plain Python: no torch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from ..setup.model import FileSetup, ImportRecord
from ..types import Evidence, Role
from .probe_checks import Built, Check, Imported, Status
from .setup_facts import CheckResult, ImportAttempt, ModelFacts, SetupFacts

SCORERS = ("reward", "value")

# The order in which PPOTrainer.__init__ (trl 0.12 - 1.12) meets what the checks test: a call that
# fails two of them raises the first. `generation_config` is read for the stop token before the
# dropout walk; the value model's `base_model_prefix` is read by PolicyAndValueWrapper after it.
INIT_ORDER = (Check.SIGNATURE, Check.SAME_OBJECT, Check.GENERATION_CONFIG, Check.CONFIG, Check.BATCH, Check.DROPOUT,
              Check.WRAPPER)


_MODELS = (Role.POLICY, Role.REFERENCE, Role.REWARD, Role.VALUE)

# Every step TRL takes on the trainer's arguments in __init__ and the first rollout and update, with
# the roles it runs: a fix is confirmed only when all of them pass (or could not be run) on the fixed
# setup, for the roles it touches and those it does not (pipeline/verdicts.py).
CHECK_ROLES: dict[Check, tuple[Role, ...]] = {
    Check.SIGNATURE: (),  # the whole call binds: a rule speaks for it by its `steps`
    Check.CONFIG: (Role.CONFIG,),
    Check.BATCH: (Role.CONFIG,),
    Check.SAME_OBJECT: (Role.POLICY, Role.REFERENCE),
    Check.GENERATION_CONFIG: (Role.POLICY,),
    Check.DROPOUT: _MODELS,
    Check.WRAPPER: (Role.POLICY, Role.VALUE),
    Check.POLICY_LOGITS: (Role.POLICY,),
    Check.REFERENCE_LOGITS: (Role.REFERENCE,),
    Check.REWARD_GET_REWARD: (Role.REWARD,),
    Check.VALUE_GET_REWARD: (Role.VALUE,),
    Check.REWARD_NOT_TRAINED: (Role.REWARD, Role.VALUE),
    Check.FIRST_BATCH: (Role.TRAIN_DATASET,),
    # RLOOTrainer / GRPOTrainer (worker_group.py); SIGNATURE, CONFIG and GENERATION_CONFIG above serve them too
    Check.VLLM: (Role.CONFIG,),
    Check.REWARD_MODELS: (Role.REWARD_FUNCS,),
    Check.REWARD_CALL: (Role.REWARD_FUNCS,),
    Check.REWARD_PROCESSING_CLASSES: (Role.REWARD_PROCESSING_CLASSES,),
}


@dataclass(frozen=True)
class FileFacts:
    """The probe's facts about one version of one file (before or after a fix)."""

    file: FileSetup
    setups: tuple[Optional[SetupFacts], ...] = ()
    imports: tuple[ImportAttempt, ...] = ()  # one attempt per import statement name (worker_api.check_import)
    api: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    reason: str = ""  # why there are no facts at all (the probe did not run, crashed, timed out)

    @property
    def ok(self) -> bool:
        return not self.reason

    def setup(self, index: Optional[int]) -> Optional[SetupFacts]:
        if index is None or not 0 <= index < len(self.setups):
            return None
        return self.setups[index]

    def import_attempt(self, record: ImportRecord) -> Optional[ImportAttempt]:
        for attempt in self.imports:
            if attempt.key == (record.module, (record.name,) if record.name else ()):
                return attempt
        return None

    @property
    def trl(self) -> str:
        return str(self.api.get("trl") or self.versions.get("trl") or "")

    def trl_at_least(self, major: int, minor: int) -> Optional[bool]:
        match = re.match(r"(\d+)\.(\d+)", self.trl)
        return None if match is None else (int(match.group(1)), int(match.group(2))) >= (major, minor)


def no_facts(facts: FileFacts, index: Optional[int]) -> Optional[Evidence]:
    """The evidence to give when there is nothing to read, else None."""
    if not facts.ok:
        return None, facts.reason
    if facts.setup(index) is None:
        return None, "the probe has no facts for this setup"
    return None


def check(setup_facts: Optional[SetupFacts], name: Check) -> CheckResult:
    if setup_facts is None:
        return CheckResult(name, Status.UNCHECKED, reason="the probe has no facts for this setup")
    return setup_facts.check(name)


def model(setup_facts: Optional[SetupFacts], role: str) -> ModelFacts:
    return setup_facts.model(role) if setup_facts is not None else ModelFacts(Built.ABSENT)


def any_error(_check: CheckResult) -> bool:
    return True


def error_contains(*words: str) -> Callable[[CheckResult], bool]:
    def match(result: CheckResult) -> bool:
        return any(word in result.error for word in words)

    return match


def failed(facts: FileFacts, index: Optional[int], names: Iterable[Check],
           match: Callable[[CheckResult], bool] = any_error) -> Evidence:
    """True if one of the named checks fails in a way `match` accepts; False if none could; else None."""
    empty = no_facts(facts, index)
    if empty is not None:
        return empty
    setup_facts = facts.setup(index)
    unchecked = ""
    names = tuple(names)
    for name in names:
        result = check(setup_facts, name)
        if result.status is Status.FAIL and match(result):
            return True, result.error
        if result.status is Status.UNCHECKED and not unchecked:
            unchecked = result.reason
    if unchecked:
        return None, unchecked
    return False, "TRL's checks pass on the meta-device models (" + ", ".join(names) + ")"


def first_failure(facts: FileFacts, index: Optional[int],
                  steps: Iterable[tuple[Check, Callable[[CheckResult], bool]]]) -> Evidence:
    """The failure TRL raises among `steps` (check name, does its failure mean this rule's?), in
    __init__'s order: True at the first check whose failure matches; None when a check before it
    could not be run (TRL might raise there first, or not); False when none matches."""
    empty = no_facts(facts, index)
    if empty is not None:
        return empty
    setup_facts = facts.setup(index)
    for name, match in steps:
        result = check(setup_facts, name)
        if result.status is Status.UNCHECKED:
            return None, result.reason or f"the {name} check could not run"
        if result.status is Status.FAIL and match(result):
            return True, result.error
    return False, "TRL's checks pass on the meta-device models (" + ", ".join(name for name, _m in steps) + ")"


def left_broken(facts: FileFacts, index: Optional[int], own: Iterable[Role] = (),
                own_steps: Iterable[Check] = ()) -> list[str]:
    """TRL's steps that fail on the setup, but for those on a role in `own` and those in `own_steps`
    (what a finding's own `validate_fix` speaks for): the role (or roles) and TRL's error, one line each."""
    setup_facts = facts.setup(index)
    if setup_facts is None or not setup_facts.trl_module:
        return []  # no such trainer in this TRL: its steps are not the ones the script meets
    setup = facts.file.setup_at(index)
    config = setup.trainer.replace("v2Trainer", "Config").replace("Trainer", "Config") if setup is not None \
        else "PPOConfig"
    own, own_steps = set(own), set(own_steps)
    found = []
    for name, roles in CHECK_ROLES.items():
        result = check(setup_facts, name)
        if result.status is Status.FAIL and not own & set(roles) and name not in own_steps:
            who = " and ".join(_ROLE_WORDS.get(role, f"the {role} model").format(config=config) for role in roles) \
                if roles and len(roles) <= 2 else "the trainer call"
            found.append(f"{who}: TRL's {name} step still fails: {result.error}")
    return found


_ROLE_WORDS = {Role.CONFIG: "the {config}", Role.TRAIN_DATASET: "the training dataset",
               Role.REWARD_FUNCS: "the reward functions", Role.REWARD_PROCESSING_CLASSES: "the reward processing classes"}


def checks_passing(setup_facts: Optional[SetupFacts]) -> set[Check]:
    return {check.name for check in _checks(setup_facts) if check.status is Status.PASS}


def _checks(setup_facts: Optional[SetupFacts]) -> tuple[CheckResult, ...]:
    """Every check the worker reported on a setup."""
    return setup_facts.checks if setup_facts is not None else ()


def regressions(before: FileFacts, after: FileFacts) -> list[str]:
    """What passed before and fails after the fix: checks per setup, and import attempts."""
    found = []
    for index in range(min(len(before.setups), len(after.setups))):
        passed = checks_passing(before.setup(index))
        for result in _checks(after.setup(index)):
            if result.name in passed and result.status is Status.FAIL:
                found.append(f"the {result.name} check now fails: {result.error}")
    failing = {a.key for a in before.imports if a.status is Imported.ERROR}
    for attempt in after.imports:
        key = attempt.key
        if attempt.status is Imported.ERROR and key not in failing:
            spelled = f"`from {key[0]} import {', '.join(key[1])}`" if key[1] else f"`import {key[0]}`"
            found.append(f"{spelled} fails: {attempt.detail}")
    return found


# --- the interpreter's API -----------------------------------------------------------------------
def trainer_parameters(facts: FileFacts) -> tuple[Optional[list], str]:
    """PPOTrainer.__init__'s (name, kind) pairs in this interpreter, or (None, why)."""
    trainer = facts.api.get("trainer") or {}
    if facts.api.get("trl_error"):
        return None, f"this interpreter cannot import trl: {facts.api['trl_error']}"
    if trainer.get("error") or "parameters" not in trainer:
        return None, trainer.get("error") or "the trainer's signature was not read"
    return trainer["parameters"], ""


def trainer_where(facts: FileFacts) -> str:
    return f"{(facts.api.get('trainer') or {}).get('module', 'trl')}.PPOTrainer.__init__ (trl {facts.trl})"


def accepts(parameters: list, name: str) -> bool:
    kinds = dict(parameters)
    return kinds.get(name) in ("POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY") or "VAR_KEYWORD" in kinds.values()


def positional_names(parameters: list) -> list[str]:
    return [name for name, kind in parameters if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]


def config_fields(facts: FileFacts) -> tuple[Optional[set], str]:
    config = facts.api.get("config") or {}
    if config.get("error") or "fields" not in config:
        return None, config.get("error") or "PPOConfig's fields were not read"
    return set(config["fields"]), ""


def config_where(facts: FileFacts) -> str:
    return f"{(facts.api.get('config') or {}).get('module', 'trl')}.PPOConfig (trl {facts.trl})"


# --- models and tokenizers ---------------------------------------------------------------------
def unusable_heads(setup_facts: SetupFacts) -> list[tuple[str, ModelFacts, str]]:
    """Sequence classifiers whose head TRL's `get_reward` cannot use (BERT's `classifier`)."""
    found = []
    for role in SCORERS:
        built, result = model(setup_facts, role), check(setup_facts, Check.get_reward(role))
        if built.built and built.class_name.endswith("ForSequenceClassification") \
                and result.status is Status.FAIL and "score" in result.error:
            found.append((role, built, result.error))
    return found


def vocabulary_mismatches(setup_facts: SetupFacts) -> list[tuple[str, int, int]]:
    """(role, model vocabulary, ids it may be fed) for each model whose embeddings are too few."""
    tokenizer = setup_facts.tokenizer
    if not tokenizer.built:
        return []
    policy = model(setup_facts, "policy")
    found = []
    for role in ("policy", "reference", "reward", "value"):
        built = model(setup_facts, role)
        if not built.built or not built.vocab:
            continue
        wanted = tokenizer.needed_vocab
        if role in SCORERS and policy.built and policy.head_width:
            wanted = max(wanted, policy.head_width)  # they score whatever the policy generates
        if built.vocab < wanted:
            found.append((role, built.vocab, wanted))
    return found


def pad_token_evidence(facts: FileFacts, index: Optional[int]) -> Evidence:
    """True when the tokenizer, as saved and as the script changes it, has no pad token."""
    empty = no_facts(facts, index)
    if empty is not None:
        return empty
    tokenizer = facts.setup(index).tokenizer
    if not tokenizer.built:
        return None, f"the tokenizer: {tokenizer.reason or 'not built'}"
    if tokenizer.pad_token is not None:
        source = "as saved" if tokenizer.saved_pad_token is not None else "once the script's edits are replayed"
        return False, f"the tokenizer has pad token {tokenizer.pad_token!r} {source}"
    if tokenizer.opaque:
        return None, "the saved tokenizer has no pad token; the script passes it to " + \
            ", ".join(f"`{name}`" for name in tokenizer.opaque) + ", which may add one"
    return True, "ValueError: Asking to pad but the tokenizer does not have a padding token"


def head_widths(facts: FileFacts, index: Optional[int], roles: Iterable[str] = SCORERS) -> Evidence:
    """True when a scorer's head has more than one output (num_labels != 1)."""
    empty = no_facts(facts, index)
    if empty is not None:
        return empty
    setup_facts = facts.setup(index)
    seen = []
    for role in roles:
        built = model(setup_facts, role)
        if built.status is Built.UNCHECKED:
            return None, f"the {role} model: {built.reason}"
        if built.built and built.head_width is not None:
            if built.head_width != 1:
                return True, f"the {role} model's `{built.head}` head has {built.head_width} outputs, not 1"
            seen.append(role)
    if not seen:
        return None, "no reward or value model was built"
    return False, f"the {' and '.join(seen)} model heads have one output"
