"""What a rule is, what it owns, and what it produces.

A rule module holds everything about its code (as Fixit's LintRule and ruff's violations do):
detection (`check_setup`, reading the setup model only), its fix (`fix`, edits of the one
`types.Edit` type, with an `Applicability`), the probe check that reproduces the failure
(`reproduce`) and validates the fixed setup (`validate_fix`), the TRL errors it explains
(`known_errors`), its documentation and its examples. `fixes/` and `probe/` are libraries the
rules call; nothing elsewhere maps a code to a rule's behaviour.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import field
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Iterator, Optional

from ..records import Record, record
from ..setup.model import FileSetup, PPOSetup
from ..trl_api.eras import Target
from ..types import Declined, Diagnostic, Edit, Evidence, Fix, KnownError, Role, Severity, Span, TrainerKind

if TYPE_CHECKING:  # only for annotations: a rule imports the fix and probe libraries when it uses them
    from ..fixes.source import SourceMap
    from ..probe.facts import FileFacts
    from ..saved import SavedFiles


@record
class Example(Record):
    """A snippet for the tests and `ppodoctor explain`: checked against `trl_version`."""

    code: str
    trl_version: str = "1.12.0"


@record
class RuleContext(Record):
    """What a rule sees besides the setup: the TRL checked against, the whole file, the saved files."""

    target: Target
    file: FileSetup
    transformers_version: Optional[str] = None
    extra: tuple[tuple[str, Any], ...] = field(default=())
    saved: Optional["SavedFiles"] = field(default=None, compare=False)  # models/tokenizers on disk (saved.py)
    launch: Optional[Any] = None  # launch.model.Launch: how the script is started, when a launch is checked


@record
class FixContext(Record):
    """What a rule's `fix()` gets: the file's setup model, the trainer call's setup, the source."""

    file: FileSetup
    setup: Optional[PPOSetup]
    source: "SourceMap"
    target: Target


class Rule:
    """A rule: subclasses set the metadata and implement check_setup (or check for file rules)."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    invalid: ClassVar[tuple[Any, ...]] = ()
    valid: ClassVar[tuple[Any, ...]] = ()
    known_errors: ClassVar[tuple[KnownError, ...]] = ()
    runtime_only: ClassVar[bool] = False  # found by the probe alone (`from_probe`)
    fix_title: ClassVar[str] = ""  # what `rules --verbose` shows for the fix
    # For a rule without a fix: why no edit of the script can cure it (`ppodoctor explain` says it).
    no_fix_reason: ClassVar[str] = ""
    probe_check: ClassVar[str] = ""  # what `rules --verbose` shows for `reproduce`/`validate_fix`
    # Rules whose finding on the same trainer call says all this rule would (ruff's "superseded"):
    # beside one of theirs on the same argument this rule's static finding is not reported (one
    # problem, one finding), and beside one anywhere on the call, nor are its runtime findings.
    superseded_by: ClassVar[tuple[type, ...]] = ()
    # What the finding is about, for the probe: the roles (and further TRL steps, probe.facts.CHECK_ROLES)
    # that `validate_fix` speaks for. Every other role's steps must pass on the fixed setup too, or the
    # fix is refuted (pipeline/verdicts.py). With `subject_is_role`, a finding is about its subject's role.
    roles: ClassVar[tuple[Role, ...]] = ()
    subject_is_role: ClassVar[bool] = False
    steps: ClassVar[tuple[Any, ...]] = ()  # probe_checks.Check members: TRL steps on the whole call
    # A finding about the machine the probe runs on, not the script (bf16 without a bf16 GPU): its error,
    # met on another role, does not refute other findings' fixes (the script may train elsewhere).
    machine_dependent: ClassVar[bool] = False
    # The trainers whose calls this rule judges (`check_setup` sees no other's): the PPO rules never
    # read an RLOOTrainer/GRPOTrainer call, nor the PPD6xx rules a PPOTrainer one.
    trainer_kinds: ClassVar[tuple[TrainerKind, ...]] = (TrainerKind.PPO,)

    # --- detection ----------------------------------------------------------------------------
    def check(self, context: RuleContext) -> Iterator[Diagnostic]:
        for index, setup in live_setups(context, self.trainer_kinds):
            for diagnostic in self.check_setup(setup, context):
                yield dataclasses.replace(diagnostic, setup_index=index)

    def check_setup(self, setup: PPOSetup, context: RuleContext) -> Iterable[Diagnostic]:
        return ()

    def report(self, message: str, span: Span, setup: Optional[PPOSetup] = None, fix: Optional[Fix] = None,
               severity: Optional[Severity] = None, subject: str = "") -> Diagnostic:
        lines = {span.line}
        if setup is not None:
            lines.add(setup.span.line)
        return Diagnostic(self.code, self.name, severity or self.severity, message, span, fix=fix,
                          noqa_lines=tuple(sorted(lines)), subject=subject, rule=type(self))

    # --- the fix --------------------------------------------------------------------------------
    @property
    def fixable(self) -> bool:
        return type(self).fix is not Rule.fix

    def fix(self, diagnostic: Diagnostic, context: FixContext) -> tuple["Edit", ...]:
        """The text edits that repair `diagnostic`; raise Declined (with the reason) when it cannot."""
        raise Declined(f"{self.code} has no fix")

    # --- the probe --------------------------------------------------------------------------------
    def reproduce(self, diagnostic: Diagnostic, facts: "FileFacts") -> Evidence:
        """Does the failure happen in the setup as the probe built it?"""
        return None, f"the probe has no runtime check for {self.code}"

    def validate_fix(self, diagnostic: Diagnostic, before: "FileFacts", after: "FileFacts") -> Evidence:
        """Does the fixed setup (`after`) pass? True when it does. By default: the failure is gone."""
        found, detail = self.reproduce(diagnostic, after)
        return (None if found is None else not found), detail

    def roles_of(self, diagnostic: Diagnostic) -> tuple[Role, ...]:
        """The roles this finding is about: its subject's (`subject_is_role`), else the rule's `roles`."""
        return (Role(diagnostic.subject),) if self.subject_is_role else self.roles

    def from_probe(self, setup: PPOSetup, facts: dict, already: set) -> Iterable[tuple[Diagnostic, str]]:
        """Findings only the probe's facts show (the runtime rules), with the evidence for each."""
        return ()

    # --- documentation ----------------------------------------------------------------------------
    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def examples(cls, which: str) -> tuple[Example, ...]:
        items = cls.invalid if which == "invalid" else cls.valid
        return tuple(item if isinstance(item, Example) else Example(inspect.cleandoc(item) + "\n")
                     for item in items)


def live_setups(context: RuleContext, kinds: tuple[TrainerKind, ...] = (TrainerKind.PPO,)
                ) -> Iterator[tuple[int, PPOSetup]]:
    """The file's trainer setups of `kinds` (with their index in FileSetup.all_setups) that can run on the
    target: what every rule judges."""
    for index, setup in enumerate(context.file.all_setups()):
        if setup.kind in kinds and (not setup.guards or runs_on_target(setup, context.target)):
            yield index, setup


def runs_on_target(setup: PPOSetup, target: Target) -> bool:
    """False for a trainer call in a branch on the TRL version that the target does not take: it never
    runs there, so nothing about it can fail there."""
    # The era table behind fallbacks loads only for the few files that branch on the TRL version.
    from .fallbacks import branch_taken

    return not any(branch_taken(guard, target.version) is False for guard in setup.guards)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def setup_of(file_setup: FileSetup, diagnostic: Diagnostic) -> Optional[PPOSetup]:
    return file_setup.setup_at(diagnostic.setup_index)
