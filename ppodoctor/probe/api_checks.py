"""Confirms the era rules' "replace" fixes against the interpreter's own TRL and transformers.

The rules (PPD201/202/205/207/208) reason from ppodoctor's table for the target version; here the
verdict comes only from what the worker read in the interpreter that will run the script
(worker_api.py): PPOTrainer.__init__'s parameters, PPOConfig's fields, import attempts, transformers'
version. The old spelling must be what that interpreter rejects, and the fixed one what it accepts.
What the finding's fix changes is read from the setup model (`before`) and the fix's own edits.
"""

from __future__ import annotations

import ast
import textwrap
from typing import Optional, Sequence

from ..rules.base import Diagnostic
from ..setup.model import CONFIG, FileSetup, PPOSetup

CODES = frozenset({"PPD201", "PPD202", "PPD205", "PPD207", "PPD208"})
Verdict = tuple[str, str]  # (status, detail), statuses as in probe/__init__.py


def _edits(diagnostic: Diagnostic) -> tuple:
    fix = diagnostic.fix
    return tuple(fix.param("edits", ()) or ()) if fix is not None and fix.kind == "replace" else ()


def _setup(file_setup: FileSetup, diagnostic: Diagnostic) -> Optional[PPOSetup]:
    index = diagnostic.setup_index
    return file_setup.setups[index] if index is not None and 0 <= index < len(file_setup.setups) else None


def _new_imports(diagnostic: Diagnostic) -> list[tuple[str, list[str]]]:
    """The `from M import a, b` statements a PPD202 fix writes (read from its replacement text)."""
    found = []
    for edit in _edits(diagnostic):
        text = edit[4]
        try:
            tree = ast.parse(textwrap.dedent(text.strip("\r\n")) if text[:1].isspace() else text.strip())
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.append((node.module, [alias.name for alias in node.names]))
    return found


def _old_import(before: FileSetup, diagnostic: Diagnostic):
    return next((r for r in before.imports if r.span == diagnostic.span and r.name not in ("", "*")), None)


def import_questions(before: FileSetup, diagnostics: Sequence[Diagnostic]) -> list[tuple[str, list[str]]]:
    """The import attempts the worker must make for these findings: old paths first."""
    old, new = [], []
    for diagnostic in diagnostics:
        if diagnostic.code != "PPD202":
            continue
        record = _old_import(before, diagnostic)
        if record is not None:
            old.append((record.module, [record.name]))
        new.extend(_new_imports(diagnostic))
    questions = []
    for question in old + new:
        if question not in questions:
            questions.append(question)
    return questions


def verdict(diagnostic: Diagnostic, before: FileSetup, api: Optional[dict], reason: str = "") -> Verdict:
    """(status, detail) for an era rule's fix, from the interpreter's facts `api`."""
    if not api:
        return "unchecked", reason or "the probe read nothing about this interpreter's API"
    if diagnostic.code == "PPD207":
        return _dtype(api)
    if api.get("trl_error") or not api.get("trl"):
        return "unchecked", f"this interpreter cannot import trl: {api.get('trl_error') or 'no version'}"
    if not _edits(diagnostic):
        return "unchecked", "the finding has no text edits to check"
    check = {"PPD201": _renamed_keyword, "PPD202": _import_path, "PPD205": _config_field,
             "PPD208": _positional}[diagnostic.code]
    return check(diagnostic, before, api)


def reproduction(diagnostic: Diagnostic, before: FileSetup, api: Optional[dict], reason: str = "") -> Verdict:
    """For `check --probe`: does the finding itself reproduce in this interpreter (fix or not)?"""
    if diagnostic.code == "PPD202" and not _edits(diagnostic) and api and api.get("trl"):
        return _old_import_only(diagnostic, before, api)
    status, detail = verdict(diagnostic, before, api, reason)
    if status == "confirmed":
        return "confirmed", f"reproduced: {detail}"
    if status == "refuted" and detail.startswith("the fix does not cure it: "):
        return "confirmed", f"reproduced, but its fix would not help: {detail[len('the fix does not cure it: '):]}"
    if status == "refuted":
        return "refuted", detail.replace("the finding does not reproduce: ", "does not reproduce: ", 1)
    return status, detail


def _parameters(api: dict) -> tuple[Optional[dict], str]:
    trainer = api.get("trainer") or {}
    if trainer.get("error") or "parameters" not in trainer:
        return None, trainer.get("error") or "the trainer's signature was not read"
    return trainer, ""


def _accepts(trainer: dict, name: str) -> bool:
    kinds = dict(trainer["parameters"])
    return kinds.get(name) in ("POSITIONAL_OR_KEYWORD", "KEYWORD_ONLY") or "VAR_KEYWORD" in kinds.values()


def _renamed_keyword(diagnostic: Diagnostic, before: FileSetup, api: dict) -> Verdict:
    trainer, why = _parameters(api)
    setup = _setup(before, diagnostic)
    argument = next((a for a in setup.arguments if a.span == diagnostic.span), None) if setup else None
    if trainer is None or argument is None or not argument.keyword:
        return "unchecked", why or "the renamed keyword is not in the call as parsed"
    old, new = argument.keyword, _edits(diagnostic)[0][4]
    where = f"{trainer['module']}.PPOTrainer.__init__ (trl {api['trl']})"
    if _accepts(trainer, old):
        return "refuted", f"the finding does not reproduce: {where} accepts `{old}=`"
    if not _accepts(trainer, new):
        return "refuted", f"the fix does not cure it: {where} rejects `{new}=` too"
    return "confirmed", f"{where} rejects `{old}=` and accepts `{new}=`"


def _positional(diagnostic: Diagnostic, before: FileSetup, api: dict) -> Verdict:
    trainer, why = _parameters(api)
    setup = _setup(before, diagnostic)
    if trainer is None or setup is None:
        return "unchecked", why or "the finding is not tied to a trainer call"
    by_start = {(a.value_span.line, a.value_span.column): a for a in setup.arguments if a.keyword is None}
    names = [name for name, kind in trainer["parameters"] if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD")]
    where = f"{trainer['module']}.PPOTrainer.__init__ (trl {api['trl']})"
    moved, rejected = [], []
    for line, column, _end_line, _end_column, text in _edits(diagnostic):
        argument, keyword = by_start.get((line, column)), text.rstrip().rstrip("=").strip()
        if argument is None or argument.position is None or not keyword.isidentifier():
            return "unchecked", "the fix's keywords do not line up with the call's positional arguments"
        slot = names[argument.position] if argument.position < len(names) else None
        if slot != keyword:
            moved.append(f"position {argument.position} is `{slot}`, not `{keyword}`" if slot else
                         f"position {argument.position} is past its last parameter, not `{keyword}`")
        if not _accepts(trainer, keyword):
            rejected.append(keyword)
    if not moved:
        return "refuted", f"the finding does not reproduce: in {where} every positional lands where it is meant"
    if rejected:
        return "refuted", f"the fix does not cure it: {where} rejects " + ", ".join(f"`{k}=`" for k in rejected)
    return "confirmed", f"in {where} {moved[0]}; it accepts the keywords the fix passes"


def _config_field(diagnostic: Diagnostic, before: FileSetup, api: dict) -> Verdict:
    config = api.get("config") or {}
    setup = _setup(before, diagnostic)
    binding = setup.role(CONFIG) if setup else None
    keyword = next((k for k in binding.origin.keywords if k.span == diagnostic.span), None) if binding else None
    if config.get("error") or "fields" not in config or keyword is None:
        return "unchecked", config.get("error") or "the renamed field is not in the config call as parsed"
    old, new, fields = keyword.name, _edits(diagnostic)[0][4], set(config["fields"])
    where = f"{config['module']}.PPOConfig (trl {api['trl']})"
    if old in fields:
        return "refuted", f"the finding does not reproduce: {where} has a field `{old}`"
    if new not in fields:
        return "refuted", f"the fix does not cure it: {where} has no field `{new}` either"
    return "confirmed", f"{where} has no field `{old}` and has `{new}`"


def _import_path(diagnostic: Diagnostic, before: FileSetup, api: dict) -> Verdict:
    attempts = {(a["module"], tuple(a["names"])): a for a in api.get("imports") or ()}
    record = _old_import(before, diagnostic)
    new = _new_imports(diagnostic)
    if record is None or not new:
        return "unchecked", "the import statement and its fix could not be read"
    old = attempts.get((record.module, (record.name,)))
    fixed = [attempts.get((module, tuple(names))) for module, names in new]
    if old is None or any(a is None for a in fixed):
        return "unchecked", "the probe did not try these imports"
    spelled = f"`from {record.module} import {record.name}`"
    if old["status"] == "ok":
        return "refuted", f"the finding does not reproduce: {spelled} imports cleanly in trl {api['trl']}"
    broken = next((a for a in fixed if a["status"] != "ok"), None)
    if broken is not None:
        return "refuted", (f"the fix does not cure it: `from {broken['module']} import {', '.join(broken['names'])}` "
                           f"gives {broken['detail']}")
    return "confirmed", f"{spelled} gives {old['detail']} in trl {api['trl']}; the fixed imports are clean"


def _old_import_only(diagnostic: Diagnostic, before: FileSetup, api: dict) -> Verdict:
    record = _old_import(before, diagnostic)
    attempt = next((a for a in api.get("imports") or () if record is not None
                    and (a["module"], a["names"]) == (record.module, [record.name])), None)
    if attempt is None:
        return "unchecked", "the probe did not try this import"
    spelled = f"`from {record.module} import {record.name}`"
    if attempt["status"] == "ok":
        return "refuted", f"does not reproduce: {spelled} imports cleanly in trl {api['trl']}"
    return "confirmed", f"reproduced: {spelled} gives {attempt['detail']} in trl {api['trl']}"


def _dtype(api: dict) -> Verdict:
    version = api.get("transformers")
    if not version:
        return "unchecked", f"this interpreter cannot import transformers: {api.get('transformers_error') or '?'}"
    major = version.split(".")[0]
    if not major.isdigit():
        return "unchecked", f"cannot read transformers' version {version!r}"
    if int(major) < 5:
        return "refuted", f"the finding does not reproduce: transformers {version} takes `torch_dtype=`"
    return "confirmed", f"transformers {version} deprecates `torch_dtype=` for `dtype=`"
