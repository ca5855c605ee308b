"""The single point where the runtime probe gates `fix --write`.

Contract with ppodoctor/probe (kept tiny on purpose):

    ppodoctor.probe.confirm_fixes(before: FileSetup, after: FileSetup,
                                  diagnostics: Sequence[Diagnostic], options) -> dict[int, verdict]

`before`/`after` are the file's setup model before and after fixing; `diagnostics` are the findings
whose fixes were applied (as first reported); `options` is the run's config.Settings (its `python`
names the interpreter that will run the scripts). The result maps an index into `diagnostics` to an
object with `.status` ("confirmed": the probe ran the fixed setup and the failure is gone;
"refuted": it still fails; "unchecked": the probe could not tell) and `.detail` (one line). A
missing index counts as "unchecked". When ppodoctor.probe or confirm_fixes does not exist, or it
raises, every fix is "unchecked" -- and `fix --write` writes only confirmed fixes unless told
`--no-probe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Protocol, Sequence

from ..rules.base import Diagnostic
from ..setup.model import FileSetup

CONFIRMED, REFUTED, UNCHECKED = "confirmed", "refuted", "unchecked"


@dataclass(frozen=True)
class ProbeVerdict:
    status: str
    detail: str = ""


class Confirmer(Protocol):
    def __call__(self, before: FileSetup, after: FileSetup, diagnostics: Sequence[Diagnostic],
                 options: Any) -> Mapping[int, Any]: ...


def default_confirmer() -> Optional[Confirmer]:
    try:
        from ..probe import confirm_fixes  # type: ignore[attr-defined]
    except ImportError:
        return None
    return confirm_fixes


def confirm_with_probe(before: FileSetup, after: FileSetup, diagnostics: Sequence[Diagnostic], options: Any,
                       confirm: Optional[Confirmer] = None) -> tuple[ProbeVerdict, ...]:
    """One verdict per diagnostic, in order; never raises."""
    confirm = confirm or default_confirmer()
    if confirm is None:
        return tuple(ProbeVerdict(UNCHECKED, "the runtime probe is not available") for _ in diagnostics)
    try:
        answers = confirm(before, after, tuple(diagnostics), options)
    except Exception as error:  # noqa: BLE001 - a failing probe must not lose the fixes or crash the run
        return tuple(ProbeVerdict(UNCHECKED, f"the probe failed: {type(error).__name__}: {error}")
                     for _ in diagnostics)
    verdicts = []
    for index in range(len(diagnostics)):
        answer = (answers or {}).get(index)
        status = getattr(answer, "status", None)
        if status not in (CONFIRMED, REFUTED, UNCHECKED):
            verdicts.append(ProbeVerdict(UNCHECKED, "the probe gave no verdict"))
        else:
            verdicts.append(ProbeVerdict(status, str(getattr(answer, "detail", "") or "")))
    return tuple(verdicts)
