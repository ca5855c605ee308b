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


def _command_settings(paths: tuple[str, ...], config: Optional[str], select: tuple[str, ...],
                      ignore: tuple[str, ...], trl_version: Optional[str], exclude: tuple[str, ...],
                      python: Optional[str]):
    """The Settings `check` and `fix` share, with their options validated as usage errors."""
    select, ignore = _split_codes(select), _split_codes(ignore)
    _validate_codes(select, "--select")
    _validate_codes(ignore, "--ignore")
    settings = _settings(paths, config, select=select, ignore=ignore, trl_version=trl_version,
                         exclude=tuple(exclude), python=python)
    try:
        from .trl_api.eras import Version

        if settings.trl_version:
            Version.parse(settings.trl_version)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--trl-version")
    return settings


def _validate_codes(codes: tuple[str, ...], option: str) -> None:
    if not codes:
        return  # nothing to validate: the rule modules are loaded only if a file needs them
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


OUTPUT_FORMATS = ("text", "concise", "json", "json-lines", "sarif", "github")
_output_format = click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="text",
                              show_default=True, help="text: code frames and fix previews; concise: one line "
                              "each; json/json-lines; sarif (2.1.0); github (Actions annotations).")
_output_file = click.option("--output-file", "-o", default=None, type=click.Path(dir_okay=False),
                            help="Write the report to this file instead of stdout.")


def _stdout_colour() -> bool:
    from .report.terminal import color_enabled

    return color_enabled(sys.stdout)


def _emit(text: str, output_file: Optional[str], colour: bool = False) -> None:
    if output_file is None:
        # click strips escape codes from non-terminals unless told: FORCE_COLOR must survive a pipe.
        click.echo(text, nl=False, color=colour)
        return
    try:
        Path(output_file).write_text(text, encoding="utf-8")
    except OSError as error:
        click.echo(f"ppodoctor: cannot write {output_file}: {error.strerror or error}", err=True)
        sys.exit(EXIT_ERROR)


def _check_with_progress(api, file_paths, settings):
    from .report.terminal import progress_for

    bars = []

    def start(total):
        bar = progress_for(total)
        if bar is None:
            return None
        bars.append(bar)
        return bar.advance

    try:
        return api.check_paths(file_paths, settings, progress=start)
    finally:
        for bar in bars:
            bar.close()


def _probe_options(command):
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


def _make_probe_options(probe_python, online, trust_remote_code, model_paths, probe_timeout, probe_memory):
    from .probe.runner import ProbeOptions, parse_model_path

    try:
        paths = tuple(parse_model_path(text) for text in model_paths)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--model-path")
    return ProbeOptions(python=probe_python or sys.executable, timeout_s=probe_timeout,
                        memory_bytes=int(probe_memory * 2**30), online=online,
                        trust_remote_code=trust_remote_code, model_paths=paths)


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


# A check builds a few hundred thousand short-lived objects (libcst's import and parse) and no
# cycles worth collecting early: fewer collections save ~5 ms of a ~220 ms run. A library caller's
# process is left as it is; only the command sets this.
_GC_THRESHOLDS = (100_000, 50, 100)


class _Group(click.Group):
    def main(self, *args, **kwargs):
        import gc

        gc.set_threshold(*_GC_THRESHOLDS)
        return super().main(*args, **kwargs)

    def invoke(self, ctx):
        # click turns Ctrl-C into "Aborted!" and exit 1; a linter stopped by the user exits 130
        # (scripts and editors can tell it from a finding) and prints no traceback. Cleanup still
        # runs: the KeyboardInterrupt has unwound every `finally` (worker pool, temporary files).
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("ppodoctor: interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ppodoctor")
def main() -> None:
    """A doctor for TRL PPOTrainer setups: finds broken wiring before anything runs."""


@main.command()
# readable=False: an unreadable file is reported on its own line while the rest are checked,
# not refused by click as a usage error that stops the whole run.
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@_select
@_ignore
@_trl
@_config
@_output_format
@_output_file
@click.option("--exclude", multiple=True, help="Glob patterns of paths to skip.")
@click.option("--stdin-filename", default=None, help="The name to report for source read from stdin (`-`).")
@click.option("--probe", is_flag=True, help="Also build the models on the meta device in the scripts' "
              "interpreter: confirm each finding, add runtime findings (PPD501-504) and a memory plan.")
@_probe_options
def check(paths, select, ignore, trl_version, config, output_format, output_file, exclude,
          stdin_filename, probe=False, **probe_settings) -> None:
    """Check PPO training scripts (files or directories) for broken PPOTrainer wiring."""
    from . import api
    from .report import render

    paths = paths or (".",)
    settings = _command_settings(paths, config, select, ignore, trl_version, exclude,
                                 probe_settings.get("probe_python"))
    reports = []
    file_paths = []
    for path in paths:
        if path == "-":
            reports.append(api.check_source(sys.stdin.buffer.read(), stdin_filename or "<stdin>", settings))
        else:
            file_paths.append(Path(path))
    report = _check_with_progress(api, file_paths, settings)
    report = api.CheckReport(tuple(reports) + report.files)
    colour = output_file is None and _stdout_colour()
    text = render(report, output_format, color=colour)
    if probe:
        report = api.probe_report(report, _make_probe_options(**probe_settings), settings)
        text = render(report, output_format, color=colour)
        if output_format == "text":
            from .probe.report import render_probe_text

            text += "\n" + render_probe_text(report)
    _emit(text, output_file, colour)
    sys.exit(report.exit_code)


@main.command()
@click.argument("script", type=click.Path())
@_trl
@_config
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_probe_options
def probe(script, trl_version, config, output_format, **probe_settings) -> None:
    """Build SCRIPT's models on the meta device (no weights) and check them against TRL; print a memory plan."""
    import json

    from . import api
    from .probe.report import probe_json, render_probe_text
    from .report import render

    settings = _settings((script,), config, trl_version=trl_version)
    report = api.check_paths([Path(script)], settings)
    report = api.probe_report(report, _make_probe_options(**probe_settings), settings)
    if output_format == "json":
        from .report.json_format import diagnostic_dict

        click.echo(json.dumps({"diagnostics": [dict(diagnostic_dict(d), probe_detail=d.probe_detail)
                                               for d in report.diagnostics],
                               "probe": probe_json(report)}, indent=2))
    else:
        click.echo(render(report, "text") + "\n" + render_probe_text(report), nl=False)
    sys.exit(report.exit_code)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_select
@_ignore
@_trl
@_config
@click.option("--exclude", multiple=True, help="Glob patterns of paths to skip.")
@click.option("--write", is_flag=True, help="Apply the fixes in place (default: print a diff, write nothing).")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply fixes that change behaviour beyond the crash "
              "(e.g. replace a model).")
@click.option("--probe/--no-probe", "use_probe", default=True, show_default=True,
              help="With --write: write only fixes the runtime probe confirms; --no-probe writes them unconfirmed.")
@_probe_options
def fix(paths, select, ignore, trl_version, config, exclude, write, unsafe_fixes, use_probe,
        **probe_settings) -> None:
    """Fix PPO training scripts: print a diff of every fix, or apply them with --write."""
    from .fixes.api import fix_paths
    from .report.text import location

    paths = paths or (".",)
    settings = _command_settings(paths, config, select, ignore, trl_version, exclude,
                                 probe_settings.get("probe_python"))
    probe_options = _make_probe_options(**probe_settings) if write and use_probe else None
    report = fix_paths([Path(p) for p in paths], settings, unsafe=unsafe_fixes, write=write, probe=use_probe,
                       probe_options=probe_options)
    status = EXIT_CLEAN
    fixed = changed = unsafe_left = 0
    for result in report.files:
        if result.error:
            click.echo(f"{result.path}: error: {result.error}", err=True)
            status = EXIT_ERROR
            continue
        if not write and result.changed:
            click.echo(result.diff(), nl=False)
        for skipped in result.skipped:
            if skipped.reason.startswith("unsafe fix"):
                unsafe_left += 1
            else:
                click.echo(f"{location(skipped.diagnostic)}: {skipped.diagnostic.code} not fixed: {skipped.reason}",
                           err=True)
        # The probe's word on each fix, when it gated the write.
        for outcome in sorted(result.outcomes, key=lambda o: o.diagnostic.sort_key()):
            click.echo(f"{location(outcome.diagnostic)}: {outcome.diagnostic.code} {outcome.text}", err=True)
            if not outcome.fixed:
                status = max(status, EXIT_FINDINGS)
        if result.changed:
            changed += 1
            fixed += len(result.applied)
            if write and not result.written:
                click.echo(f"{result.path}: not written: {result.not_written}", err=True)
                status = max(status, EXIT_FINDINGS)
            elif not write or result.remaining:
                status = max(status, EXIT_FINDINGS)
        elif write and result.remaining:
            status = max(status, EXIT_FINDINGS)
    files_noun = "file" if changed == 1 else "files"
    problems = "problem" if fixed == 1 else "problems"
    if write:
        written = sum(1 for r in report.files if r.written)
        if not use_probe and written:
            click.echo("The fixes were not confirmed by the runtime probe (--no-probe).", err=True)
        click.echo(f"Fixed {sum(len(r.applied) for r in report.files if r.written)} {problems} "
                   f"in {written} {'file' if written == 1 else 'files'}.", err=True)
    elif changed:
        click.echo(f"Would fix {fixed} {problems} in {changed} {files_noun}; run with --write to apply.", err=True)
    else:
        click.echo("Nothing to fix.", err=True)
    if unsafe_left:
        click.echo(f"{unsafe_left} more fix{'es' * (unsafe_left != 1)} available with --unsafe-fixes.", err=True)
    sys.exit(status)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--to", "target", type=click.Choice(["rloo", "grpo"]), required=True,
              help="The trainer to port to: RLOOTrainer (closest to PPO) or GRPOTrainer.")
@click.option("--write", is_flag=True, help="Apply the port in place (default: print a diff, write nothing).")
@click.option("--probe/--no-probe", "use_probe", default=True, show_default=True,
              help="With --write: write only ports the runtime probe confirms; --no-probe writes them unconfirmed.")
@click.option("--trl-version", default=None, help="The TRL the ported scripts will run with (default: the one "
              "installed in --python when it has the trainer, else 1.16.0).")
@click.option("--from-trl-version", default=None, help="The TRL the PPO scripts were written for: its PPOConfig "
              "defaults are kept where the script relies on them (default: told from the script).")
@click.option("--exclude", multiple=True, help="Glob patterns of paths to skip.")
@_probe_options
def migrate(paths, target, write, use_probe, trl_version, from_trl_version, exclude, **probe_settings) -> None:
    """Port PPO training scripts to RLOOTrainer or GRPOTrainer: print a diff, or apply it with --write."""
    from .migrate.cli_support import run_migrate

    sys.exit(run_migrate(paths or (".",), target, write, use_probe, trl_version, from_trl_version, exclude,
                         _make_probe_options(**probe_settings)))


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
@click.option("--json", "as_json", is_flag=True, help="For error messages: the matches as JSON.")
def explain(rule, as_json) -> None:
    """Explain a rule (PPD101, value-model-missing) or a TRL error message / traceback (`-` reads stdin)."""
    import re

    from .rules import find_rule

    found = find_rule(rule) if rule != "-" else None
    if found is None:
        if rule != "-" and re.fullmatch(r"[A-Za-z]+\d+|[a-z0-9]+(-[a-z0-9]+)+", rule.strip()):
            raise click.UsageError(f"no rule named {rule!r}; `ppodoctor rules` lists them")
        _explain_error(sys.stdin.read() if rule == "-" else rule, as_json)
        return
    click.echo(f"# {found.code} {found.name} ({found.severity})\n")
    click.echo(found.documentation() + "\n")
    for title, which in (("Fires on", "invalid"), ("Does not fire on", "valid")):
        for example in found.examples(which):
            click.echo(f"## {title} (trl {example.trl_version}):\n")
            click.echo("```python\n" + example.code.rstrip() + "\n```\n")


@main.command()
@click.option("--python", "python", default=None, type=click.Path(dir_okay=False),
              help="Report on this interpreter (e.g. .venv/bin/python) instead of the one running ppodoctor.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-torch", is_flag=True, help="Do not import torch (skips the CUDA/bf16 part).")
def env(python, as_json, no_torch) -> None:
    """Versions of python/torch/transformers/trl/accelerate/peft, where PPO lives, CUDA and bf16."""
    import json

    from .envreport import EnvError, collect, render_env

    try:
        report = collect(python or sys.executable, with_torch=not no_torch)
    except EnvError as error:
        click.echo(f"ppodoctor env: {error}", err=True)
        sys.exit(EXIT_ERROR)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(render_env(report), nl=False)


def _explain_error(text: str, as_json: bool) -> None:
    import json

    from .explain import describe, match_dict, match_errors

    matches = match_errors(text)
    if as_json:
        click.echo(json.dumps([match_dict(match) for match in matches], indent=2))
    elif not matches:
        click.echo("No known TRL PPOTrainer error in the input. `ppodoctor rules` lists what is checked; "
                   "`ppodoctor check SCRIPT` looks at the script itself.")
    else:
        click.echo("\n\n".join("\n".join(describe(match)) for match in matches))
    sys.exit(EXIT_CLEAN if matches else EXIT_FINDINGS)


if __name__ == "__main__":
    main()
