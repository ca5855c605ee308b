"""What the commands share: their options, the settings they make of them, and how they print.

Only click is imported here (cli.py imports this at start-up); the rest is imported by the
functions that need it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from .types import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS  # noqa: F401  (the CLI's names for them)
OUTPUT_FORMATS = ("text", "concise", "json", "json-lines", "sarif", "github", "gitlab", "junit")


def split_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


def validate_codes(codes: tuple[str, ...], option: str) -> None:
    if not codes:
        return  # nothing to validate: the rule modules are loaded only if a file needs them
    from .rules import all_rules

    known = [rule.code for rule in all_rules()]
    for code in codes:
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise click.BadParameter(f"no rule matches {code!r}", param_hint=option)


def load_settings(paths: tuple[str, ...], config: Optional[str], **overrides):
    # each command imports only what it runs (cold start)
    from .config import ConfigError, load_settings as load, merge

    start = Path(paths[0]) if paths and paths[0] != "-" else Path.cwd()
    try:
        settings = load(start if start.exists() else Path.cwd(), Path(config) if config else None)
    except ConfigError as error:
        raise click.UsageError(str(error))
    settings = merge(settings, **overrides)
    validate_trl_version(settings)
    return settings


def validate_trl_version(settings) -> None:
    """A TRL version that is not PEP 440 (`1x`) is a usage error, wherever it was given."""
    if not settings.trl_version:
        return
    # the era table loads only for what needs it: kept off `check`'s start-up
    from .trl_api.eras import InvalidVersion, Version

    try:
        Version.parse(settings.trl_version)
    except InvalidVersion as error:
        if settings.trl_version_source in ("", "--trl-version"):
            raise click.BadParameter(str(error), param_hint="--trl-version")
        raise click.UsageError(f"{settings.trl_version_source}: {error}")


def _per_file(values: tuple[str, ...], option: str):
    # each command imports only what it runs (cold start)
    from .config import parse_per_file_ignores

    try:
        pairs = parse_per_file_ignores(values)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=option)
    for _pattern, codes in pairs:
        validate_codes(codes, option)
    return pairs


def command_settings(paths: tuple[str, ...], config: Optional[str], select=(), extend_select=(), ignore=(),
                     per_file_ignores=(), extend_per_file_ignores=(), trl_version=None, exclude=(),
                     python: Optional[str] = None):
    """The Settings `check` and `fix` share, with their options validated as usage errors."""
    select, extend_select, ignore = split_codes(select), split_codes(extend_select), split_codes(ignore)
    for codes, option in ((select, "--select"), (extend_select, "--extend-select"), (ignore, "--ignore")):
        validate_codes(codes, option)
    return load_settings(paths, config, select=select, extend_select=extend_select, ignore=ignore,
                         per_file_ignores=_per_file(per_file_ignores, "--per-file-ignores"),
                         extend_per_file_ignores=_per_file(extend_per_file_ignores, "--extend-per-file-ignores"),
                         trl_version=trl_version, exclude=tuple(exclude), python=python)


trl_option = click.option("--trl-version", default=None, help="The TRL version the scripts will run with "
                          "(PEP 440: 0.12.2, 1.13.0rc1).")
config_option = click.option("--config", default=None, type=click.Path(dir_okay=False),
                             help="A pyproject.toml to read [tool.ppodoctor] from.")


def rule_options(command):
    """Which rules run where: shared by `check` and `fix`, with ruff's names and meanings."""
    options = [
        click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated); "
                     "replaces the configuration's."),
        click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable in addition to "
                     "those selected."),
        click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable (comma-separated)."),
        click.option("--per-file-ignores", multiple=True, metavar="PATTERN:CODES",
                     help="Codes to ignore in files matching PATTERN (`legacy/*.py:PPD2`); replaces the "
                     "configuration's per-file-ignores."),
        click.option("--extend-per-file-ignores", multiple=True, metavar="PATTERN:CODES",
                     help="Like --per-file-ignores, in addition to the configuration's."),
        trl_option,
        config_option,
        click.option("--exclude", multiple=True, help="Glob patterns of paths to skip."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def probe_options(command):
    """The runtime probe's options, shared by `check --probe`, `probe` and `fix`."""
    options = [
        click.option("--python", "probe_python", default=None, type=click.Path(dir_okay=False),
                     help="The interpreter that will run the scripts: its installed TRL is the target "
                     "and the probe runs in it "
                     "(default: this one)."),
        click.option("--online", is_flag=True, help="Let the probe fetch config and tokenizer files (never "
                     "weights) from the Hugging Face hub; offline by default."),
        click.option("--trust-remote-code", is_flag=True, help="Let the probe run a model's own code when the "
                     "script asks for trust_remote_code=True."),
        click.option("--model-path", "model_paths", multiple=True, metavar="NAME=DIR",
                     help="Read the model NAME (a hub id or the path expression as written) from DIR."),
        click.option("--probe-timeout", default=180.0, show_default=True, type=click.FloatRange(1),
                     help="Seconds before the probe is stopped (its findings then stay unchecked)."),
        click.option("--probe-memory", default=8.0, show_default=True, type=click.FloatRange(0.5),
                     help="GiB of address space the probe may grow by."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def make_probe_options(probe_python, online, trust_remote_code, model_paths, probe_timeout, probe_memory):
    # each command imports only what it runs (cold start)
    from .probe.runner import ProbeOptions, parse_model_path

    try:
        paths = tuple(parse_model_path(text) for text in model_paths)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--model-path")
    return ProbeOptions(python=probe_python or sys.executable, timeout_s=probe_timeout,
                        memory_bytes=int(probe_memory * 2**30), online=online,
                        trust_remote_code=trust_remote_code, model_paths=paths)


def stdout_colour() -> bool:
    # each command imports only what it runs (cold start)
    from .report.terminal import color_enabled

    return color_enabled(sys.stdout)


def stderr_style():
    # each command imports only what it runs (cold start)
    from .report.terminal import color_enabled, styler

    return styler(color_enabled(sys.stderr))


def emit(text: str, output_file: Optional[str], colour: bool = False) -> None:
    if output_file is None:
        # click strips escape codes from non-terminals unless told: FORCE_COLOR must survive a pipe.
        click.echo(text, nl=False, color=colour)
        return
    try:
        Path(output_file).write_text(text, encoding="utf-8")
    except OSError as error:
        click.echo(f"ppodoctor: cannot write {output_file}: {error.strerror or error}", err=True)
        sys.exit(EXIT_ERROR)


def echo_err(lines, colour: bool = False) -> None:
    for line in lines:
        click.echo(line, err=True, color=colour)
