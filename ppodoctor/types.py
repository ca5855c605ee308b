"""The shared types: what a finding, a fix, an edit and a verdict are, and the names of roles and kinds.

The bottom of the house (as Fixit's ftypes.py): every layer above reads these, and this module
imports nothing of ppodoctor but `records` (the stdlib-only frozen-record helper, on the same floor).
The enums subclass str (StrEnum), so a member equals, hashes and serialises as its value: the setup
model round-trips through JSON, and the probe, in another interpreter, reads plain strings.
"""

from __future__ import annotations

import re
from enum import Enum, IntEnum
from dataclasses import field
from typing import Any, NamedTuple, Optional

from .records import Record, record


class StrEnum(str, Enum):
    """An enum whose members are their string values in JSON, f-strings and comparisons."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


# --- what a rule says, and how sure the probe is ---------------------------------------------------

class ExitStatus(IntEnum):
    """ruff's exit status, for every command."""

    CLEAN = 0  # nothing left to report
    FINDINGS = 1  # something is left: a finding, a fix not written, a port held back
    ERROR = 2  # a file could not be read, checked or written (or the command was misused)


EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = ExitStatus.CLEAN, ExitStatus.FINDINGS, ExitStatus.ERROR


def exit_status(*, errors: bool, left: bool) -> ExitStatus:
    """The one rule every report's status follows: an error wins over anything left, then whatever is
    left (each report says what counts as left), else clean."""
    if errors:
        return ExitStatus.ERROR
    return ExitStatus.FINDINGS if left else ExitStatus.CLEAN


class Severity(StrEnum):
    ERROR = "error"  # TRL will crash
    WARNING = "warning"  # it runs, but not as intended


class Applicability(StrEnum):
    """When a fix may be written (ruff's fix safety, with the probe as the judge).

    With the probe (`fix --write`), any fix is written once the probe confirms that the original setup
    fails the way the rule says and that the fixed setup passes. Without it (`--no-probe`), only SAFE
    fixes are written; UNSAFE ones need `--unsafe-fixes`.
    """

    SAFE = "safe"  # the original cannot run (certain from the source alone): the fix cannot change a working script
    UNSAFE = "unsafe"  # the source alone cannot tell whether the original runs, or the fix changes meaning
    DISPLAY_ONLY = "display-only"  # shown as advice, never applied: it needs the user's decision


class Verdict(StrEnum):
    CONFIRMED = "confirmed"  # the probe reproduced the failure (and, for a fix, the fixed setup passes)
    REFUTED = "refuted"  # the probe ran the check and the failure is not there (or the fix does not cure it)
    UNCHECKED = "unchecked"  # the probe could not tell; the detail says why


# Kept as module names: rules and formatters compare against them.
ERROR, WARNING = Severity.ERROR, Severity.WARNING
SAFE, UNSAFE, DISPLAY_ONLY = Applicability.SAFE, Applicability.UNSAFE, Applicability.DISPLAY_ONLY
CONFIRMED, REFUTED, UNCHECKED = Verdict.CONFIRMED, Verdict.REFUTED, Verdict.UNCHECKED

# What a probe check answers: True (the failure is there), False (it is not), None (cannot tell), and why.
Evidence = tuple[Optional[bool], str]


@record
class ProbeVerdict(Record):
    """The probe's word on one finding or one fix: a verdict and one line of why."""

    status: Verdict
    detail: str = ""
    # A fix's verdict: True when the original's failure was reproduced, whatever became of the fix (a
    # refuted cure may be owed to another fix in the same text, so the gate tries again without it).
    reproduced: Optional[bool] = None
    # A migrated trainer call's verdict: each check behind it, as (name, "pass"/"fail"/"unchecked", why).
    checks: tuple[tuple[str, str, str], ...] = ()


# --- the setup model's vocabulary -------------------------------------------------------------------

UNKNOWN = "unknown"


class Role(StrEnum):
    """The roles a PPOTrainer argument can fill, whatever the era calls them."""

    POLICY = "policy"
    REFERENCE = "reference"
    REWARD = "reward"
    VALUE = "value"
    PROCESSING_CLASS = "processing_class"
    CONFIG = "config"
    TRAIN_DATASET = "train_dataset"
    EVAL_DATASET = "eval_dataset"
    PEFT_CONFIG = "peft_config"
    DATA_COLLATOR = "data_collator"
    # RLOOTrainer / GRPOTrainer (trl >= 1.0): the reward functions or models, and their tokenizers.
    REWARD_FUNCS = "reward_funcs"
    REWARD_PROCESSING_CLASSES = "reward_processing_classes"


class TrainerKind(StrEnum):
    """Which TRL trainer a call builds: the rules of one family never judge another's calls."""

    PPO = "ppo"  # PPOTrainer / PPOv2Trainer: FileSetup.setups
    RLOO = "rloo"  # RLOOTrainer and GRPOTrainer (trl >= 1.0: model, reward_funcs, args, ...):
    GRPO = "grpo"  # FileSetup.group_setups


class ParameterKind(StrEnum):
    """How a function parameter can be passed (inspect.Parameter's kinds, as the source writes them)."""

    POSITIONAL_ONLY = "positional_only"  # before a `/`
    POSITIONAL_OR_KEYWORD = "positional_or_keyword"
    VAR_POSITIONAL = "var_positional"  # *args
    KEYWORD_ONLY = "keyword_only"  # after `*` or `*args`
    VAR_KEYWORD = "var_keyword"  # **kwargs


class ReturnKind(StrEnum):
    """What a function's `return` statement visibly gives back (setup.signatures)."""

    LIST = "list"  # a list display or comprehension
    SCALAR = "scalar"  # a number, float(...)/int(...)/sum(...)/len(...)/x.item(), torch.tensor(<number>)
    NONE = "none"  # `return`, `return None`, or falling off the end
    OTHER = "other"  # anything the source does not show the type of


MODEL_ROLES = (Role.POLICY, Role.REFERENCE, Role.REWARD, Role.VALUE)


class ModelKind(StrEnum):
    """What kind of model an origin builds, judged from its class name (setup/kinds.py)."""

    CAUSAL_LM = "causal_lm"
    SEQUENCE_CLASSIFIER = "sequence_classifier"
    VALUE_HEAD = "value_head"
    NO_MODEL = "none"
    OTHER_MODEL = "other_model"  # a transformers model with neither head, e.g. AutoModel
    UNKNOWN = "unknown"


class OriginKind(StrEnum):
    """Where an object comes from (setup.model.Origin.kind)."""

    FROM_PRETRAINED = "from_pretrained"
    FROM_CONFIG = "from_config"
    CONSTRUCTOR = "constructor"
    COPY = "copy"
    PEFT = "peft"
    PARSED_ARGS = "parsed_args"
    METHOD = "method"
    NONE = "none"
    LITERAL = "literal"
    CALL = "call"
    FUNCTION = "function"
    UNKNOWN = "unknown"


BUILDING_KINDS = (OriginKind.FROM_PRETRAINED, OriginKind.FROM_CONFIG, OriginKind.CONSTRUCTOR)
WRAPPING_KINDS = (OriginKind.COPY, OriginKind.PEFT)


class OperationKind(StrEnum):
    """What is done to an object before the trainer is built (setup.model.Operation.kind)."""

    CALL = "call"
    SET = "set"
    FREEZE = "freeze"
    PASSED = "passed"


class GuardKind(StrEnum):
    """The statement around an import that may catch or skip it (setup.model.ImportGuard.kind)."""

    TRY = "try"
    IF = "if"


class UsageKind(StrEnum):
    """How the script uses the trainer object (setup.model.Usage.kind)."""

    CALL = "call"
    ATTRIBUTE = "attribute"


class ValueKind(StrEnum):
    """What a value seen in the source is (setup.model.Value.kind)."""

    LITERAL = "literal"
    NAME = "name"
    RANGE = "range"
    FUNCTION = "function"
    UNKNOWN = "unknown"


class Successor(StrEnum):
    """The trainers `ppodoctor migrate` ports a PPO script to."""

    RLOO = "rloo"
    GRPO = "grpo"


class Screen(StrEnum):
    """What screening says of one file (screening.py)."""

    UNREAD = "unread"  # its bytes cannot hold a setup: not even decoded
    ERROR = "error"  # it cannot be read or compiled: the cause and position follow
    CLEAN = "clean"  # Python's parser rules a setup out
    CHECK = "check"  # it may hold one: parse it with libcst


# --- findings, fixes and edits ----------------------------------------------------------------------

@record
class Span(Record):
    """A source range; lines and columns are 1-based, as ruff prints them.

    file: "" for the file being checked; otherwise the other file of the project the range is in (a
    module the checked script imports, setup/project.py), as the report names it."""

    line: int
    column: int
    end_line: int
    end_column: int
    file: str = ""


@record
class Related(Record):
    """Another place a finding points at (SARIF's relatedLocations): where its cause is written, in
    the checked file or another one (`span.file`), and what is there."""

    span: Span
    message: str = ""


class Declined(Exception):
    """A fix that cannot be made safely here; str() says why."""


class Edit(NamedTuple):
    """Replace text[start:end] with `text`; start == end inserts. (A tuple: ordered by position, and
    cheaper to define than a dataclass, which `check`'s start-up would pay for.)"""

    start: int
    end: int
    text: str

    @property
    def is_insertion(self) -> bool:
        return self.start == self.end


@record
class Fix(Record):
    """A fix as a finding carries it: its title (ruff's fix title) and when it may be applied.

    The edits themselves come from the rule's `fix()` when the engine asks; `params` carries what the
    rule decided at detection time (e.g. which role to replace) for its own `fix()` to read.
    """

    title: str
    applicability: Applicability = Applicability.SAFE
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)


@record
class Diagnostic(Record):
    """One finding: which rule, where, what it means, and the fix when there is one."""

    code: str
    name: str
    severity: Severity
    message: str
    span: Span
    filename: str = ""
    fix: Optional[Fix] = None
    # Lines where a `# noqa` silences this finding: its own line and its trainer call's first line.
    noqa_lines: tuple[int, ...] = ()
    setup_index: Optional[int] = None
    probe: Optional[Verdict] = None  # set once the probe has looked
    probe_detail: str = ""
    # What the finding is about, for the rule's own fix and probe check: a role, a keyword, a field.
    subject: str = ""
    # In a notebook (notebook.place_in_cells): the cell holding `span` (1-based, counting every cell)
    # and the span within that cell. `span` itself stays in the program text's lines, as fixes need.
    cell: Optional[int] = None
    cell_span: Optional[Span] = None
    # The rule class that found it (rules.base.Rule; typed loosely: this module sits below the rules).
    # The pipeline asks it for the fix and the probe check; `code` stays for reports and `noqa`.
    rule: Optional[type] = field(default=None, compare=False)
    # Where the cause is written when that is elsewhere (another file's line, setup/project.py).
    related: tuple[Related, ...] = ()

    @property
    def location(self) -> str:
        """Where ruff would say: `path:line:col`, or in a notebook `nb.ipynb:cell 3:8:9`."""
        if self.cell is not None:
            return f"{self.filename}:cell {self.cell}:{self.cell_span.line}:{self.cell_span.column}"
        return f"{self.filename}:{self.span.line}:{self.span.column}"

    @property
    def refuted(self) -> bool:
        return self.probe == Verdict.REFUTED

    def sort_key(self) -> tuple:
        return (self.filename, self.span.line, self.span.column, self.code)


@record
class KnownError(Record):
    """A failure TRL raises, as `ppodoctor explain` recognises it in a message or traceback."""

    key: str  # a stable id for tests and JSON
    pattern: str  # a regular expression searched in the message (case-insensitive)
    error: str  # the message as TRL raises it
    trl_versions: str
    when: str  # the moment it strikes: "PPOTrainer(...)", "train()", ...
    cause: str
    fix: str
    also: tuple[str, ...] = ()  # other rules that catch it, after the one that declares it
    caught_by: str = ""  # what catches it when no rule does (e.g. `ppodoctor migrate`'s probe)

    def search(self, text: str) -> Optional[re.Match]:
        return re.search(self.pattern, text, re.IGNORECASE)
