from __future__ import annotations

from ..trl_api import eras, table
from ..types import ERROR, WARNING, KnownError
from . import fallbacks
from .base import Example, Rule
from .common import ImportAttemptCheck, ReplacementFix, import_rewrite_fix, is_other_era_script
from .fallbacks import ImportFate

_OLD_IMPORT = "from trl import PPOConfig, PPOTrainer\n"
_NEW_IMPORT = "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"


class ImportPathForEra(ImportAttemptCheck, ReplacementFix, Rule):
    """A TRL import that the target TRL does not have (or only with a FutureWarning).

    Why it breaks: PPO moved. `PPOv2Trainer` was renamed `PPOTrainer` in 0.12 and gone in 0.13;
    `respond_to_batch` left `trl.core` in 0.14 and `trl.core` itself is gone from 0.25; in 0.26
    PPOTrainer/PPOConfig moved to `trl.experimental.ppo` (the old path warns with a FutureWarning)
    and the value-head wrapper followed in 0.27; from 0.29 `from trl import PPOTrainer` is an
    ImportError. Before 0.26 there is no `trl.experimental.ppo`.

    An import shim (`try: from trl.experimental.ppo import ...` / `except ImportError: from trl
    import ...`) or a branch on the TRL version (`if version.parse(trl.__version__) >= ...`) is
    judged by the branch that runs on the target: no finding when it works; one when none does.

    Fix: import the name from where the target TRL keeps it (a renamed class keeps its local name
    through `as`). Names with no home in the target TRL, and imports inside a shim or a version
    branch, are reported without a fix.
    Fix safety: safe; only the import statement changes.
    Probe: tries the script's imports in this interpreter: the old one must fail (or warn) and every
    import of the fixed statement must work.
    """

    code = "PPD202"
    name = "import-path-for-era"
    severity = ERROR
    summary = "a TRL import path that the target TRL does not have"
    fix_title = "import the name from where the target TRL keeps it"
    probe_check = "the import tried in this interpreter; fixed: the new imports work"
    known_errors = (
        KnownError("import-path", r"cannot import name '(PPOTrainer|PPOConfig|AutoModelForCausalLMWithValueHead|"
                                  r"PPOv2Trainer|PPOv2Config|respond_to_batch)'|No module named '?trl\.(experimental'|"
                                  r"core|trainer\.ppov2)",
                   "ImportError: cannot import name 'PPOTrainer' from 'trl'",
                   "0.29 - 1.12 (`from trl import PPOTrainer`); ≤ 0.25 (`trl.experimental`)", "import",
                   "the import path belongs to another TRL era",
                   "import from `trl.experimental.ppo` on 0.26 - 1.12, from `trl` before that; `ppodoctor fix` "
                   "rewrites the import", ("PPD203",)),
    )
    invalid = (Example(_OLD_IMPORT, "1.12.0"), Example(_OLD_IMPORT, "0.27.0"), Example(_NEW_IMPORT, "0.20.0"),
               Example("from trl import PPOv2Trainer\n", "0.14.0"),
               Example("from trl.core import respond_to_batch\n", "0.14.0"),
               Example("from trl.trainer.ppov2_trainer import PPOv2Config\n", "0.12.2"),
               Example("try:\n    " + _NEW_IMPORT + "except ImportError:\n"
                       "    from trl.trainer.ppov2_trainer import PPOv2Trainer as PPOTrainer\n", "0.20.0"))
    valid = (Example(_OLD_IMPORT, "0.20.0"), Example(_NEW_IMPORT, "0.27.0"), Example(_NEW_IMPORT, "1.12.0"),
             Example("from trl import SFTTrainer, PPOv2Trainer\n", "0.11.4"),
             Example("from trl.trainer.ppov2_trainer import PPOv2Config, PPOv2Trainer\n", "0.11.4"),
             Example("try:\n    " + _NEW_IMPORT + "except ImportError:\n    " + _OLD_IMPORT, "0.20.0"),
             Example("import trl\nfrom packaging import version\n\n"
                     "if version.parse(trl.__version__) >= version.parse('0.26'):\n    " + _NEW_IMPORT
                     + "else:\n    " + _OLD_IMPORT, "1.12.0"))

    def check(self, context):
        if not eras.has_ppo(context.target.era) or context.file.setups and all(
                is_other_era_script(setup, context) for setup in context.file.setups):
            return  # PPD203 / PPD206 speak for the whole file
        version = context.target.version
        tracked = table.tracked_names()
        outcome = dict(zip(context.file.imports, fallbacks.fates(context.file.imports, version)))
        shimmed = dict(zip(context.file.imports, fallbacks.in_shims(context.file.imports, version)))
        statements: dict = {}
        for record in context.file.imports:
            statements.setdefault(record.statement_span, []).append(record)
        for statement, records in statements.items():
            plans = []
            for record in records:
                verdict = outcome[record]
                if verdict in (ImportFate.DEAD, ImportFate.SILENCED):
                    plans.append((record, None, None))  # never runs, or a fallback takes over
                elif record.name in ("", "*"):
                    if table.is_ppo_module(record.module) and verdict is ImportFate.FAILS:
                        yield self.report(f"`import {record.module}` is an ImportError in trl {version}: the module "
                                          "does not exist", record.span)
                    plans.append((record, None, None))
                else:
                    plans.append((record, *self._plan(record, version)) if record.name in tracked
                                 else (record, None, None))
            # A shim's branches are the author's choice: report, but never rewrite one of them.
            fix = None if any(shimmed[record] for record in records) else import_rewrite_fix(statement, plans)
            for record, problem, home in plans:
                if problem is None:
                    continue
                message, severity, _new_name = problem
                yield self.report(message, record.span, fix=fix, severity=severity)
                fix = None  # one edit per statement

    def _plan(self, record, version):
        """((message, severity, new_name), home) for a name to move; (None, None) for one that is fine."""
        status = table.name_status(record.module, record.name, version)
        if status == "ok":
            return None, None
        new_name = record.name
        home = table.home_of(record.name, version)
        if home is None and record.name in table.RENAMED_NAMES:
            new_name = table.RENAMED_NAMES[record.name]
            home = table.home_of(new_name, version)
        if status == "deprecated":
            if home is None or home == record.module:
                return None, None  # deprecated with nowhere better to go: not an import-path problem
            message = (f"`from {record.module} import {record.name}` warns in trl {version} (FutureWarning: it "
                       f"moved to `{home}`; the old path is an ImportError from 0.29)")
            severity = WARNING
        else:
            message = f"`from {record.module} import {record.name}` is an ImportError in trl {version}"
            severity = ERROR
        if home is not None:
            renamed = f" (renamed `{new_name}`)" if new_name != record.name else ""
            message += f"; import it from `{home}`{renamed}"
        else:
            message += "; no module of this trl provides it"
        return (message, severity, new_name), home

