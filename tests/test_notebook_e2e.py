"""A broken PPO tutorial notebook, end to end against real TRL 1.12 on the CPU: its code fails the
documented way, `check --probe` confirms the finding in the notebook's own directory, `fix --write`
(probe-gated) patches the notebook, and the patched notebook's code trains to the end.

The notebook's code is run the way Jupyter would run it, as far as a script can: its code cells in
order, without the IPython lines (`%pip`, `!nvidia-smi`, `PPOConfig?`, the `%%capture` line). The
conversion here is the test's own, so that it does not share a bug with ppodoctor's masking.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from probe_helpers import ROOT
from test_e2e_trl import fix_write, make_models, run

TUTORIAL = ROOT / "fixtures" / "notebooks" / "ppo_tutorial_broken.ipynb"
MISSING_VALUE_MODEL = "missing 1 required positional argument: 'value_model'"


def notebook_script(path: Path) -> str:
    """The notebook's Python: code cells in order, IPython lines left out, other-language cells too."""
    lines = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        cell_lines = source.splitlines()
        if cell_lines and cell_lines[0].startswith("%%"):
            if cell_lines[0].split()[0] not in ("%%capture", "%%time"):
                continue
            cell_lines = cell_lines[1:]
        lines.extend(line for line in cell_lines
                     if not line.lstrip().startswith(("%", "!")) and not line.rstrip().endswith("?"))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The tutorial beside the tiny random models it names (`models/policy`, `models/rm`)."""
    work = tmp_path_factory.mktemp("notebook")
    make_models(sys.executable, work / "models")
    shutil.copy(TUTORIAL, work / TUTORIAL.name)
    return work


def test_check_probe_works_on_the_notebooks_setups(workdir):
    done = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--probe", TUTORIAL.name],
                          capture_output=True, text=True, cwd=workdir, timeout=300)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert f"{TUTORIAL.name}:cell 11:1:11: PPD101 [*]" in out
    assert "= probe: confirmed: reproduced: " in out and MISSING_VALUE_MODEL in out
    # The saved tokenizer next to the notebook has a pad token: `check` reads it, so no PPD301 at all.
    assert "PPD301" not in out
    assert "PPOTrainer at cell 11, line 1:" in out
    assert "policy     LlamaForCausalLM from " in out and "models/policy" in out
    as_json = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--probe", "--output-format", "json",
                              TUTORIAL.name], capture_output=True, text=True, cwd=workdir, timeout=300)
    found = {d["code"]: d for d in json.loads(as_json.stdout)}
    assert (found["PPD101"]["cell"], found["PPD101"]["probe"]) == (11, "confirmed")
    assert "PPD301" not in found


def test_broken_notebook_fails_in_trl_then_fix_write_patches_it_and_it_trains(workdir):
    notebook = workdir / TUTORIAL.name
    script = workdir / "tutorial_as_script.py"
    script.write_text(notebook_script(notebook))
    broken = run(sys.executable, script)
    assert broken.returncode != 0, broken.stdout[-1500:]
    assert MISSING_VALUE_MODEL in broken.stderr, broken.stderr[-2500:]

    before = notebook.read_bytes()
    fixed = fix_write(sys.executable, notebook, "PPD101")
    assert fixed.returncode == 0 and "Fixed 1 problem in 1 file" in fixed.stderr, fixed.stderr
    assert f"{notebook}:cell 11:1:11: PPD101 fixed (confirmed)" in fixed.stderr, fixed.stderr
    after = notebook.read_bytes()
    changed = [index + 1 for index, (a, b) in enumerate(zip(json.loads(before)["cells"], json.loads(after)["cells"]))
               if a != b]
    assert changed == [7, 11]

    script.write_text(notebook_script(notebook))
    trained = run(sys.executable, script)
    assert trained.returncode == 0, f"the patched notebook failed:\n{script.read_text()}\n{trained.stderr[-2500:]}"
