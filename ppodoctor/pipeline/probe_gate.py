"""The single point where the runtime probe gates `fix --write`.

Contract with the verdicts stage (kept small on purpose, so that tests can stand in for the probe):

    pipeline.verdicts.confirm_fix_sets(sets: Sequence[(before, after, diagnostics)], options)
        -> list[Mapping[int, verdict]]

one entry per set: `before`/`after` are a file's setup model before and after fixing, `diagnostics`
the findings whose fixes were applied (as first reported); each mapping goes from an index into
`diagnostics` to an object with `.status` (a Verdict: "confirmed" when the failure reproduces and
the fixed setup passes; "refuted" when either half fails; "unchecked" when the probe could not tell)
and `.detail` (one line). A missing index counts as unchecked. One call covers every file of a run,
and every call inside `warm_probe()` (a whole `fix` run, its rounds included) asks the same warm
worker, so the worker (which imports torch, transformers and trl) starts once. When the probe
raises, every fix is unchecked.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Protocol, Sequence

from ..probe.runner import coerce_options, prewarm
from ..probe.warm import session as warm_probe
from ..setup.model import FileSetup
from ..types import CONFIRMED, REFUTED, UNCHECKED, Diagnostic, ProbeVerdict, Verdict
from .verdicts import confirm_fix_sets

__all__ = ["Confirmer", "FixSet", "confirm_with_probe", "warm_probe", "warm_up"]

FixSet = tuple[FileSetup, FileSetup, Sequence[Diagnostic]]


class Confirmer(Protocol):
    def __call__(self, sets: Sequence[FixSet], options: Any) -> Sequence[Mapping[int, Any]]: ...


def warm_up(options: Any) -> None:
    """Inside `warm_probe()`: starts the probe's worker now, so that its interpreter start and imports
    overlap the fixes still to be computed instead of following them."""
    prewarm(coerce_options(options))


def confirm_with_probe(sets: Sequence[FixSet], options: Any,
                       confirm: Optional[Confirmer] = None) -> list[tuple[ProbeVerdict, ...]]:
    """One verdict per fixed finding, per set, in order; never raises."""
    confirm = confirm or confirm_fix_sets
    try:
        answers = list(confirm(sets, options))
    except Exception as error:  # noqa: BLE001 - a failing probe must not lose the fixes or crash the run
        return [tuple(ProbeVerdict(UNCHECKED, f"the probe failed: {type(error).__name__}: {error}") for _ in found)
                for _b, _a, found in sets]
    results = []
    for position, (_before, _after, found) in enumerate(sets):
        mapping = answers[position] if position < len(answers) else {}
        verdicts = []
        for index in range(len(found)):
            answer = (mapping or {}).get(index)
            status = getattr(answer, "status", None)
            if status not in (CONFIRMED, REFUTED, UNCHECKED):
                verdicts.append(ProbeVerdict(UNCHECKED, "the probe gave no verdict"))
            else:
                verdicts.append(ProbeVerdict(Verdict(status), str(getattr(answer, "detail", "") or ""),
                                             getattr(answer, "reproduced", None)))
        results.append(tuple(verdicts))
    return results
