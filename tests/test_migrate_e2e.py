"""End to end on the CPU: five correct PPO scripts of different eras and styles are ported to RLOO and to
GRPO by `ppodoctor migrate --write` (probe-gated, in trl 1.16.0's interpreter), and then train to the end
there; `check --trl-version 1.16.0` finds nothing in the result and no PPOTrainer/PPOConfig is left, and
each port broken one way (indivisible num_generations, a reward function without **kwargs, no `prompt`
column) is caught by its PPD6xx rule: the silence is the rules' verdict, not their absence. The breaks a rule
fixes are healed by a plain `fix --write` (each fix confirmed by the probe in trl 1.16), check clean after,
and one style's healed ports train.

The originals are shown to be correct PPO scripts first: they train in their own era's interpreter
(trl 1.12 for the 1.12-style scripts, trl 0.12.2 for the 0.12 one, and, where one is given, trl 0.11.4
for the loop script: PPODOCTOR_TRL011_PYTHON, .venv-trl011, or scripts/setup's `.venv-trl011-site`
(trl 0.11.4 on .venv-trl012's interpreter and transformers 4.46.3)).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migrate_helpers import PORT_BREAKS, SCRIPTS, STYLES, TARGETS
from ppodoctor.rules import find_rule
from probe_helpers import trl012_python
from test_e2e_trl import make_models, run

ROOT = Path(__file__).resolve().parent.parent
ERA_OF_STYLE = {"ppo_112_experimental": "1.12", "guide_fixed": "1.12", "ppo_kwargs_config": "1.12",
                "ppo_012_config_policy": "0.12", "ppo_011_value_head_loop": "0.11"}
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def models(models116: Path) -> Path:
    return models116


def trl011_python() -> str | None:
    for candidate in (os.environ.get("PPODOCTOR_TRL011_PYTHON"), ROOT / ".venv-trl011" / "bin" / "python"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return _site_wrapper()


def _site_wrapper() -> str | None:
    """scripts/setup's trl 0.11.4 (`.venv-trl011-site`, run by .venv-trl012's interpreter) as one
    executable: the scripts are run with a clean environment, so the path goes into a wrapper."""
    site, python = ROOT / ".venv-trl011-site", trl012_python()
    if not site.is_dir() or python is None:
        return None
    wrapper = Path(os.environ.get("TMPDIR", "/tmp")) / f"ppodoctor-trl011-{os.getpid()}" / "python"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{python}" "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def ppodoctor(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ppodoctor", *args], capture_output=True, text=True, cwd=cwd,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=600)


def workspace(root: Path, models: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "models").symlink_to(models, target_is_directory=True)
    for style in STYLES:
        shutil.copy(SCRIPTS / f"{style}.py", root / f"{style}.py")
    return root


def trained(python: str, script: Path, marker: str = "") -> None:
    """The script runs to its end; `marker`: a line the run must print (Trainer's final metrics)."""
    started = time.monotonic()
    done = run(python, script)
    TIMINGS[f"{script.parent.name}/{script.name}"] = time.monotonic() - started
    assert done.returncode == 0, f"{script.name} failed:\n{script.read_text()}\n{done.stderr[-3000:]}"
    assert marker in done.stdout + done.stderr, done.stdout[-1000:]


@pytest.mark.parametrize("style", STYLES)
def test_the_originals_are_correct_ppo_scripts(style, models, tmp_path):
    era = ERA_OF_STYLE[style]
    python = {"1.12": sys.executable, "0.12": trl012_python(), "0.11": trl011_python()}[era]
    if python is None:
        pytest.skip(f"no trl {era} interpreter (see the module's docstring)")
    if era != "1.12":
        make_models(python, tmp_path / "models")  # transformers 4.x saves and reads its own format
    else:
        (tmp_path / "models").symlink_to(models, target_is_directory=True)
    shutil.copy(SCRIPTS / f"{style}.py", tmp_path / f"{style}.py")
    trained(python, tmp_path / f"{style}.py", marker="" if era == "0.11" else "===training policy===")


@pytest.mark.parametrize("target", TARGETS)
def test_ported_scripts_train_on_trl_116(target, models, python116, tmp_path):
    root = workspace(tmp_path / target, models)
    names = [f"{style}.py" for style in STYLES]
    started = time.monotonic()
    done = ppodoctor("migrate", "--to", target, "--write", "--python", python116, *names, cwd=root)
    TIMINGS[f"{target}: migrate --write (probe) of {len(names)} files"] = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert f"Ported {len(names)} of {len(names)} files" in done.stderr
    assert done.stderr.count("probe confirmed") == len(names)
    for name in names:
        text = (root / name).read_text()
        assert "PPOTrainer" not in text and "PPOConfig" not in text, name
    checked = ppodoctor("check", "--trl-version", "1.16.0", "--output-format", "concise", *names, cwd=root)
    assert checked.returncode == 0, checked.stdout
    # Silence because the rules looked: each port broken one way is caught by its PPD6xx rule.
    broken_names = []
    for name in names:
        for code, breaking in PORT_BREAKS.items():
            broken = root / f"broken_{code}_{name}"
            broken.write_text(breaking((root / name).read_text()))
            broken_names.append((broken.name, code))
    caught = ppodoctor("check", "--trl-version", "1.16.0", "--output-format", "concise",
                       *(n for n, _c in broken_names), cwd=root)
    for broken_name, code in broken_names:
        assert re.findall(rf"^{re.escape(broken_name)}:\d+:\d+: (PPD\d+)", caught.stdout, re.M) == [code], \
            caught.stdout
    # The breaks a rule can fix are healed by a plain `fix --write`: the probe confirms each fix in trl 1.16
    # (it builds the group setup there) before it is written; the healed ports check clean, and train.
    fixable = [(name, code) for name, code in broken_names if find_rule(code).fixable]
    started = time.monotonic()
    healed = ppodoctor("fix", "--write", "--python", python116, *(name for name, _code in fixable), cwd=root)
    TIMINGS[f"{target}: fix --write (probe) of {len(fixable)} broken ports"] = time.monotonic() - started
    said = healed.stdout + healed.stderr
    assert healed.returncode == 0, said
    for broken_name, code in fixable:
        assert re.search(rf"^{re.escape(broken_name)}:\d+:\d+: {code} fixed \(confirmed\)", said, re.M), said
    rechecked = ppodoctor("check", "--trl-version", "1.16.0", "--output-format", "concise",
                          *(name for name, _code in fixable), cwd=root)
    assert rechecked.returncode == 0, rechecked.stdout
    for name in names:
        trained(python116, root / name, marker="'train_runtime'")
    for broken_name, _code in fixable:
        if broken_name.endswith(names[0]):  # one style's healed ports: each fix's own training run
            trained(python116, root / broken_name, marker="'train_runtime'")


def test_report_timings():
    """Prints the figures of the runs above (pytest -s shows them); fails only when none ran."""
    if not TIMINGS:
        pytest.skip("no end-to-end run happened")
    for what, seconds in sorted(TIMINGS.items()):
        print(f"{seconds:6.1f} s  {what}")
