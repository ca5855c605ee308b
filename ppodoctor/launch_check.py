"""`check` of a launch: the script a launch starts, checked with the launch's values.

The launch's command line is bound to the script's parser (setup/argv.py: its values enter the
setup model as known values), the rules see the launch itself (world size, precision, DeepSpeed) in
their context, and every finding says which launch it is about: the message names it, and a shell
launcher's line is a related location.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional

from . import files
from .config import Settings
from .core import FileReport, failed, parse_setup, run_rules
from .launch.command import NotALaunch, command_launch, is_python
from .launch.model import Launch
from .launch.shell import ShellError, read_launcher
from .screening import screen
from .setup.argv import ScriptArgv
from .trl_api import table
from .trl_api.config_fields import accepted_config_fields, training_arguments_fields
from .trl_api.eras import Target
from .trl_api.target import resolve_target
from .types import Diagnostic, Related, Screen, Span


def check_launch(launch: Launch, settings: Settings, target: Optional[Target] = None) -> FileReport:
    path = Path(launch.script)
    try:
        data = files.read_bytes(path)
    except files.SourceError as error:
        return failed(launch.script, files.SourceError(f"{error} (started by {launch.describe()})"))
    screened = screen(data, launch.script, named=True)
    if screened.screen == Screen.ERROR:
        return FileReport(launch.script, error=screened.error, error_position=screened.error_position)
    target = target or resolve_target(settings, path)
    directory = str(Path(launch.source.file).parent) if launch.source.file else str(Path.cwd())
    argv = ScriptArgv(launch.script_argv, launch.describe(), ppo_config_fields(target) + group_config_fields(target),
                      directory)
    try:
        setup = parse_setup(screened.text, launch.script, screened=screened.screen == Screen.CHECK, argv=argv)
    except files.SourceError as error:
        return failed(launch.script, error, source=screened.source, target=target)
    found = run_rules(setup, screened.text, target, settings, launch) if screened.screen == Screen.CHECK else ()
    return FileReport(launch.script, tuple(launched(d, launch) for d in found), setup=setup,
                      source=screened.source, target=target, launch=launch)


def launched(diagnostic: Diagnostic, launch: Launch) -> Diagnostic:
    """A finding about the run `launch` starts: its message says so, and a shell launcher's line is
    a related location."""
    related = diagnostic.related
    if launch.source.file:
        line = launch.source.line
        related = related + (Related(Span(line, 1, line, 1, launch.source.file), f"launched here: {launch.source.text}"),)
    message = f"{diagnostic.message} [launch: {launch.source.describe()}]"
    return dataclasses.replace(diagnostic, message=message, related=related)


def ppo_config_fields(target: Target) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
    """PPOConfig's fields in the target release, for binding a command line to a parser built from
    it: TRL's own with their defaults (their types), TrainingArguments' with no type the data gives."""
    if not table.has_ppo(target.version):
        return ()
    names = accepted_config_fields(target.version, target.installed_transformers)
    if names is None:
        return ()
    defaults = table.ppo_config_defaults(target.version)
    fields = tuple((name, defaults.get(name)) for name in sorted(names))
    return (("PPOConfig", fields),)


def group_config_fields(target: Target) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
    """RLOOConfig's and GRPOConfig's fields in the target release, as ppo_config_fields gives PPOConfig's:
    their own with their defaults (a default written as an expression gives no type), and those they
    inherit from TrainingArguments; none where the data does not cover the release."""
    found = []
    for trainer in ("RLOOTrainer", "GRPOTrainer"):
        entry = table.successor(trainer, target.version)
        if entry is None:
            continue
        fields = {name: facts.get("default") for name, facts in entry["config_fields"].items()}
        if entry["config_inherits_training_arguments"]:
            inherited = training_arguments_fields(table.facts(target.version)["requires_transformers"],
                                                  target.installed_transformers)
            if inherited is None:
                continue
            fields = dict(dict.fromkeys(inherited), **fields)
        found.append((entry["config"].rsplit(".", 1)[-1], tuple(sorted(fields.items()))))
    return tuple(found)


LAUNCHERS = ("accelerate", "accelerate-launch", "torchrun", "deepspeed")


def is_launch_command(words) -> bool:
    """Whether `check`'s arguments are a launch command (`ppodoctor check -- accelerate launch ...`)
    rather than paths: they start with a launcher or a Python interpreter that is not a file here."""
    return bool(words) and not Path(words[0]).exists() and (Path(words[0]).name in LAUNCHERS or is_python(words[0]))


def check_launches(paths, settings: Settings) -> tuple[tuple[FileReport, ...], tuple[str, ...]]:
    """The reports of the launches `paths` name (a launch command, or shell launchers `*.sh`), and
    the paths left for the ordinary check."""
    if is_launch_command(paths):
        try:
            return (check_launch(command_launch(list(paths), Path.cwd()), settings),), ()
        except NotALaunch as error:
            return (FileReport(" ".join(paths), error=f"not a launch: {error}"),), ()
    reports, rest = [], []
    for path in paths:
        if not path.endswith(".sh"):
            rest.append(path)
            continue
        try:
            launches = read_launcher(Path(path))
        except (OSError, UnicodeDecodeError, ShellError) as error:
            reports.append(FileReport(path, error=str(error)))
            continue
        if not launches:
            reports.append(FileReport(path, error="no command in it starts a Python training script"))
        reports.extend(check_launch(launch, settings) for launch in launches)
    return tuple(reports), tuple(rest)
