from __future__ import annotations

from ..trl_api import eras, table
from .base import ERROR, WARNING, Example, KnownError, Rule
from .common import ReplacementFix, is_old_era_script, replace_fix

_OLD_IMPORT = "from trl import PPOConfig, PPOTrainer\n"
_NEW_IMPORT = "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"


class ImportPathForEra(ReplacementFix, Rule):
    """A TRL import that the target TRL does not have (or only with a FutureWarning).

    Why it breaks: PPO moved. `PPOv2Trainer` was renamed `PPOTrainer` in 0.12 and gone in 0.13;
    `respond_to_batch` left `trl.core` in 0.14 and `trl.core` itself is gone from 0.25; in 0.26
    PPOTrainer/PPOConfig moved to `trl.experimental.ppo` (the old path warns with a FutureWarning)
    and the value-head wrapper followed in 0.27; from 0.29 `from trl import PPOTrainer` is an
    ImportError. Before 0.26 there is no `trl.experimental.ppo`.

    Fix: import the name from where the target TRL keeps it (a renamed class keeps its local name
    through `as`). Names with no home in the target TRL are reported without a fix.
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
               Example("from trl.core import respond_to_batch\n", "0.14.0"))
    valid = (Example(_OLD_IMPORT, "0.20.0"), Example(_NEW_IMPORT, "0.27.0"), Example(_NEW_IMPORT, "1.12.0"),
             Example("from trl import SFTTrainer, PPOv2Trainer\n", "0.11.4"))

    def check(self, context):
        if not eras.has_ppo(context.target.era) or context.file.setups and all(
                is_old_era_script(setup, context) for setup in context.file.setups):
            return  # PPD203 / PPD206 speak for the whole file
        version = context.target.version
        tracked = table.tracked_names()
        statements: dict = {}
        for record in context.file.imports:
            statements.setdefault(record.statement_span, []).append(record)
        for statement, records in statements.items():
            plans = []
            for record in records:
                if record.name in ("", "*"):
                    if record.module.startswith("trl.") and not table.module_exists(record.module, version):
                        yield self.report(f"`import {record.module}` is an ImportError in trl {version}: the module "
                                          "does not exist", record.span)
                    plans.append((record, None, None))
                    continue
                plans.append((record, *self._plan(record, version)) if record.name in tracked
                             else (record, None, None))
            fix = self._fix(statement, plans)
            for record, problem, home in plans:
                if problem is None:
                    continue
                message, severity, _new_name = problem
                yield self.report(message, record.span, fix=fix, severity=severity)
                fix = None  # one edit per statement

    def reproduce(self, diagnostic, facts):
        record = _record_at(facts.file, diagnostic.span)
        attempt = facts.import_attempt(record) if record is not None else None
        if attempt is None:
            return None, facts.reason or "the probe did not try this import"
        spelled = _spelled(record.module, [record.name])
        if attempt["status"] == "ok":
            return False, f"{spelled} imports cleanly in trl {facts.trl}"
        return True, f"{spelled} gives {attempt['detail']} in trl {facts.trl}"

    def validate_fix(self, diagnostic, before, after):
        record = _record_at(before.file, diagnostic.span)
        failing = {(a["module"], tuple(a["names"])) for a in before.imports if a.get("status") != "ok"}
        if record is None:
            return None, "the import statement could not be read"
        if after.import_attempt(record) is not None and (record.module, (record.name,)) in failing:
            return False, f"{_spelled(record.module, [record.name])} is still there"
        broken = [a for a in after.imports if a.get("status") != "ok"
                  and (a["module"], tuple(a["names"])) not in failing]
        if broken:
            return False, f"{_spelled(broken[0]['module'], broken[0]['names'])} gives {broken[0]['detail']}"
        return True, "the fixed imports are clean"

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

    @staticmethod
    def _fix(statement, plans):
        moving = [(record, problem, home) for record, problem, home in plans if problem is not None]
        if not moving or any(home is None for _r, _p, home in moving) or any(r.name in ("", "*") for r, _p, _h in plans):
            return None
        staying = [record for record, problem, _home in plans if problem is None]
        lines = []
        if staying:
            lines.append(f"from {staying[0].module} import " + ", ".join(_spell(r.name, r.alias) for r in staying))
        homes: dict = {}
        for record, problem, home in moving:
            local = record.alias or record.name
            homes.setdefault(home, []).append(_spell(problem[2], local if local != problem[2] else ""))
        lines.extend(f"from {home} import {', '.join(names)}" for home, names in homes.items())
        indent = " " * (statement.column - 1)
        moved = ", ".join(sorted({home for _r, _p, home in moving}))
        return replace_fix(f"Import from `{moved}`", [(statement, ("\n" + indent).join(lines))])


def _spell(name: str, alias: str) -> str:
    return f"{name} as {alias}" if alias and alias != name else name


def _record_at(file_setup, span):
    return next((r for r in file_setup.imports if r.span == span and r.name not in ("", "*")), None)


def _spelled(module: str, names) -> str:
    return f"`from {module} import {', '.join(names)}`" if names else f"`import {module}`"
