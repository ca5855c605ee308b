"""The `ppodoctor` command: options in, library call, exit code out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from . import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split_codes(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


def _settings(paths: tuple[str, ...], config: Optional[str], **overrides):
    from .config import ConfigError, load_settings, merge

    start = Path(paths[0]) if paths and paths[0] != "-" else Path.cwd()
    try:
        settings = load_settings(start if start.exists() else Path.cwd(), Path(config) if config else None)
    except ConfigError as error:
        raise click.UsageError(str(error))
    return merge(settings, **overrides)


def _validate_codes(codes: tuple[str, ...], option: str) -> None:
    from .rules import all_rules

    known = [rule.code for rule in all_rules()]
    for code in codes:
        if code != "ALL" and not any(k.startswith(code) for k in known):
            raise click.BadParameter(f"no rule matches {code!r}", param_hint=option)


_select = click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated).")
_ignore = click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable (comma-separated).")
_trl = click.option("--trl-version", default=None, help="The TRL version the scripts will run with.")
_config = click.option("--config", default=None, type=click.Path(dir_okay=False),
                       help="A pyproject.toml to read [tool.ppodoctor] from.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ppodoctor")
def main() -> None:
    """A doctor for TRL PPOTrainer setups: finds broken wiring before anything runs."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_select
@_ignore
@_trl
@_config
@click.option("--output-format", type=click.Choice(["text", "concise", "json"]), default="text",
              show_default=True)
@click.option("--exclude", multiple=True, help="Glob patterns of paths to skip.")
@click.option("--stdin-filename", default=None, help="The name to report for source read from stdin (`-`).")
def check(paths, select, ignore, trl_version, config, output_format, exclude, stdin_filename) -> None:
    """Check PPO training scripts (files or directories) for broken PPOTrainer wiring."""
    from . import api
    from .report import render

    paths = paths or (".",)
    select, ignore = _split_codes(select), _split_codes(ignore)
    _validate_codes(select, "--select")
    _validate_codes(ignore, "--ignore")
    settings = _settings(paths, config, select=select, ignore=ignore, trl_version=trl_version,
                         exclude=tuple(exclude))
    try:
        from .trl_api.eras import Version

        if settings.trl_version:
            Version.parse(settings.trl_version)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--trl-version")
    reports = []
    file_paths = []
    for path in paths:
        if path == "-":
            reports.append(api.check_source(sys.stdin.buffer.read(), stdin_filename or "<stdin>", settings))
        else:
            file_paths.append(Path(path))
    report = api.check_paths(file_paths, settings)
    report = api.CheckReport(tuple(reports) + report.files)
    click.echo(render(report, output_format), nl=False)
    sys.exit(report.exit_code)


@main.command()
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules(output_format) -> None:
    """List the rules."""
    import json

    from .rules import all_rules

    if output_format == "json":
        click.echo(json.dumps([{"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary,
                                "fixable": r.fixable} for r in all_rules()], indent=2))
        return
    for rule in all_rules():
        fix = "[*]" if rule.fixable else "   "
        click.echo(f"{rule.code} {fix} {rule.name:<30} {rule.severity:<8} {rule.summary}")


@main.command()
@click.argument("rule")
def explain(rule) -> None:
    """Explain a rule, by code (PPD101) or name (value-model-missing)."""
    from .rules import find_rule

    found = find_rule(rule)
    if found is None:
        raise click.UsageError(f"no rule named {rule!r}; `ppodoctor rules` lists them")
    click.echo(f"# {found.code} {found.name} ({found.severity})\n")
    click.echo(found.documentation() + "\n")
    for title, which in (("Fires on", "invalid"), ("Does not fire on", "valid")):
        for example in found.examples(which):
            click.echo(f"## {title} (trl {example.trl_version}):\n")
            click.echo("```python\n" + example.code.rstrip() + "\n```\n")


if __name__ == "__main__":
    main()
