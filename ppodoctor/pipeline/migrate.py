"""The migrate stage: migrate_source / migrate_paths, what `ppodoctor migrate` and other tools call.

Nothing is written unless asked (`write=True`), and then only with the guarantees of `fix --write`:
the new text parses, encodes in the file's encoding (BOM and line endings kept), replaces a file that
still holds the bytes that were read, atomically (files.write_atomic); and the probe (probe.py) has
confirmed every new trainer call in the interpreter that will run it, unless `probe=False`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, Union

from .. import files
from ..config import Settings
from ..core import check_source, parse_screened
from ..screening import screen
from .engine import parses
from ..unbound import why_unbound
from ..fixes.edits import apply
from ..migrate import mapping
from ..migrate.layout import relayout
from ..migrate.model import FileMigration
from ..migrate.probe import probe_migrations
from ..migrate.rewrite import rewrite_file
from ..trl_api import table
from ..textdiff import file_diff
from ..trl_api.eras import Target, Version
from ..types import CONFIRMED, ERROR, Declined, ExitStatus, Screen, exit_status


def default_version() -> Version:
    return Version.parse(mapping.NEWEST_MEASURED)


def migrate_source(source: Union[str, bytes], filename: str = "<stdin>", target: str = mapping.RLOO,
                   version: Optional[Version] = None, pinned: Optional[Version] = None,
                   strict: bool = False) -> FileMigration:
    """Port one source text in memory; nothing is written. `strict`: the user named this file (see
    screening.py).

    `version`: the TRL the ported script will run on (default: the newest measured, 1.16.0); `pinned`:
    the PPO release the script was written for, when known (its defaults are then carried exactly).
    """
    version = version or default_version()
    trainer = mapping.TRAINERS[target][0]
    if table.successor(trainer, version) is None:
        first = table.first_successor_version(trainer)
        return FileMigration(filename, error=f"trl {version} has no {trainer} that takes `reward_funcs` "
                                             f"(it has since {first})")
    screened = screen(source, filename, strict)
    if screened.screen == Screen.ERROR:
        return FileMigration(filename, error=screened.error)
    if screened.screen == Screen.UNREAD:
        return FileMigration(filename)
    decoded = screened.source
    try:
        file_setup = parse_screened(screened)
    except files.SourceError as error:
        return FileMigration(filename, decoded, error=str(error))
    if not file_setup.setups:
        return FileMigration(filename, decoded, decoded.text)
    try:
        edits, ports = rewrite_file(decoded.text, decoded.newline, file_setup, target, version, pinned)
    except Declined as error:
        return FileMigration(filename, decoded, decoded.text, declined=str(error))
    declined = [port for port in ports if port.declined]
    if declined:
        return FileMigration(filename, decoded, decoded.text, ports,
                             declined="; ".join(f"trainer call {port.index + 1}: {port.declined}" for port in declined))
    text = apply(decoded.text, edits)
    if parses(text, True, filename):
        text = relayout(text, decoded.newline)
    if not parses(text, True, filename):
        return FileMigration(filename, decoded, decoded.text, ports,
                             declined="the ported code would not parse (e.g. a block left empty); nothing is changed")
    unbound = why_unbound(decoded.text, text, decoded.is_notebook)
    if unbound:
        return FileMigration(filename, decoded, decoded.text, ports,
                             declined=f"the ported code {unbound}; nothing is changed")
    try:
        files.encode(decoded, text)
    except UnicodeEncodeError as error:
        return FileMigration(filename, decoded, error=f"the ported text cannot be written as {decoded.encoding}: "
                                                      f"{error.reason}")
    return FileMigration(filename, decoded, text, ports)


def diff(migration: FileMigration) -> str:
    if not migration.changed:
        return ""
    return file_diff(migration.path, migration.original.text, migration.text)


def remaining_errors(migration: FileMigration, version: Version) -> tuple:
    """`check --trl-version VERSION` on the ported text: its error-level findings."""
    report = check_source(migration.text, migration.path, Settings(), Target(version, "--trl-version"))
    return tuple(d for d in report.diagnostics if d.severity == ERROR)


def migrate_paths(paths: Iterable[Path], target: str = mapping.RLOO, version: Optional[Version] = None,
                  pinned: Optional[Version] = None, write: bool = False, probe: bool = True,
                  probe_options: Any = None, excluded=None) -> tuple[FileMigration, ...]:
    """Port files; with `write`, replace each ported one atomically once the probe confirms it.

    Every file's probe runs in one worker (one interpreter start for the whole set).
    """
    version = version or default_version()
    results: list[FileMigration] = []
    paths = list(paths)
    named = files.named_files(paths)
    for path, problem in files.discover(paths, excluded):
        if problem is not None:
            results.append(FileMigration(str(path), error=problem))
            continue
        try:
            data = files.read_bytes(path)
        except files.SourceError as error:
            results.append(FileMigration(str(path), error=str(error)))
            continue
        migration = migrate_source(data, str(path), target, version, pinned, strict=str(path) in named)
        if migration.changed and not migration.error and not migration.declined:
            migration = dataclasses.replace(migration, remaining=remaining_errors(migration, version))
        results.append(migration)
    if not write:
        return tuple(results)
    ready = [m for m in results if m.changed and not m.error]
    if probe and ready:
        checked = dict(zip((m.path for m in ready), probe_migrations(ready, probe_options)))
        results = [checked.get(m.path, m) if m.changed and not m.error else m for m in results]
    return tuple(_write(m, probe) if m.changed and not m.error else m for m in results)


def _write(migration: FileMigration, probed: bool) -> FileMigration:
    if migration.remaining:
        first = migration.remaining[0]
        return dataclasses.replace(migration, not_written=f"`check` still finds {first.code} on the ported text: "
                                                          f"{first.message}")
    if probed:
        doubtful = [check for check in migration.probe if check.status != CONFIRMED]
        if migration.probe_reason or not migration.probe or doubtful:
            why = migration.probe_reason or "; ".join(f"{c.status}: {c.detail}" for c in doubtful) or \
                "the probe found no new trainer call"
            return dataclasses.replace(migration, not_written=f"not confirmed by the runtime probe ({why}); "
                                                              "rerun with --no-probe to write it unconfirmed")
    try:
        files.write_atomic(Path(migration.path), files.encode(migration.original, migration.text),
                           expected=migration.original.raw)
    except files.SourceError as error:
        return dataclasses.replace(migration, error=str(error))
    except OSError as error:
        return dataclasses.replace(migration, error=f"cannot write: {error.strerror or error}")
    return dataclasses.replace(migration, written=True)


def statuses(migrations: Sequence[FileMigration]) -> ExitStatus:
    """ERROR for a file that could not be read or ported, FINDINGS while a port is left unwritten."""
    return exit_status(errors=any(m.error for m in migrations),
                       left=any(m.declined or (m.changed and not m.written) for m in migrations))
