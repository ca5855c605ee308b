"""The probe over a whole check: per file, one worker run; and how its results are shown."""

from __future__ import annotations

import dataclasses

from .. import noqa
from ..rules import select_rules
from ..types import Diagnostic
from .verdicts import annotate, runtime_findings
from ..probe.results import probe_files
from ..probe.memory import render_plan
from ..probe.zero import rank_plan_lines
from ..probe.probe_checks import Built
from ..probe.runner import coerce_options
from ..core import CheckReport


def probe_check_report(report, options, settings):
    """`report` with each finding's verdict, the runtime findings and each file's probe result:
    one worker run for every file that has something to probe."""
    options = coerce_options(options if options is not None else settings)
    probed = [file_report for file_report in report.files
              if not file_report.error and file_report.setup is not None
              and (file_report.setup.setups or file_report.setup.imports)]
    results = dict(zip((id(f) for f in probed), probe_files([f.setup for f in probed], options)))
    files = []
    for file_report in report.files:
        result = results.get(id(file_report))
        if result is None:
            files.append(file_report)
            continue
        rules = select_rules(*settings.rule_codes(file_report.path))
        diagnostics = annotate(file_report.diagnostics, result)
        extra = runtime_findings(file_report.setup, result, diagnostics, rules, file_report.target)
        if file_report.source is not None:
            table = noqa.noqa_lines(file_report.source.text)
            extra = tuple(d for d in extra if not noqa.is_silenced(d.code, d.noqa_lines, table))
        diagnostics = tuple(sorted(diagnostics + extra, key=Diagnostic.sort_key))
        if file_report.source is not None and file_report.source.is_notebook:
            # notebooks and ignore files are read only when met (cold start)
            from ..notebook import place_in_cells

            diagnostics = place_in_cells(file_report.source.text, diagnostics)
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
            if not file_report.setup.setups:
                continue  # a file with imports alone: its probe answered import questions only
            out.append(f"{file_report.path}: probe unchecked: {result.reason}")
            continue
        versions = dict(result.versions)
        stack = ", ".join(f"{name} {versions[name]}" for name in ("python", "torch", "transformers", "trl")
                          if versions.get(name))
        out.append(f"{file_report.path}: probed with {stack} on {result.accelerator or 'cpu'} "
                   f"({result.wall_s:.1f} s, peak {result.peak_rss_bytes / 2**20:.0f} MiB)")
        for index, setup in enumerate(file_report.setup.setups):
            facts = result.setup_facts(index)
            where = f"line {setup.span.line}"
            if file_report.source is not None and file_report.source.is_notebook:
                # notebooks and ignore files are read only when met (cold start)
                from ..notebook import describe_line

                where = describe_line(file_report.source.text, setup.span.line)
            out.append(f"  {setup.trainer} at {where}:")
            for role, model in (facts.models if facts is not None else {}).items():
                if model.built:
                    out.append(f"    {role:<10} {model.class_name} from {model.source} "
                               f"(head `{model.head}` x{model.head_width}, vocab {model.vocab})")
                elif model.status is Built.UNCHECKED:
                    out.append(f"    {role:<10} unchecked: {model.reason}")
                else:
                    out.append(f"    {role:<10} {model.status}")
            tokenizer = facts.tokenizer if facts is not None else None
            if tokenizer is not None and tokenizer.built:
                out.append(f"    tokenizer  {tokenizer.class_name} from {tokenizer.source} ({tokenizer.length} "
                           f"tokens, pad {tokenizer.pad_token!r}, as saved {tokenizer.saved_pad_token!r})")
            elif tokenizer is not None and tokenizer.status is Built.UNCHECKED:
                out.append(f"    tokenizer  unchecked: {tokenizer.reason}")
            out.append("    memory plan:")
            out.extend("  " + line for line in render_plan(result.memory(index)))
            if file_report.launch is not None:
                out.extend("  " + line for line in rank_plan_lines(result.memory(index), file_report.launch))
    return "\n".join(out) + ("\n" if out else "")


def probe_json(report) -> list[dict]:
    return [dict(path=file_report.path, **file_report.probe.to_dict())
            for file_report in report.files if file_report.probe is not None]
