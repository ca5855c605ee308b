"""What `ppodoctor migrate` prints besides the diff: per file, what changed in meaning, what was left to
the user, the probe's verdict on each new call and whether the file was written."""

from __future__ import annotations

from typing import Sequence

from .model import FileMigration, NoteKind


def render(migrations: Sequence[FileMigration], write: bool, probed: bool) -> list[str]:
    """Lines for stderr (stdout carries the diffs alone, so that they can be piped to `git apply`)."""
    out: list[str] = []
    err = out
    for migration in migrations:
        if migration.error:
            err.append(f"{migration.path}: error: {migration.error}")
            continue
        if migration.declined:
            err.append(f"{migration.path}: not ported: {migration.declined}")
            continue
        if not migration.changed:
            continue
        target = next((p.target for p in migration.ports), "")
        out.append(f"{migration.path}: what changes in meaning ({target.upper()} instead of PPO):")
        out.extend(f"  - {note.text}" for note in migration.notes if note.kind is NoteKind.MEANING)
        left = [note for note in migration.notes if note.kind is NoteKind.UNPORTED]
        if left:
            out.append(f"{migration.path}: left to you:")
            out.extend(f"  - {note.text}" for note in left)
        for finding in migration.remaining:
            err.append(f"{migration.path}:{finding.span.line}:{finding.span.column}: {finding.code} on the ported "
                       f"text: {finding.message}")
        for index, check in enumerate(migration.probe):
            err.append(f"{migration.path}: new trainer call {index + 1}: probe {check.status}: {check.detail}")
        if migration.probe_reason:
            err.append(f"{migration.path}: probe: unchecked: {migration.probe_reason}")
        if write:
            if migration.written:
                err.append(f"{migration.path}: ported" + (" (confirmed by the probe)" if probed else
                                                          " (not confirmed: --no-probe)"))
            else:
                err.append(f"{migration.path}: not written: {migration.not_written}")
    return out
