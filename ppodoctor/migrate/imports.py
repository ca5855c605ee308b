"""PPO's trl imports in a ported file: the names nothing uses any more go, `from trl import RLOO...` comes in."""

from __future__ import annotations

import libcst as cst

from ..fixes.source import SourceMap
from ..types import Declined, Edit
from .code import PPO_NAMES, STILL_IN_TRL, used_after
from ..setup.scopes import dotted_name


def import_edits(source: SourceMap, new_names: tuple[str, ...], edits: list[Edit]) -> tuple[Edit, ...]:
    """PPO's trl imports rewritten: names nothing uses any more go, `from trl import RLOO...` comes in."""
    statements = []
    for statement in source.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            module = _import_module(small)
            if module.split(".")[0] == "trl":
                statements.append(statement)
                break
    for name in new_names:
        binding = source.facts.root.bindings.get(name)
        if binding:
            raise Declined(f"`{name}` already means something in this file")
    out: list[Edit] = []
    placed = False
    for statement in statements:
        lines = []
        for small in statement.body:
            lines.append(_kept_import(source, small, edits))
        kept = [line for line in lines if line]
        if not placed and any(_touches_ppo(source, small) for small in statement.body):
            kept.insert(0, f"from trl import {', '.join(new_names)}")
            placed = True
        original = [source.module.code_for_node(small) for small in statement.body]
        if kept == original:
            continue
        indent = source.indentation(statement)
        start, end = source.lines.line_start(source.start(statement)), source.lines.line_end(source.end(statement))
        out.append(Edit(start, end, "".join(f"{indent}{line}{source.newline}" for line in kept)))
    if not placed:
        raise Declined("no trl import to put `from trl import ...` in place of")
    return tuple(out)


def _import_module(small: cst.CSTNode) -> str:
    if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
        return dotted_name(small.module)
    if isinstance(small, cst.Import):
        return dotted_name(small.names[0].name)
    return ""


def _touches_ppo(source: SourceMap, small: cst.CSTNode) -> bool:
    if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
        return any(alias.evaluated_name in PPO_NAMES for alias in small.names)
    module = _import_module(small)
    return module.startswith("trl.experimental.ppo") or module in ("trl.trainer.ppo_trainer", "trl.trainer.ppo_config")


def _kept_import(source: SourceMap, small: cst.CSTNode, edits: list[Edit]) -> str:
    """The import statement with only the names still used, as text ("" when none is)."""
    code = source.module.code_for_node(small)
    if isinstance(small, cst.ImportFrom):
        if isinstance(small.names, cst.ImportStar) or not _touches_ppo(source, small):
            return code
        kept = []
        for alias in small.names:
            bound = alias.evaluated_alias or alias.evaluated_name
            if alias.evaluated_name in PPO_NAMES and not used_after(source, bound, edits):
                continue
            if alias.evaluated_name in PPO_NAMES - STILL_IN_TRL:
                raise Declined(f"`{bound}` is still used after the port (the new TRL has no "
                               f"`{alias.evaluated_name}`)")
            kept.append(source.module.code_for_node(alias.name) +
                        (f" as {alias.evaluated_alias}" if alias.asname else ""))
        if not kept:
            return ""
        return f"from {_import_module(small)} import {', '.join(kept)}"
    if isinstance(small, cst.Import) and _touches_ppo(source, small):
        alias = small.names[0]
        bound = alias.evaluated_alias or alias.evaluated_name.split(".")[0]
        if len(small.names) == 1 and not used_after(source, bound, edits):
            return ""
        raise Declined(f"`{bound}` (PPO's module) is still used after the port")
    return code
