"""The `ppodoctor` command: options in, library call, exit code out."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from . import __version__
from .cli_common import (EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, OUTPUT_FORMATS, command_settings, config_option,
                         load_settings, make_probe_options, probe_options, rule_options, trl_option)

_output_format = click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default="text",
                              show_default=True, help="text: code frames and fix previews; concise: one line "
                              "each; json/json-lines; sarif (2.1.0); github (Actions annotations); gitlab "
                              "(code quality); junit (XML).")
_output_file = click.option("--output-file", "-o", default=None, type=click.Path(dir_okay=False),
                            help="Write the report to this file instead of stdout.")


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


def run() -> None:
    """The installed command: `main`, then leave without the interpreter's teardown.

    Tearing down a finished check's modules (libcst's node classes, the rules) and collecting their
    objects one last time costs ~40 ms, a sixth of a whole check, and nothing a finished command
    needs. What a normal exit must still do is done first: the atexit functions (weakref finalizers,
    logging, worker pools) and flushing the output streams."""
    import atexit
    import os

    try:
        main()
        status = EXIT_CLEAN
    except SystemExit as stop:
        status = _exit_status(stop.code)
    # atexit._run_exitfuncs is what Py_Finalize runs before the teardown this skips
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or stream: nothing more can be written
            pass
    os._exit(status)


def _exit_status(code) -> int:
    """sys.exit's argument as the process status, as Python makes it: None is 0, a message is printed
    and is 1."""
    if code is None:
        return EXIT_CLEAN
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ppodoctor")
def main() -> None:
    """A doctor for TRL PPOTrainer setups: finds broken wiring before anything runs."""


@main.command()
# readable=False: an unreadable file is reported on its own line while the rest are checked,
# not refused by click as a usage error that stops the whole run.
@click.argument("paths", nargs=-1, type=click.Path(readable=False))
@rule_options
@_output_format
@_output_file
@click.option("--stdin-filename", default=None, help="The name to report for source read from stdin (`-`).")
@click.option("--fix", is_flag=True, help="Apply the fixes, as `fix --write` does (each confirmed by the "
              "runtime probe first, unless --no-probe), then report what is left.")
@click.option("--unsafe-fixes", is_flag=True, help="With --fix or --diff, also apply fixes that change "
              "behaviour beyond the crash; without, count them as fixable.")
@click.option("--diff", is_flag=True, help="Print the diff --fix would apply (the same probe gate) and write "
              "nothing; exit 1 when there is something to fix.")
@click.option("--show-fixes/--no-show-fixes", default=None, help="With --fix, list what was fixed; "
              "--no-show-fixes drops the fix previews from the text output.")
@click.option("--statistics", is_flag=True, help="Count the findings per code instead of listing them "
              "(JSON with --output-format json).")
@click.option("--exit-zero", "-e", is_flag=True, help="Exit 0 even when there are findings (files that could "
              "not be checked still exit 2).")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="With --fix, exit 1 when anything was fixed, even "
              "if nothing is left.")
@click.option("--quiet", "-q", is_flag=True, help="Print the findings (and errors) only: no summary, no "
              "progress.")
@click.option("--silent", "-s", is_flag=True, help="Print nothing; the exit code says it all "
              "(--output-file is still written).")
@click.option("--probe/--no-probe", default=None, help="--probe: also build the models on the meta device in "
              "the scripts' interpreter: confirm each finding, add runtime findings (PPD501-504) and a memory "
              "plan. --no-probe: with --fix or --diff, keep the fixes unconfirmed (safe ones; unsafe with --unsafe-fixes).")
@click.option("--hide-refuted", is_flag=True, help="With --probe: leave out the findings the probe refuted "
              "(they are never counted as problems).")
@probe_options
def check(paths, select, extend_select, ignore, per_file_ignores, extend_per_file_ignores, trl_version, config,
          exclude, output_format, output_file, stdin_filename, fix, unsafe_fixes, diff, show_fixes, statistics,
          exit_zero, exit_non_zero_on_fix, quiet, silent, probe, hide_refuted, **probe_settings) -> None:
    """Check PPO training scripts (files or directories) for broken PPOTrainer wiring."""
    # each command imports only what it runs (cold start)
    from .cli_check import CheckOptions, run_check

    paths = paths or (".",)
    settings = command_settings(paths, config, select, extend_select, ignore, per_file_ignores,
                                extend_per_file_ignores, trl_version, exclude, probe_settings.get("probe_python"))
    options = CheckOptions(output_format=output_format, output_file=output_file, stdin_filename=stdin_filename,
                           fix=fix, unsafe_fixes=unsafe_fixes, diff=diff, statistics=statistics,
                           exit_zero=exit_zero, exit_non_zero_on_fix=exit_non_zero_on_fix, quiet=quiet or silent,
                           silent=silent, show_fixes=show_fixes, probe=probe, hide_refuted=hide_refuted,
                           probe_settings=tuple(probe_settings.items()))
    sys.exit(run_check(paths, settings, options))


@main.command()
@click.argument("script", type=click.Path())
@trl_option
@config_option
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--world-size", type=click.IntRange(1), default=None,
              help="Per-GPU plan: the processes the run launches (all machines together).")
@click.option("--nodes", type=click.IntRange(1), default=1, show_default=True, help="Per-GPU plan: machines.")
@click.option("--zero-stage", type=click.IntRange(0, 3), default=None,
              help="Per-GPU plan: DeepSpeed's ZeRO stage (default: no DeepSpeed).")
@click.option("--offload", type=click.Choice(["none", "optimizer", "all"]), default="none", show_default=True,
              help="Per-GPU plan: what DeepSpeed offloads to the CPU.")
@click.option("--query-length", type=click.IntRange(1), default=512, show_default=True,
              help="Per-GPU plan: prompt tokens (the dataset's, which the script does not say).")
@click.option("--gpu-memory", default=None, metavar="SIZE",
              help="Per-GPU plan: the device's memory (e.g. 80GiB, 40GB): says whether the run fits, and the "
                   "cheapest change that makes it fit.")
@probe_options
def probe(script, trl_version, config, output_format, world_size, nodes, zero_stage, offload, query_length,
          gpu_memory, **probe_settings) -> None:
    """Build SCRIPT's models on the meta device (no weights) and check them against TRL; print a memory plan
    (with --world-size, --zero-stage or --gpu-memory: what one GPU holds in that launch; SCRIPT may be a
    shell launcher: each launch's script with its values, and the plan per GPU)."""
    import json

    # each command imports only what it runs (cold start)
    from . import api
    from .pipeline.probe_report import probe_json, render_probe_text
    # each command imports only what it runs (cold start)
    from .report import render

    # each command imports only what it runs (cold start)
    from .report.summary import error_lines, exit_status

    request = None
    if world_size is not None or zero_stage is not None or gpu_memory is not None:
        # each command imports only what it runs (cold start)
        from .probe.device_plan import Distribution, parse_size
        from .pipeline.probe_report import PlanRequest

        try:
            gpu_bytes = parse_size(gpu_memory) if gpu_memory is not None else 0
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--gpu-memory") from None
        request = PlanRequest(Distribution(world_size or 1, nodes, zero_stage, offload != "none", offload == "all"),
                              query_length, gpu_bytes)
    settings = load_settings((script,), config, trl_version=trl_version)
    if script.endswith(".sh"):
        # a shell launcher: each launch's script with its values, and the plan per GPU (cold start: only here)
        from .launch_check import check_launches

        report = api.CheckReport(check_launches((script,), settings)[0])
    else:
        report = api.check_paths([Path(script)], settings)
    report = api.probe_report(report, make_probe_options(**probe_settings), settings)
    click.echo("\n".join(error_lines(report)), err=True, nl=bool(report.errors))
    plans = None
    if request is not None:
        # each command imports only what it runs (cold start)
        from .pipeline.probe_report import device_plans

        plans = device_plans(report, request)
    if output_format == "json":
        # each command imports only what it runs (cold start)
        from .report.json_format import entries

        document = {"diagnostics": entries(report, settings.docs_url), "probe": probe_json(report)}
        if plans is not None:
            # each command imports only what it runs (cold start)
            from .pipeline.probe_report import device_plans_json

            document["device_plan"] = device_plans_json(plans)
        click.echo(json.dumps(document, indent=2))
    else:
        text = render(report, "text") + "\n" + render_probe_text(report)
        if plans is not None:
            # each command imports only what it runs (cold start)
            from .pipeline.probe_report import render_device_plans

            text += render_device_plans(plans, request)
        click.echo(text, nl=False)
    sys.exit(exit_status(report))


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@rule_options
@click.option("--write", is_flag=True, help="Apply the fixes in place (default: print a diff, write nothing).")
@click.option("--unsafe-fixes", is_flag=True, help="Also keep (in the diff and the write) fixes the probe could not "
              "check (with --no-probe: the unsafe fixes, which the source alone cannot show to be harmless).")
@click.option("--probe/--no-probe", "use_probe", default=True, show_default=True,
              help="Keep the fixes the runtime probe confirms (the original fails as the rule says, the fixed "
              "setup passes), in the diff and in what --write writes alike; --no-probe keeps the safe fixes "
              "unconfirmed.")
@click.option("--quiet", "-q", is_flag=True, help="Print the diff and errors only.")
@probe_options
def fix(paths, select, extend_select, ignore, per_file_ignores, extend_per_file_ignores, trl_version, config,
        exclude, write, unsafe_fixes, use_probe, quiet, **probe_settings) -> None:
    """Fix PPO training scripts: print the diff --write would apply (and why any fix is left out), or apply it."""
    # each command imports only what it runs (cold start)
    from .pipeline.fix import fix_paths
    from .report.summary import FixSummary, error_line

    paths = paths or (".",)
    settings = command_settings(paths, config, select, extend_select, ignore, per_file_ignores,
                                extend_per_file_ignores, trl_version, exclude, probe_settings.get("probe_python"))
    gate_options = make_probe_options(**probe_settings) if use_probe else None
    report = fix_paths([Path(p) for p in paths], settings, unsafe=unsafe_fixes, write=write, probe=use_probe,
                       probe_options=gate_options)
    summary = FixSummary(report, write, use_probe, apply_hint="; run with --write to apply")
    for path, cause in summary.errors:
        click.echo(error_line(path, cause), err=True)
    click.echo(summary.diff, nl=False)
    for line in summary.messages + (() if quiet else summary.closing):
        click.echo(line, err=True)
    sys.exit(summary.status)


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
@probe_options
def migrate(paths, target, write, use_probe, trl_version, from_trl_version, exclude, **probe_settings) -> None:
    """Port PPO training scripts to RLOOTrainer or GRPOTrainer: print a diff, or apply it with --write."""
    # each command imports only what it runs (cold start)
    from .cli_migrate import run_migrate

    sys.exit(run_migrate(paths or (".",), target, write, use_probe, trl_version, from_trl_version, exclude,
                         make_probe_options(**probe_settings)))


@main.command()
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="Also show each rule's fix and probe check.")
def rules(output_format, verbose) -> None:
    """List the rules (with --verbose: rule -> fix -> probe check)."""
    import json

    # each command imports only what it runs (cold start)
    from .rules import all_rules

    def card(rule) -> dict:
        return {"code": rule.code, "name": rule.name, "severity": rule.severity, "summary": rule.summary,
                "fixable": rule.fixable, "fix": rule.fix_title or None, "no_fix": rule.no_fix_reason or None,
                "probe_check": rule.probe_check or None,
                "known_errors": [known.key for known in rule.known_errors]}

    if output_format == "json":
        click.echo(json.dumps([card(rule) for rule in all_rules()], indent=2))
        return
    for rule in all_rules():
        fix = "[*]" if rule.fixable else "   "
        click.echo(f"{rule.code} {fix} {rule.name:<30} {rule.severity:<8} {rule.summary}")
        if verbose:
            click.echo(f"      fix:   {rule.fix_title or '- (' + (rule.no_fix_reason or 'none') + ')'}")
            click.echo(f"      probe: {rule.probe_check or '-'}")
            if rule.known_errors:
                click.echo(f"      explains: {', '.join(known.error for known in rule.known_errors)}")


@main.command()
@click.argument("rule")
@click.option("--json", "as_json", is_flag=True, help="For error messages: the matches as JSON.")
def explain(rule, as_json) -> None:
    """Explain a rule (PPD101, value-model-missing) or a TRL error message / traceback (`-` reads stdin)."""
    import re

    # each command imports only what it runs (cold start)
    from .rules import find_rule

    found = find_rule(rule) if rule != "-" else None
    if found is None:
        if rule != "-" and re.fullmatch(r"[A-Za-z]+\d+|[a-z0-9]+(-[a-z0-9]+)+", rule.strip()):
            raise click.UsageError(f"no rule named {rule!r}; `ppodoctor rules` lists them")
        _explain_error(sys.stdin.read() if rule == "-" else rule, as_json)
        return
    click.echo(f"# {found.code} {found.name} ({found.severity})\n")
    click.echo(found.documentation() + "\n")
    if not found.fixable and found.no_fix_reason:
        click.echo(f"No automatic fix: {found.no_fix_reason}.\n")
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

    # each command imports only what it runs (cold start)
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


@main.command()
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default and only transport).")
def server(stdio) -> None:
    """Run the language server (LSP over stdio) for editors: diagnostics as you type, quick fixes."""
    # each command imports only what it runs (cold start)
    from .server import serve

    sys.exit(serve())


def _explain_error(text: str, as_json: bool) -> None:
    import json

    # each command imports only what it runs (cold start)
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
