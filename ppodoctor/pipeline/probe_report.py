"""The probe over a whole check: per file, one worker run; and how its results are shown."""

from __future__ import annotations

import dataclasses
from typing import Optional

from .. import noqa
from ..rules import select_rules
from .verdicts import annotate, runtime_findings
from ..probe.results import probe_files
from ..probe.device_plan import DevicePlan, Distribution, Workload, cheapest_fit, device_plan
from ..probe.memory import human_bytes, human_count, render_plan
from ..rules.common import config_value
from ..trl_api import table
from ..types import Diagnostic, Role
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
                request, why = launch_request(file_report.launch)
                if request is None:
                    out.append(f"    per GPU: unknown ({why})")
                else:
                    plans = device_plans(dataclasses.replace(report, files=(file_report,)), request)
                    out.extend("  " + line for line in render_device_plans(
                        [p for p in plans if p[1] == index], request).splitlines())
    return "\n".join(out) + ("\n" if out else "")


def probe_json(report) -> list[dict]:
    return [dict(path=file_report.path, **file_report.probe.to_dict())
            for file_report in report.files if file_report.probe is not None]


# --- the per-device plan (`ppodoctor probe --world-size/--zero-stage/--gpu-memory`) ----------------

@dataclasses.dataclass(frozen=True)
class PlanRequest:
    """What the per-device plan is asked for: the launch's distribution, the prompt length (a dataset's,
    which the script does not say) and the device size to hold it against (0: no verdict)."""

    distribution: Distribution = Distribution()
    query_length: int = 512
    gpu_bytes: int = 0


def launch_request(launch, query_length: int = 512, gpu_bytes: int = 0) -> tuple[Optional[PlanRequest], str]:
    """The per-GPU plan a launch asks for (its world size, machines, ZeRO stage and offload), or why
    it cannot be told."""
    if launch.world_size is None:
        return None, launch.unknown("world size") or "the world size cannot be told"
    deepspeed, stage = launch.deepspeed, None
    if deepspeed is not None:
        stage = deepspeed.zero_stage
        if stage is None:
            return None, f"ZeRO stage {deepspeed.value('zero_optimization.stage')!r} in {deepspeed.source}"
    offload_optimizer = bool(deepspeed.offload_optimizer) if deepspeed is not None else False
    offload_params = bool(deepspeed.offload_param) if deepspeed is not None else False
    distribution = Distribution(launch.world_size, launch.num_machines or 1, stage, offload_optimizer, offload_params)
    return PlanRequest(distribution, query_length, gpu_bytes), ""


def workload_of(setup, target, query_length: int) -> Workload:
    """The batch and lengths the trainer's PPOConfig gives (the target release's defaults where it says
    none; TrainingArguments' 8 for the per-device batch)."""
    defaults = table.ppo_config_defaults(target.version) if target is not None else {}
    binding = setup.role(Role.CONFIG)
    origin = binding.origin if binding is not None else None

    def value(name: str, fallback):
        default = defaults.get(name)
        default = fallback if default is None else default
        if origin is None:
            return default
        known, found = config_value(origin, name, default)
        return found if known and found is not None else default

    return Workload(rollout_batch=int(value("local_rollout_forward_batch_size", 64)),
                    train_batch=int(value("per_device_train_batch_size", 8)), query_length=query_length,
                    response_length=int(value("response_length", 53)),
                    gradient_checkpointing=bool(value("gradient_checkpointing", False)))


def device_plans(report, request: PlanRequest) -> list[tuple[str, int, DevicePlan, Optional[str]]]:
    """(path, setup index, plan, the cheapest change that makes it fit or None) per probed setup."""
    out = []
    for file_report in report.files:
        result = file_report.probe
        if result is None or not result.ok:
            continue
        for index, setup in enumerate(file_report.setup.setups):
            facts = result.setup_facts(index)
            workload = workload_of(setup, file_report.target, request.query_length)
            plan = device_plan(facts, request.distribution, workload)
            fit = None
            if request.gpu_bytes:
                fit = cheapest_fit(lambda d, w: device_plan(facts, d, w), request.distribution, workload,
                                   request.gpu_bytes)
            out.append((file_report.path, index, plan, fit))
    return out


def render_device_plans(plans, request: PlanRequest) -> str:
    d = request.distribution
    offloaded = " and ".join(what for what, on in (("optimizer", d.offload_optimizer), ("parameters", d.offload_params))
                             if on)
    stage = "no DeepSpeed" if d.zero_stage is None else f"ZeRO-{d.zero_stage}" + (
        f" ({offloaded} offloaded)" if offloaded else "")
    out = []
    for path, index, plan, fit in plans:
        w = plan.workload
        out.append(f"{path}: trainer call {index + 1}, per GPU at world size {d.world_size}, {stage}; rollout batch "
                   f"{w.rollout_batch}, train batch {w.train_batch}, {w.query_length}+{w.response_length} tokens"
                   f"{', gradient checkpointing' if w.gradient_checkpointing else ''}:")
        for role in plan.roles:
            note = f"same object as {role.shared_with}" if role.shared_with else \
                ("trained" if role.trained else "frozen") + (f", {human_bytes(role.offloaded)} on the CPU"
                                                            if role.offloaded else "")
            out.append(f"  {role.role:<10} {human_count(role.params):>8}  {human_bytes(role.on_device):>11}  {note}")
        for role, reason in plan.missing:
            out.append(f"  {role:<10} not counted: {reason}")
        out.append(f"  model states {human_bytes(plan.model_states)}; generation cache {human_bytes(plan.kv_cache)}; "
                   f"logits (fp32) {human_bytes(plan.logits)}; activations {human_bytes(plan.activations)}")
        verdict = ""
        if request.gpu_bytes:
            verdict = " — fits" if fit is None else f" — does not fit {human_bytes(request.gpu_bytes)}; cheapest " \
                                                    f"change that fits: {fit}"
        out.append(f"  peak per GPU: {human_bytes(plan.peak)}{verdict}")
    return "\n".join(out) + ("\n" if out else "")


def device_plans_json(plans) -> list[dict]:
    return [dict(path=path, setup=index, fits_after=fit, **plan.to_dict()) for path, index, plan, fit in plans]
