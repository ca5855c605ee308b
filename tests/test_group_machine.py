"""What the interpreter and machine that run an RLOO/GRPO script lack, in trl 1.16 (.venv-trl116: no vLLM,
liger-kernel, DeepSpeed; a CPU machine here): PPD504 (bf16 without a bf16 GPU: the probe's, since it is the
machine's question) and PPD607 (an option that needs a package: the target interpreter's), each failing for
real with the error the rule names; their does-not-fire twins train.

Measured here (trl 1.16, transformers 5.25, accelerate 1.16, torch 2.13 CPU): `GRPOConfig()` and
`RLOOConfig()` fail without `use_cpu=True` (bf16 by default); `ACCELERATE_USE_CPU=true` does not help;
`fp16=True` trains on the CPU, and so does `accelerate launch --mixed_precision bf16` with `bf16=False`.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

import subprocess

from ppodoctor.api import check_source, probe_report
from ppodoctor.core import CheckReport
from ppodoctor.probe import ProbeOptions
from ppodoctor.pipeline.fix import fix_source
from ppodoctor.rules import find_rule
from ppodoctor.trl_api.eras import Target
from test_e2e_trl import run
from test_launch_runs import _run

SCRIPT = """
from datasets import Dataset
from transformers import AutoTokenizer
from trl import {kind}Config, {kind}Trainer

tokenizer = AutoTokenizer.from_pretrained("models/policy", padding_side="left")
dataset = Dataset.from_dict({{"prompt": ["a b c", "d e f", "g h i", "j k l"]}})


def length_reward(completions, **kwargs):
    return [float(len(completion)) for completion in completions]


config = {kind}Config(output_dir="out", per_device_train_batch_size=2, num_generations=2, max_steps=1,
                    max_completion_length=4, report_to="none", save_strategy="no", {options})
trainer = {kind}Trainer(model="models/policy", reward_funcs=length_reward, args=config, train_dataset=dataset,
                      processing_class=tokenizer)
trainer.train()
print("TRAINED", trainer.accelerator.mixed_precision)
"""


def _text(options: str, kind: str = "GRPO") -> str:
    return textwrap.dedent(SCRIPT.format(kind=kind, options=options)).lstrip()


@pytest.fixture(scope="module")
def cpu_only(python116) -> str:
    """The trl 1.16 interpreter, on a machine without a bf16 GPU (as transformers sees it)."""
    question = ("import sys\nfrom transformers.utils import is_torch_bf16_gpu_available\n"
                "sys.exit(3 if is_torch_bf16_gpu_available() else 0)")
    if subprocess.run([python116, "-c", question], capture_output=True, timeout=300).returncode != 0:
        pytest.skip("this machine has a bf16 GPU (or cannot be asked): PPD504 has nothing to find")
    return python116


@pytest.fixture(scope="module")
def models(models116: Path) -> Path:
    return models116


def _target(python: str) -> Target:
    return dataclasses.replace(Target.of("1.16.0"), python=python, trl_path="site-packages")


def _codes(text: str, python: str, prefix: str) -> list[str]:
    report = check_source(text, "train.py", target=_target(python))
    assert report.error is None, report.error
    return [d.code for d in report.diagnostics if d.code.startswith(prefix)]


def _place(folder: Path, models: Path, text: str) -> Path:
    (folder / "models").symlink_to(models, target_is_directory=True)
    script = folder / "train.py"
    script.write_text(text)
    return script


def _matches(code: str, output: str) -> bool:
    return any(re.search(known.pattern, output) for known in find_rule(code).known_errors)


# --- PPD504 --------------------------------------------------------------------------------------------
BF16_CASES = (  # (config keywords, trainer, PPD504 expected)
    ("", "GRPO", True),  # bf16 by default
    ("", "RLOO", True),
    ("bf16=True", "GRPO", True),
    ("bf16_full_eval=True, bf16=False", "GRPO", True),
    ("use_cpu=True", "GRPO", False),
    ("bf16=False", "RLOO", False),
    ("fp16=True", "GRPO", False),  # measured: trains on the CPU
    ("bf16=precision == 'bf16'", "GRPO", False),  # not visible: the probe leaves the config unchecked
)


def _bf16_cases_script() -> str:
    """One trainer call a case, in one file: one probe run judges them all."""
    head = _text("").split("config = ")[0]
    calls = "".join(
        f"config{i} = {kind}Config(output_dir='out', per_device_train_batch_size=2, num_generations=2, "
        f"report_to='none', {options})\n"
        f"trainer{i} = {kind}Trainer(model='models/policy', reward_funcs=length_reward, args=config{i}, "
        f"train_dataset=dataset, processing_class=tokenizer)\n"
        for i, (options, kind, _) in enumerate(BF16_CASES))
    return "precision = 'fp32'\n" + head + calls


def test_bf16_on_a_machine_without_it(cpu_only, tmp_path):
    text = _bf16_cases_script()
    static = check_source(text, str(tmp_path / "train.py"), target=_target(cpu_only))
    assert static.error is None, static.error
    assert [d.code for d in static.diagnostics if d.code == "PPD504"] == []  # the machine's: the probe's
    probed = probe_report(CheckReport((static,)), ProbeOptions(python=cpu_only, cwd=str(tmp_path)))
    (report,) = probed.files
    found = {d.setup_index: d for d in report.diagnostics if d.code == "PPD504"}
    firing = [i for i, (_, _, expected) in enumerate(BF16_CASES) if expected]
    assert sorted(found) == firing, [(i, BF16_CASES[i]) for i in found]
    for diagnostic in found.values():
        assert "Your setup doesn't support bf16/gpu" in diagnostic.message and diagnostic.fix is None
        assert diagnostic.message.startswith(("GRPOConfig", "RLOOConfig"))


def test_bf16_runs_fail_and_the_twins_train(cpu_only, models, tmp_path):
    script = _place(tmp_path, models, _text(""))
    failed = run(cpu_only, script)
    assert failed.returncode != 0 and _matches("PPD504", failed.stderr), failed.stderr[-1500:]
    # the launch's CPU switch is not the config's use_cpu
    status, output = _run([str(Path(cpu_only).parent / "accelerate"), "launch", "--cpu", "--num_processes", "1",
                           "train.py"], tmp_path, 300)
    assert status not in (0, 124) and _matches("PPD504", output), output[-1500:]
    script.write_text(_text("fp16=True"))
    done = run(cpu_only, script)
    assert done.returncode == 0 and "TRAINED fp16" in done.stdout, done.stderr[-1500:]
    script.write_text(_text("bf16=False"))
    status, output = _run([str(Path(cpu_only).parent / "accelerate"), "launch", "--num_processes", "1",
                           "--mixed_precision", "bf16", "train.py"], tmp_path, 300)
    assert status == 0 and "TRAINED bf16" in output, output[-1500:]


# --- PPD607 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, expected", [
    ("use_liger_kernel=True", ["PPD607"]),
    ("deepspeed='ds.json'", ["PPD607"]),
    ("deepspeed={'zero_optimization': {'stage': 2}}", ["PPD607"]),
    ("use_vllm=True, use_liger_kernel=True", ["PPD607", "PPD607"]),
    ("use_liger_kernel=False, deepspeed=None, use_vllm=False", []),
    ("use_liger_kernel=args.liger", []),  # not visible: silent
])
def test_options_that_need_a_package(options, expected, python116):
    assert _codes(_text("use_cpu=True, " + options), python116, "PPD6") == expected
    assert codes_bare(_text("use_cpu=True, " + options)) == []  # a bare --trl-version: installed packages unknown


def codes_bare(text: str) -> list[str]:
    return [d.code for d in check_source(text, "train.py", target=Target.of("1.16.0")).diagnostics
            if d.code == "PPD607"]


def test_an_interpreter_with_the_packages_is_not_judged(python116, tmp_path):
    for package in ("liger_kernel", "deepspeed"):
        (tmp_path / "site" / package).mkdir(parents=True)
        (tmp_path / "site" / package / "__init__.py").write_text("")
    with_packages = tmp_path / "python"
    with_packages.write_text(f'#!/bin/sh\nPYTHONPATH="{tmp_path / "site"}" exec "{python116}" "$@"\n')
    with_packages.chmod(0o755)
    text = _text("use_cpu=True, use_liger_kernel=True, deepspeed='ds.json'")
    assert _codes(text, python116, "PPD607") == ["PPD607", "PPD607"]
    assert _codes(text, str(with_packages), "PPD607") == []


def test_package_runs_fail_and_the_liger_fix_trains(python116, models, tmp_path):
    script = _place(tmp_path, models, _text("use_cpu=True, deepspeed='ds.json'"))
    (tmp_path / "ds.json").write_text('{"train_micro_batch_size_per_gpu": "auto"}')
    failed = run(python116, script)
    assert failed.returncode != 0 and _matches("PPD607", failed.stderr), failed.stderr[-1500:]
    broken = _text("use_cpu=True, use_liger_kernel=True")
    script.write_text(broken)
    failed = run(python116, script)
    assert failed.returncode != 0 and "liger-kernel >= 0.3.0 is not available" in failed.stderr, failed.stderr[-1500:]
    fixed = fix_source(broken.encode(), "train.py", target=_target(python116), unsafe=True)
    assert not fixed.error and "use_liger_kernel=False" in fixed.text, fixed.text
    assert _codes(fixed.text, python116, "PPD6") == []
    script.write_text(fixed.text)
    done = run(python116, script)
    assert done.returncode == 0 and "TRAINED" in done.stdout, done.stderr[-1500:]
