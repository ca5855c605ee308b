"""textDocument/codeAction: a quick fix per fixable finding, and `source.fixAll.ppodoctor`.

Both are the edits `ppodoctor fix` would write: a quick fix is pipeline.engine.preview_plan (that one
finding's fix, exactly as `check` previews it, in the script or in the project module where its cause
is written), the fix-all is pipeline.fix.fix_source (every
fix, applied in rounds to a fixed point). Each becomes a few small edits (changes.py). Unsafe fixes
are offered only with the `unsafeFixes` setting, and say "(unsafe)" in their title, as ruff's do.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

from lsprotocol import types

from ..fixes import edits as edit_ops
from ..pipeline.engine import preview_plan
from ..pipeline.fix import fix_source
from ..types import Applicability
from .changes import Change, changes
from .lint import SOURCE, Finding, Linted, fix_title, is_safe
from .options import ServerOptions
from .positions import Lines

FIX_ALL = "source.fixAll.ppodoctor"
KINDS = (types.CodeActionKind.QuickFix, FIX_ALL)


def wanted(kind: str, only: Optional[Sequence[str]]) -> bool:
    """Whether the client asked for actions of this kind: `only` names kinds or their parents."""
    if not only:
        return True
    return any(kind == asked or kind.startswith(f"{asked}.") for asked in only)


def code_actions(linted: Linted, request: types.Range, only: Optional[Sequence[str]], options: ServerOptions,
                 encoding: str, versioned: bool) -> list[types.CodeAction]:
    lines = Lines(linted.text, encoding)
    actions = []
    if wanted(types.CodeActionKind.QuickFix, only):
        for finding in linted.findings:
            if finding.diagnostic.fix is None or not _overlaps(finding.lsp.range, request):
                continue
            if not is_safe(finding.diagnostic) and not options.unsafe_fixes:
                continue
            action = _quick_fix(linted, finding, lines, versioned)
            if action is not None:
                actions.append(action)
    if wanted(FIX_ALL, only):
        action = fix_all(linted, options, lines, versioned)
        if action is not None:
            actions.append(action)
    return actions


def _before(a: types.Position, b: types.Position) -> bool:
    return (a.line, a.character) < (b.line, b.character)


def _overlaps(found: types.Range, request: types.Range) -> bool:
    """Touching counts: a cursor at either end of a finding's range is on it."""
    return not _before(found.end, request.start) and not _before(request.end, found.start)


def _quick_fix(linted: Linted, finding: Finding, lines: Lines, versioned: bool) -> Optional[types.CodeAction]:
    if linted.report.setup is None:
        return None
    if finding.diagnostic.fix.applicability == Applicability.DISPLAY_ONLY:
        return None  # advice: the message says what to decide; nothing to apply
    found = preview_plan(linted.body, linted.report.setup, finding.diagnostic, linted.report.target,
                         filename=linted.report.path)
    if found is None:
        return None  # the fix declines here (`check` shows no preview either)
    plan, old = found
    fixed = edit_ops.apply(old, plan.edits)
    if fixed == old:
        return None
    safe = is_safe(finding.diagnostic)
    where = f" in {os.path.basename(plan.file)}" if plan.file else ""
    title = f"{SOURCE} ({finding.lsp.code}): {fix_title(finding.diagnostic)}{where}" + ("" if safe else " (unsafe)")
    if plan.file:
        edit = _edit_of_files(((plan.file, old, fixed),), lines.encoding, versioned)
    else:
        edit = _workspace_edit(linted, changes(linted.body, fixed), lines, versioned)
    return types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[finding.lsp],
                            is_preferred=safe, edit=edit)


def fix_all(linted: Linted, options: ServerOptions, lines: Lines, versioned: bool) -> Optional[types.CodeAction]:
    """Every fix `ppodoctor fix` applies to this text (with --unsafe-fixes when the setting is on), in
    the project modules too where a cause is written there.

    Editors ask for code actions whenever the cursor moves: the fixed text is computed once per
    checked text."""
    if not any(f.diagnostic.fix is not None for f in linted.findings):
        return None
    key = ("fix-all", options.unsafe_fixes)
    if key not in linted.cache:
        linted.cache[key] = fix_source(linted.text, linted.report.path, linted.context.settings,
                                       linted.context.target, unsafe=options.unsafe_fixes)
    result = linted.cache[key]
    if result.error or not result.changed:
        return None
    count = len(result.applied)
    title = f"{SOURCE}: Fix all auto-fixable problems ({count} fix{'es' * (count != 1)})"
    edit = _workspace_edit(linted, changes(result.original.text, result.text), lines, versioned)
    others = _edit_of_files(tuple((o.path, o.original.text, o.text) for o in result.others if o.changed),
                            lines.encoding, versioned)
    if versioned:
        edit.document_changes = list(edit.document_changes or ()) + list(others.document_changes or ())
    else:
        edit.changes = {**(edit.changes or {}), **(others.changes or {})}
    return types.CodeAction(title=title, kind=FIX_ALL, edit=edit)


def _text_edits(found: list[Change], lines: Lines, shift: int = 0) -> list[types.TextEdit]:
    edits = []
    for change in found:
        (line, character) = lines.position(change.start + shift)
        (end_line, end_character) = lines.position(change.end + shift)
        edits.append(types.TextEdit(types.Range(types.Position(line, character),
                                                types.Position(end_line, end_character)), change.text))
    return edits


def _workspace_edit(linted: Linted, found: list[Change], lines: Lines, versioned: bool) -> types.WorkspaceEdit:
    edits = _text_edits(found, lines, linted.shift)
    if versioned:
        document = types.OptionalVersionedTextDocumentIdentifier(uri=linted.uri, version=linted.version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=document, edits=edits)])
    return types.WorkspaceEdit(changes={linted.uri: edits})


def _edit_of_files(texts: tuple[tuple[str, str, str], ...], encoding: str, versioned: bool) -> types.WorkspaceEdit:
    """Edits of other files (path, old text as read from disk, new text): the project modules a fix
    edits where a cause is written. Their version is not known to the server (null: as on disk)."""
    by_uri = {Path(os.path.abspath(path)).as_uri(): _text_edits(changes(old, new), Lines(old, encoding))
              for path, old, new in texts}
    if versioned:
        return types.WorkspaceEdit(document_changes=[
            types.TextDocumentEdit(text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                                   edits=edits) for uri, edits in by_uri.items()])
    return types.WorkspaceEdit(changes=by_uri)
