"""Records the setup model holds about code around the trainer call: a function's shape (its
parameters and returns, setup/signatures.py) and what a launch's command line would make the script's
parser refuse (setup/argv.py). Split from model.py, which holds them in Origin and FileSetup."""

from __future__ import annotations

from typing import Optional

from ..records import Record, record
from ..types import ParameterKind, ReturnKind, Span


@record
class ArgvRefusal(Record):
    """What the script's parser would refuse in a launch's command line (its own words), at the
    parse call that reads it."""

    message: str
    span: Span


@record
class FunctionParameter(Record):
    name: str
    kind: ParameterKind
    has_default: bool = False


@record
class FunctionShape(Record):
    """A function defined in the file or a lambda (setup/signatures.py). returns: the kind of each `return`
    (NONE too when it can fall off its end); last_parameter: where a fix adds `**kwargs` after it."""

    name: str
    parameters: tuple[FunctionParameter, ...] = ()
    returns: tuple[ReturnKind, ...] = ()
    is_async: bool = False
    last_parameter: Optional[Span] = None
    name_span: Optional[Span] = None

    def takes_any_keyword(self) -> bool:
        return any(p.kind == ParameterKind.VAR_KEYWORD for p in self.parameters)
