"""The probe over a whole check: per file, one worker run; and how its results are shown."""

from __future__ import annotations

import dataclasses

from .. import noqa
from ..rules import select_rules
from ..rules.base import Diagnostic
from . import annotate, api_checks, probe_file_setups, runtime_findings
from .memory import render_plan
from .runner import coerce_options


def probe_check_report(report, options, settings):
    from ..api import CheckReport

    options = coerce_options(options if options is not None else settings)
    files = []
    for file_report in report.files:
        setup = file_report.setup
        if file_report.error or setup is None or not setup.setups:
            files.append(file_report)
            continue
        rules = select_rules(*settings.rule_codes(file_report.path))
        imports = api_checks.import_questions(setup, file_report.diagnostics)
        result = probe_file_setups([setup], options, imports)[0]
        diagnostics = annotate(file_report.diagnostics, result, setup)
        extra = runtime_findings(setup, result, diagnostics, rules)
        if file_report.source is not None:
            table = noqa.noqa_lines(file_report.source.text)
            extra = tuple(d for d in extra if not noqa.is_silenced(d.code, d.noqa_lines, table))
        diagnostics = tuple(sorted(diagnostics + extra, key=Diagnostic.sort_key))
        files.append(dataclasses.replace(file_report, diagnostics=diagnostics, probe=result))
    return CheckReport(tuple(files))


def render_probe_text(report) -> str:
    """The probe's own section: what it ran on, per setup the models, the memory plan."""
    out = []
    for file_report in report.files:
        result = file_report.probe
        if result is None:
            continue
        if not result.ok:
            out.append(f"{file_report.path}: probe unchecked: {result.reason}")
            continue
        versions = dict(result.versions)
        stack = ", ".join(f"{name} {versions[name]}" for name in ("python", "torch", "transformers", "trl")
                          if versions.get(name))
        out.append(f"{file_report.path}: probed with {stack} on {result.accelerator or 'cpu'} "
                   f"({result.wall_s:.1f} s, peak {result.peak_rss_bytes / 2**20:.0f} MiB)")
        for index, setup in enumerate(file_report.setup.setups):
            facts = result.facts(index) or {}
            out.append(f"  {setup.trainer} at line {setup.span.line}:")
            for role, model in (facts.get("models") or {}).items():
                if model["status"] == "built":
                    out.append(f"    {role:<10} {model['class']} from {model['source']} "
                               f"(head `{model['head']}` x{model['head_width']}, vocab {model['vocab']})")
                elif model["status"] == "unchecked":
                    out.append(f"    {role:<10} unchecked: {model['reason']}")
                else:
                    out.append(f"    {role:<10} {model['status']}")
            tokenizer = facts.get("tokenizer") or {}
            if tokenizer.get("status") == "built":
                out.append(f"    tokenizer  {tokenizer['class']} from {tokenizer['source']} ({tokenizer['length']} "
                           f"tokens, pad {tokenizer['pad_token']!r}, as saved {tokenizer['saved']['pad_token']!r})")
            elif tokenizer.get("status") == "unchecked":
                out.append(f"    tokenizer  unchecked: {tokenizer['reason']}")
            out.append("    memory plan:")
            out.extend("  " + line for line in render_plan(result.memory(index)))
    return "\n".join(out) + ("\n" if out else "")


def probe_json(report) -> list[dict]:
    return [dict(path=file_report.path, **file_report.probe.to_dict())
            for file_report in report.files if file_report.probe is not None]
