"""`ppodoctor env`: versions, where PPO lives, CUDA/bf16, what to pin; on this and other interpreters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ppodoctor.cli import main
from ppodoctor.envreport import LAST_TRL_WITH_PPO, EnvError, collect, render_env

ROOT = Path(__file__).resolve().parents[1]


def _python_012() -> str | None:
    for candidate in (os.environ.get("PPODOCTOR_TRL012_PYTHON"), ROOT / ".venv-trl012" / "bin" / "python",
                      "/tmp/venv012/bin/python"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


def test_this_interpreter_has_the_experimental_ppo():
    trl = pytest.importorskip("trl")
    from importlib import metadata

    report = collect(sys.executable)
    assert report.version("trl") == metadata.version("trl") == trl.__version__
    assert report.version("transformers") == metadata.version("transformers")
    assert report.has_ppo
    assert report.ppo_import == "from trl.experimental.ppo import PPOConfig, PPOTrainer"
    assert Path(report.ppo_location) == Path(trl.__file__).parent / "experimental" / "ppo" / "__init__.py"


def test_cuda_and_bf16_agree_with_torch():
    torch = pytest.importorskip("torch")
    report = collect(sys.executable)
    assert report.cuda["available"] == torch.cuda.is_available()
    assert len(report.cuda["devices"]) == (torch.cuda.device_count() if torch.cuda.is_available() else 0)
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    assert report.cuda["bf16"] == bf16
    advice = " ".join(report.advice())
    assert ("bf16=False" in advice) == (not bf16 and not report.cuda["mps"])


def test_trl_012_interpreter_imports_from_trl():
    python = _python_012()
    if python is None:
        pytest.skip("no trl 0.12 interpreter (PPODOCTOR_TRL012_PYTHON, .venv-trl012 or /tmp/venv012)")
    report = collect(python, with_torch=False)
    assert report.version("trl") == "0.12.2"
    assert report.version("transformers") == "4.46.3"
    assert report.ppo_import == "from trl import PPOConfig, PPOTrainer"
    assert report.ppo_location.endswith(os.path.join("trl", "trainer", "ppo_trainer.py"))
    assert report.cuda is None  # --no-torch: torch was not imported


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """A fresh virtual environment with nothing installed: no torch, no TRL."""
    target = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True, timeout=120)
    return str(target / "bin" / "python")


def test_missing_trl_says_what_to_pin(bare_python):
    report = collect(bare_python)
    assert report.version("trl") is None and report.version("torch") is None
    assert not report.has_ppo and report.cuda is None
    assert any(f"trl=={LAST_TRL_WITH_PPO}" in note for note in report.advice())
    text = render_env(report)
    assert "trl           not installed" in text
    assert "PPO           no" in text
    assert "CUDA          unknown (torch not installed)" in text


def test_errors_for_bad_interpreters(tmp_path):
    with pytest.raises(EnvError, match="no such interpreter"):
        collect(str(tmp_path / "nope"))
    script = tmp_path / "notpython"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    with pytest.raises(EnvError, match="not a Python interpreter"):
        collect(str(script))


def test_cli_text_and_json(bare_python):
    text = CliRunner().invoke(main, ["env", "--no-torch"])
    assert text.exit_code == 0, text.output
    assert text.output.startswith("python        ")
    assert "trl " in text.output
    data = json.loads(CliRunner().invoke(main, ["env", "--python", bare_python, "--json"]).output)
    assert data["packages"]["trl"] is None
    assert data["ppo"] == {"available": False, "import": None, "location": None}
    assert data["advice"]


def test_cli_bad_python_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["env", "--python", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "no such interpreter" in result.output


def test_env_leaves_ppodoctor_itself_light():
    code = ("import sys\nfrom ppodoctor.cli import main\n"
            "try:\n    main(['env', '--json'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'transformers', 'trl') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
