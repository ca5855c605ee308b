from __future__ import annotations

from ..trl_api import eras, table
from ..probe.probe_checks import Imported
from ..types import ERROR, KnownError
from . import fallbacks
from .base import Example, Rule
from .fallbacks import ImportFate

_SCRIPT = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
           "trainer = PPOTrainer(args=PPOConfig(), processing_class=tok, model=policy, ref_model=ref,\n"
           "                     reward_model=rm, value_model=critic, train_dataset=ds)\n")


_SHIM = ("try:\n    from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
         "except ImportError:\n    from trl import PPOConfig, PPOTrainer\n")


class PPORemoved(Rule):
    """The target TRL has no PPO at all (1.13 and later).

    Why it breaks: TRL 1.13 removed PPOTrainer, PPOConfig and the value-head wrappers; every PPO
    import is an ImportError. One finding per file says so, instead of one per import. An import
    shim whose every branch fails counts once; one whose fallback works (or a TRL-version branch
    not taken on the target) does not count.

    Fix: pin `trl==1.12.0`, the last release with PPO (`trl.experimental.ppo`), or port the script to
    RLOOTrainer or GRPOTrainer with `ppodoctor migrate --to rloo|grpo` (a diff, or `--write` once the
    runtime probe confirms the new call).
    """

    code = "PPD203"
    name = "ppo-removed"
    severity = ERROR
    summary = "the target TRL has no PPO (removed in 1.13)"
    no_fix_reason = ("the cure is outside the script (pin `trl==1.12.0`) or a port to another trainer with "
                     "different semantics (`ppodoctor migrate --to rloo|grpo`, probe-gated), not an edit `fix` can"
                     " make")
    probe_check = "the PPO imports tried in this interpreter"
    known_errors = (
        KnownError("ppo-removed", r"No module named '?trl\.experimental\.ppo'?",
                   "ModuleNotFoundError: No module named 'trl.experimental.ppo'",
                   "≥ 1.13 (PPO removed) and ≤ 0.25 (not moved yet)", "import",
                   "the installed TRL has no PPO at that path",
                   "pin `trl>=0.29,<1.13` for `trl.experimental.ppo`, or import from `trl` on ≤ 0.28", ("PPD202",)),
    )
    invalid = (Example(_SCRIPT, "1.13.0"), Example("from trl import PPOTrainer\n", "1.13.0"),
               Example(_SHIM, "1.13.0"))
    valid = (Example(_SCRIPT, "1.12.0"), Example("from trl import SFTTrainer\n", "1.13.0"),
             Example(_SHIM.replace("from trl import PPOConfig, PPOTrainer", "PPOTrainer = PPOConfig = None"), "1.13.0"))

    def check(self, context):
        if eras.has_ppo(context.target.era):
            return
        tracked = table.tracked_names()
        imports = context.file.imports
        # An import a shim or a version branch keeps from running (or from failing) says nothing.
        spans = [record.span for record, verdict in zip(imports, fallbacks.fates(imports, context.target.version))
                 if verdict is ImportFate.FAILS and (record.name in tracked and record.name != "create_reference_model"
                                                  or record.module.startswith("trl.experimental.ppo"))]
        spans += [setup.callee_span for setup in context.file.setups]
        if not spans:
            return
        span = min(spans, key=lambda s: (s.line, s.column))
        yield self.report(f"PPO was removed from TRL in 1.13 and this script meets trl {context.target.version} "
                          f"({context.target.source}): every PPO import fails; pin `trl=={eras.NEWEST_WITH_PPO}` "
                          "(the last release with PPOTrainer) or port it: `ppodoctor migrate --to rloo|grpo`", span)

    def reproduce(self, diagnostic, facts):
        tracked = [r for r in facts.file.imports if r.module.split(".")[0] == "trl" and r.name not in ("", "*")]
        attempts = [(r, facts.import_attempt(r)) for r in tracked]
        failing = [(r, a) for r, a in attempts if a is not None and a.status is Imported.ERROR]
        if failing:
            record, attempt = failing[0]
            return True, f"`from {record.module} import {record.name}` gives {attempt.detail} in trl {facts.trl}"
        if any(a is None for _r, a in attempts) or not attempts:
            return None, facts.reason or "the probe did not try the PPO imports"
        return False, f"the PPO imports work in trl {facts.trl}"
