"""Which TRL imports run on the target TRL, and which of their failures reach the user.

An import inside a `try` whose handlers catch import errors, or inside an `if`/`else` on something
the doctor cannot decide, belongs to a group of alternatives: the group works when the branch that
runs on the target works, and only a group in which nothing works is reported, once. An `if` on
the TRL version (setup/guards.py) is decided for the target: the branch not taken never runs.

Each import gets an ImportFate:
  RUNS      runs on the target and works (it may still warn: a deprecated path);
  FAILS     raises on the target and nothing catches it: the one import a rule reports;
  SILENCED  raises, but a fallback covers it, or another import of its group carries the finding;
  DEAD      never runs on the target (a version branch not taken, a handler that is not needed).
"""

from __future__ import annotations

import enum
from typing import Callable, Optional, Sequence

from ..setup.model import ImportGuard, ImportRecord
from ..trl_api import table
from ..trl_api.eras import Version
from ..types import GuardKind, Span

MODULE_MISSING = "ModuleNotFoundError"
NAME_MISSING = "ImportError"
_OPERATORS: dict[str, Callable[[tuple, tuple], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


class ImportFate(enum.Enum):
    """What an import does on the target: runs, fails, fails harmlessly inside a shim, or never runs."""

    RUNS = "runs"
    FAILS = "fails"
    SILENCED = "silenced"
    DEAD = "dead"


def failure(record: ImportRecord, version: Version) -> str:
    """What the import raises on `version` by the era table: "" where it works or the table cannot say
    (a module whose names the table does not cover, a name no measured release has)."""
    if not table.covered(record.module):
        return ""
    state = table.module_state(record.module, version)
    if state is False:
        return MODULE_MISSING
    if state and record.name not in ("", "*") and table.name_known(record.module, record.name) \
            and table.name_status(record.module, record.name, version) is None:
        return NAME_MISSING
    return ""


def branch_taken(guard: ImportGuard, version: Version) -> Optional[bool]:
    """Whether the branch of a TRL-version `if` runs on `version`; None where the test is not one."""
    if guard.kind != GuardKind.IF or not guard.compare:
        return None
    literal = tuple(int(part) for part in guard.release.split("."))
    actual = (version.major, version.minor, version.micro)
    if guard.form == "release":  # packaging pads releases with zeros: 0.26 == 0.26.0
        outcomes = {_OPERATORS[guard.compare](actual, literal + (0,) * (3 - len(literal)))}
    else:  # a tuple of the version string's first numbers, at least as many as the literal has:
        # decided only where every such length agrees ((0, 12) > (0, 12) but (0, 12, 2) > (0, 12))
        outcomes = {_OPERATORS[guard.compare](actual[:length], literal) for length in range(len(literal), 4)}
    if len(outcomes) != 1:
        return None
    holds = outcomes.pop()
    return holds if guard.branch == "body" else not holds


def _covers(catches: str, kind: str) -> bool:
    return catches == NAME_MISSING or (catches == MODULE_MISSING and kind == MODULE_MISSING)


class _Groups:
    def __init__(self, records: Sequence[ImportRecord], version: Version) -> None:
        self.version = version
        self.failures = [failure(record, version) for record in records]
        self.records = records
        self.dead = [any(branch_taken(g, version) is False for g in record.guards) for record in records]
        # Undecided ifs count as a group only where imports sit in more than one of their branches.
        branches: dict[Span, set[str]] = {}
        for record, dead in zip(records, self.dead):
            for guard in record.guards:
                if not dead and guard.kind == GuardKind.IF and branch_taken(guard, version) is None:
                    branches.setdefault(guard.statement, set()).add(guard.branch)
        self.undecided = {statement for statement, seen in branches.items() if len(seen) > 1}
        self.chains = [tuple(g for g in record.guards if self._is_group(g)) for record in records]
        self._ok: dict[Span, bool] = {}

    def _is_group(self, guard: ImportGuard) -> bool:
        if guard.kind == GuardKind.TRY:
            return bool(guard.catches)
        return guard.statement in self.undecided

    def _members(self, statement: Span, branch: Optional[str], depth: int) -> list[int]:
        return [i for i, chain in enumerate(self.chains) if not self.dead[i] and len(chain) > depth
                and chain[depth].statement == statement and (branch is None or chain[depth].branch == branch)]

    def branch_failure(self, statement: Span, branch: str, depth: int) -> str:
        """What the branch raises ("" when it works): its first import that no inner group covers."""
        members = sorted(self._members(statement, branch, depth), key=lambda i: _position(self.records[i]))
        for i in members:
            if self.failures[i] and not any(self.group_ok(depth_, self.chains[i][depth_])
                                            for depth_ in range(depth + 1, len(self.chains[i]))):
                return self.failures[i]
        return ""

    def running_handler(self, statement: Span, depth: int) -> Optional[str]:
        """The handler a failing try body ends in ("" for one without trl imports), None if none catches."""
        kind = self.branch_failure(statement, "try", depth)
        if not kind:
            return None
        guards = {self.chains[i][depth].branch: self.chains[i][depth] for i in self._members(statement, None, depth)}
        handlers = sorted((b for b in guards if b.startswith("except")), key=lambda b: int(b[len("except"):]))
        for branch in handlers:
            if _covers(guards[branch].catches, kind):
                return branch
        body = guards.get("try")
        return "" if body is not None and _covers(body.catches, kind) else None

    def group_ok(self, depth: int, guard: ImportGuard) -> bool:
        cached = self._ok.get(guard.statement)
        if cached is None:
            if guard.kind == GuardKind.TRY:
                if not self.branch_failure(guard.statement, "try", depth):
                    cached = True
                else:
                    handler = self.running_handler(guard.statement, depth)
                    cached = handler == "" or (handler is not None
                                               and not self.branch_failure(guard.statement, handler, depth))
            else:
                cached = any(not self.branch_failure(guard.statement, branch, depth) for branch in ("body", "else")
                             if self._members(guard.statement, branch, depth))
            self._ok[guard.statement] = cached
        return cached

    def handler_skipped(self, i: int) -> bool:
        for depth, guard in enumerate(self.chains[i]):
            if guard.kind == GuardKind.TRY and guard.branch.startswith("except") and \
                    self.running_handler(guard.statement, depth) != guard.branch:
                return True
        return False


def fates(records: Sequence[ImportRecord], version: Version) -> list[ImportFate]:
    """One ImportFate per record, in order (see the module docstring)."""
    groups = _Groups(records, version)
    result: list[Optional[ImportFate]] = [None] * len(records)
    leaders: dict[Span, list[int]] = {}
    for i, record in enumerate(records):
        if groups.dead[i] or groups.handler_skipped(i):
            result[i] = ImportFate.DEAD
        elif not groups.failures[i]:
            result[i] = ImportFate.RUNS
        elif any(groups.group_ok(depth, guard) for depth, guard in enumerate(groups.chains[i])):
            result[i] = ImportFate.SILENCED
        elif not groups.chains[i]:
            result[i] = ImportFate.FAILS
        else:
            leaders.setdefault(groups.chains[i][0].statement, []).append(i)
    for members in leaders.values():
        # The error the user sees is the last branch's: the handler's import, raised while handling.
        chosen = max(members, key=lambda i: (_branch_rank(groups.chains[i][-1]), -_position(records[i])[0],
                                             -_position(records[i])[1]))
        for i in members:
            result[i] = ImportFate.FAILS if i == chosen else ImportFate.SILENCED
    return [verdict or ImportFate.RUNS for verdict in result]


def _position(record: ImportRecord) -> tuple[int, int]:
    return (record.span.line, record.span.column)


def _branch_rank(guard: ImportGuard) -> tuple[int, int]:
    """Source order of branches: a statement's line, then try/body < exceptN/else."""
    if guard.branch.startswith("except"):
        return (guard.statement.line, 1 + int(guard.branch[len("except"):]))
    return (guard.statement.line, 0 if guard.branch in ("try", "body") else 1)


def in_shims(records: Sequence[ImportRecord], version: Version) -> list[bool]:
    """Per record: whether it is one alternative of a shim or a TRL-version branch (never auto-fixed)."""
    groups = _Groups(records, version)
    return [bool(chain) or any(branch_taken(g, version) is not None for g in record.guards)
            for record, chain in zip(records, groups.chains)]


def live(records: Sequence[ImportRecord], version: Version) -> list[ImportRecord]:
    """The imports that run on `version` (working or not): the ones that say what era the code is."""
    return [record for record, verdict in zip(records, fates(records, version)) if verdict is not ImportFate.DEAD]
