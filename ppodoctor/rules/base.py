"""What a rule is, and what it produces."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import field
from typing import Any, ClassVar, Iterable, Iterator, Optional

from ..records import Record, record
from ..setup.model import FileSetup, PPOSetup, Span
from ..trl_api.eras import Target

ERROR = "error"  # TRL will crash
WARNING = "warning"  # it runs, but not as intended
SAFE = "safe"  # the fix only repairs the crash
UNSAFE = "unsafe"  # the fix changes behaviour beyond the crash (e.g. replaces a model)


@record
class Fix(Record):
    """An edit named in terms of the setup model; the fixes package turns it into code."""

    kind: str
    description: str
    applicability: str = SAFE
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str, default: Any = None) -> Any:
        return dict(self.params).get(name, default)


@record
class Diagnostic(Record):
    """One finding: which rule, where, what it means, and the fix when there is one."""

    code: str
    name: str
    severity: str
    message: str
    span: Span
    filename: str = ""
    fix: Optional[Fix] = None
    # Lines where a `# noqa` silences this finding: its own line and its trainer call's first line.
    noqa_lines: tuple[int, ...] = ()
    setup_index: Optional[int] = None
    probe: Optional[str] = None  # "confirmed", "refuted" or "unchecked" once the probe has looked
    probe_detail: str = ""

    def sort_key(self) -> tuple:
        return (self.filename, self.span.line, self.span.column, self.code)


@record
class Example(Record):
    """A snippet for the tests and `ppodoctor explain`: checked against `trl_version`."""

    code: str
    trl_version: str = "1.12.0"


@record
class RuleContext(Record):
    """What a rule sees besides the setup: the TRL version checked against and the whole file."""

    target: Target
    file: FileSetup
    transformers_version: Optional[str] = None
    extra: tuple[tuple[str, Any], ...] = field(default=())


class Rule:
    """A rule: subclasses set the metadata and implement check_setup (or check for file rules)."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[str]
    summary: ClassVar[str]
    fixable: ClassVar[bool] = False
    invalid: ClassVar[tuple[Any, ...]] = ()
    valid: ClassVar[tuple[Any, ...]] = ()

    def check(self, context: RuleContext) -> Iterator[Diagnostic]:
        for index, setup in enumerate(context.file.setups):
            for diagnostic in self.check_setup(setup, context):
                yield dataclasses.replace(diagnostic, setup_index=index)

    def check_setup(self, setup: PPOSetup, context: RuleContext) -> Iterable[Diagnostic]:
        return ()

    def report(self, message: str, span: Span, setup: Optional[PPOSetup] = None, fix: Optional[Fix] = None,
               severity: Optional[str] = None) -> Diagnostic:
        lines = {span.line}
        if setup is not None:
            lines.add(setup.span.line)
        return Diagnostic(self.code, self.name, severity or self.severity, message, span, fix=fix,
                          noqa_lines=tuple(sorted(lines)))

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def examples(cls, which: str) -> tuple[Example, ...]:
        items = cls.invalid if which == "invalid" else cls.valid
        return tuple(item if isinstance(item, Example) else Example(inspect.cleandoc(item) + "\n")
                     for item in items)


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
