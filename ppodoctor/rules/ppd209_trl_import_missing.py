from __future__ import annotations

from typing import Optional

from ..trl_api import eras, table
from ..trl_api.constants import constant_value
from ..trl_api.eras import Version
from ..types import ERROR, SAFE, UNSAFE, KnownError
from . import fallbacks
from .base import Example, Rule
from .common import ImportAttemptCheck, ReplacementFix, import_rewrite_fix
from .fallbacks import ImportFate

_PPO = "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"


class TrlImportMissing(ImportAttemptCheck, ReplacementFix, Rule):
    """A `trl` import that the target TRL does not have: a chat template, a helper, a whole module.

    Why it breaks: TRL moves and drops more than PPO. `SIMPLE_CHAT_TEMPLATE` left
    `trl.trainer.utils` for `trl.experimental.utils` in 0.27 and was gone by 1.12; `trl.core`
    (`set_seed`, `LengthSampler`, `respond_to_batch`) is absent from 0.25; trainers such as
    `GRPOTrainer` do not exist before 0.14. Python stops at the first such import with
    `ImportError: cannot import name ...` or `ModuleNotFoundError: No module named ...`, often in a
    script whose PPO imports were already migrated. The era table (read from every measured
    release's source) knows each module's names; a name or module it has never seen is not judged,
    and PPO's own names and modules are PPD202's (PPD203's where the target has no PPO).

    An import shim (`try: ... except ImportError: ...`) or a branch on the TRL version is judged by
    the branch that runs on the target: no finding when it works.

    Fix: import the name from the module that has it in the target TRL, or pin a TRL that has it.
    A constant that no module of the target holds (`SIMPLE_CHAT_TEMPLATE` on trl 1.12) is written in
    the script instead of imported: `SIMPLE_CHAT_TEMPLATE = "{% for message in messages %}..."`, the
    value the releases that had it there bound it to (read from their sources, scripts/
    generate_trl_constants.py).
    Fix safety: safe when the name moved unchanged (the target's module holds the same definition,
    byte for byte), or when the constant's value was the same in every release that had it; unsafe
    when that value changed between releases (the newest is written). Otherwise no fix: the finding
    says where a name of that name lives and leaves the choice to you.
    Probe: tries the import in this interpreter; the fixed statement's imports must work.
    """

    code = "PPD209"
    name = "trl-import-missing"
    severity = ERROR
    summary = "a trl name or module (outside PPO's own) that the target TRL does not have"
    fix_title = "import it from the module that holds the same definition in the target TRL, or write the " \
                "constant's value where no module has it"
    probe_check = "the import tried in this interpreter; fixed: the new imports work"
    known_errors = (
        KnownError("trl-import-missing", r"cannot import name '\w+' from 'trl[\w.]*'|No module named '?trl\.[\w.]+",
                   "ImportError: cannot import name 'SIMPLE_CHAT_TEMPLATE' from 'trl.trainer.utils'",
                   "any (names move and go: `SIMPLE_CHAT_TEMPLATE` left `trl.trainer.utils` in 0.27, `trl.core` is "
                   "gone from 0.25)", "import", "the installed TRL does not have this name or module",
                   "import it from where the installed TRL keeps it (`ppodoctor check` names the module), or pin a "
                   "TRL that has it"),
    )
    invalid = (Example(_PPO + "from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE\n", "1.12.0"),
               Example(_PPO + "from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE\n", "0.27.0"),
               Example("from trl import PPOConfig, PPOTrainer\nfrom trl.core import set_seed\n", "0.25.1"),
               Example("from trl import PPOTrainer, GRPOTrainer\n", "0.12.2"))
    valid = (Example("from trl import PPOConfig, PPOTrainer\nfrom trl.trainer.utils import SIMPLE_CHAT_TEMPLATE\n",
                     "0.20.0"),
             Example(_PPO + "try:\n    from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE\n"
                     "except ImportError:\n    SIMPLE_CHAT_TEMPLATE = None\n", "1.12.0"),
             Example(_PPO + "from trl.trainer.utils import a_name_no_release_has\n", "1.12.0"),
             Example(_PPO + "from trl.experimental.gold.gold_trainer import GOLDTrainer\n", "0.20.0"),
             Example("from trl.trainer.utils import SIMPLE_CHAT_TEMPLATE\n", "1.12.0"))

    def check(self, context):
        imports = context.file.imports
        tracked = table.tracked_names()
        # A PPO script, by what setup/relevance.py lets through: a trainer call, a PPO name, PPO's module.
        if not context.file.setups and not any(r.name in tracked or r.module.startswith("trl.experimental.ppo")
                                               for r in imports):
            return
        version = context.target.version
        verdicts = fallbacks.fates(imports, version)
        shimmed = dict(zip(imports, fallbacks.in_shims(imports, version)))
        statements: dict = {}
        for record, verdict in zip(imports, verdicts):
            if verdict is ImportFate.FAILS and not self._ppo_rules_judge(record, context):
                statements.setdefault(record.statement_span, []).append(record)
        for statement, failing in statements.items():
            everyone = [r for r in imports if r.statement_span == statement]
            plans, values, applicability = [], {}, SAFE
            for record in everyone:
                move = self._certain_move(record, version) if record in failing else None
                plans.append((record, (None, None, record.name) if record in failing else None, move))
                inlined = _inlinable(record, version) if record in failing and move is None else None
                if inlined is not None:
                    values[record] = inlined.source
                    applicability = applicability if inlined.unchanged else UNSAFE
            fix = None if any(shimmed[r] for r in everyone) else \
                import_rewrite_fix(statement, plans, values, applicability)
            for record in failing:
                yield self.report(self._message(record, version, values.get(record)), record.span, fix=fix)
                fix = None  # one edit per statement

    @staticmethod
    def _ppo_rules_judge(record, context) -> bool:
        if record.name in ("", "*"):
            return table.is_ppo_module(record.module)  # `import trl.experimental.ppo`: PPD202
        if record.name in table.tracked_names():
            return True
        # Names from PPO's own modules on a TRL without PPO: PPD203 speaks for the whole file.
        return not eras.has_ppo(context.target.era) and record.module.startswith("trl.experimental.ppo")

    @staticmethod
    def _certain_move(record, version: Version) -> Optional[str]:
        moved = table.moved_to(record.module, record.name, version) if record.name not in ("", "*") else None
        return moved[0] if moved is not None and moved[1] else None

    @staticmethod
    def _message(record, version: Version, inlined: Optional[str] = None) -> str:
        spelled = f"`import {record.module}`" if not record.name else f"`from {record.module} import {record.name}`"
        version = table.measured(version)
        if table.module_state(record.module, version) is False:
            when = _when(table.history(record.module), version)
            why = f"the module `{record.module}` {'is gone' if when.startswith('since') else 'does not exist'} {when}"
        else:
            why = f"`{record.module}` has no `{record.name}` {_when(table.history(record.module, record.name), version)}"
        message = f"{spelled} is an ImportError in trl {version}: {why}"
        moved = table.moved_to(record.module, record.name, version) if record.name not in ("", "*") else None
        if moved is not None:
            home, same = moved
            message += (f"; it moved to `{home}`" if same
                        else f"; `{home}` has a `{record.name}` (changed since: check it is the one you want)")
        elif inlined is not None:
            message += f"; no module of trl {version} has it: its value can be written in the script"
        return message


def _inlinable(record, version: Version):
    """The value of a constant the target has nowhere (no module holds a name of that name), as the
    releases that had it at this module bound it; None for anything else."""
    if record.name in ("", "*") or table.moved_to(record.module, record.name, version) is not None \
            or table.home_of(record.name, version) is not None:
        return None
    return constant_value(record.module, record.name)


def _when(history, version: Version) -> str:
    """"since trl B (last in A)" for something removed, "before trl B" for something added later."""
    before = [(known, present) for known, present in history if known <= version]
    last_with = next((known for known, present in reversed(before) if present), None)
    if last_with is not None:
        gone = next(known for known, present in history if known > last_with and not present)
        return f"since trl {gone} (last in {last_with})"
    first_with = next((known for known, present in history if present and known > version), None)
    return f"before trl {first_with}" if first_with is not None else "in any measured release"
