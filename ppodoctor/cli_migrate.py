"""The `migrate` command's body: options → migrate_paths → diffs on stdout, the report on stderr."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Optional

import click

from .trl_api import table
from .trl_api.eras import Version
from .migrate import mapping


def _version(text: Optional[str], option: str) -> Optional[Version]:
    if not text:
        return None
    try:
        return Version.parse(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=option)


def target_version(given: Optional[Version], python: str, trainer: str) -> Version:
    """--trl-version, else the TRL in the target interpreter when it has the trainer, else the newest measured."""
    if given is not None:
        return given
    # the era table loads only for what needs it: kept off `check`'s start-up
    from .trl_api.target import installed_versions

    installed = installed_versions(python).get("trl")
    if installed:
        version = Version.parse(installed)
        if table.successor(trainer, version) is not None:
            return version
    return Version.parse(mapping.NEWEST_MEASURED)


def run_migrate(paths, target: str, write: bool, use_probe: bool, trl_version: Optional[str],
                from_trl_version: Optional[str], exclude, probe_options) -> int:
    # each command imports only what it runs (cold start)
    from .pipeline.migrate import diff, migrate_paths, statuses
    from .migrate.report import render

    version = target_version(_version(trl_version, "--trl-version"), probe_options.python,
                             mapping.TRAINERS[target][0])
    pinned = _version(from_trl_version, "--from-trl-version")
    if pinned is not None and not table.has_ppo(pinned):
        raise click.BadParameter(f"trl {pinned} has no PPOTrainer", param_hint="--from-trl-version")
    patterns = tuple(exclude)

    def excluded(path: Path) -> bool:
        return any(fnmatch.fnmatch(str(path), pattern) or fnmatch.fnmatch(path.name, pattern) for pattern in patterns)

    migrations = migrate_paths([Path(p) for p in paths], target, version, pinned, write=write, probe=use_probe,
                               probe_options=probe_options, excluded=excluded if patterns else None)
    if not write:
        for migration in migrations:
            if migration.changed and not migration.error and not migration.declined:
                click.echo(diff(migration), nl=False)
    for line in render(migrations, write, use_probe):
        click.echo(line, err=True)
    ported = [m for m in migrations if m.changed and not m.error and not m.declined]
    if write:
        written = sum(1 for m in migrations if m.written)
        click.echo(f"Ported {written} of {len(ported)} {'file' if len(ported) == 1 else 'files'} to "
                   f"{mapping.TRAINERS[target][0]} (trl {version}).", err=True)
    elif ported:
        click.echo(f"Would port {len(ported)} {'file' if len(ported) == 1 else 'files'} to "
                   f"{mapping.TRAINERS[target][0]} (trl {version}); run with --write to apply.", err=True)
    elif not any(m.error or m.declined for m in migrations):
        click.echo("Nothing to port: no PPOTrainer call found.", err=True)
    status = statuses(migrations)
    if not write and ported:
        status = max(status, 1)
    return status


