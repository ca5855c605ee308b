"""`ppodoctor migrate`: diff, write, bad input, and the probe's gate in the trl 1.16 interpreter.

The probe builds the models from the fixture configs on the meta device (no weights), so the scripts
here point at fixtures/models directly.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from migrate_helpers import SCRIPTS, trl116_python
from ppodoctor import files
from ppodoctor.pipeline.migrate import _write, migrate_source
from probe_helpers import MODELS

ROOT = Path(__file__).resolve().parent.parent


def migrate(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "ppodoctor", "migrate", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)


def script(reward: str = "llama-rm", config: str = "use_cpu=True, bf16=False", policy: str = "",
           labels: int = 1) -> str:
    policy = policy or f'"{MODELS / "llama-causal"}"'
    return (
        "from datasets import Dataset\n"
        "from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer\n"
        "from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
        f'tok = AutoTokenizer.from_pretrained("{MODELS / "tok-pad"}")\n'
        f"policy = AutoModelForCausalLM.from_pretrained({policy})\n"
        f'rm = AutoModelForSequenceClassification.from_pretrained("{MODELS / reward}", num_labels={labels})\n'
        'ds = Dataset.from_dict({"input_ids": [[5, 6, 7], [8, 9, 10]]})\n'
        f"config = PPOConfig(output_dir='out', per_device_train_batch_size=2, {config})\n"
        "trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=None, reward_model=rm,\n"
        "                     value_model=rm, train_dataset=ds)\n"
        "trainer.train()\n")


def test_diff_by_default_and_nothing_written(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(script())
    done = migrate("--to", "grpo", str(path), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith(f"--- {path}\n+++ {path}\n") and "+trainer = GRPOTrainer(" in done.stdout
    assert "what changes in meaning" in done.stderr and "Would port 1 file" in done.stderr
    assert path.read_text() == script()


def test_write_without_the_probe(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(script())
    path.chmod(0o640)
    done = migrate("--to", "rloo", "--write", "--no-probe", str(path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "not confirmed: --no-probe" in done.stderr and "RLOOTrainer(" in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    again = migrate("--to", "rloo", str(path), cwd=tmp_path)
    assert again.returncode == 0 and "Nothing to port" in again.stderr


def test_bad_input_is_one_line_and_the_other_files_still_port(tmp_path):
    (tmp_path / "broken.py").write_text("from trl import PPOTrainer\nPPOTrainer(\n")
    (tmp_path / "train.py").write_text(script())
    done = migrate("--to", "rloo", str(tmp_path / "broken.py"), str(tmp_path / "train.py"), cwd=tmp_path)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith(f"{tmp_path / 'broken.py'}: error: ")
    assert "+trainer = RLOOTrainer(" in done.stdout
    assert migrate("--to", "rloo", "--trl-version", "x", str(tmp_path), cwd=tmp_path).returncode == 2


def test_a_file_changed_since_it_was_read_is_left_alone(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(script())
    migration = migrate_source(path.read_bytes(), str(path), "rloo")
    path.write_text(script() + "# edited meanwhile\n")
    result = _write(dataclasses.replace(migration), probed=False)
    assert "changed on disk" in result.error and path.read_text().endswith("# edited meanwhile\n")


def test_check_does_not_import_migrate(tmp_path):
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "ppodoctor", "check",
                           str(SCRIPTS / "ppo_112_experimental.py")], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert "ppodoctor.trl_api" in done.stderr  # the import log is there ...
    assert "ppodoctor.migrate" not in done.stderr  # ... and migrate is not in it


def test_the_probe_gates_the_write_in_the_target_interpreter(tmp_path):
    python = trl116_python()
    if python is None:
        pytest.skip("no trl 1.16 interpreter (.venv-trl116; scripts/setup makes it)")
    cases = {
        "good.py": script(),
        "two_labels.py": script(reward="llama-rm-2labels", labels=2),
        "bf16_on_cpu.py": script(config="bf16=True"),
        "hidden_path.py": "import sys\n" + script(policy="sys.argv[1]"),
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
    done = migrate("--to", "grpo", "--write", "--python", python, *sorted(cases), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    err = done.stderr
    assert "good.py: new trainer call 1: probe confirmed" in err and "good.py: ported (confirmed" in err
    assert "GRPOTrainer(" in (tmp_path / "good.py").read_text()
    assert "two_labels.py: new trainer call 1: probe refuted: reward 1: num_labels=2" in err
    assert "doesn't support bf16/gpu" in err.split("bf16_on_cpu.py: new trainer call 1: probe refuted:")[1]
    assert "hidden_path.py: new trainer call 1: probe unchecked: policy: the model path `sys.argv[1]`" in err
    for name in ("two_labels.py", "bf16_on_cpu.py", "hidden_path.py"):
        assert (tmp_path / name).read_text() == cases[name], name
        assert f"{name}: not written: not confirmed by the runtime probe" in err
    assert "Ported 1 of 4 files to GRPOTrainer (trl 1.16.0)." in err


def test_the_probe_refutes_a_port_the_interpreter_cannot_import(tmp_path):
    """trl 0.12's RLOOTrainer is the old on-policy one (`config=`, `rloo_k`): the gate holds the file back."""
    from probe_helpers import trl012_python

    python = trl012_python()
    if python is None:
        pytest.skip("no trl 0.12 interpreter")
    (tmp_path / "train.py").write_text(script())
    done = migrate("--to", "rloo", "--write", "--trl-version", "1.16.0", "--python", python, "train.py",
                   cwd=tmp_path)
    assert done.returncode == 1
    assert "probe refuted: signature: TypeError: RLOOTrainer.__init__() got an unexpected keyword argument 'args'" \
        in done.stderr and "not written" in done.stderr
    assert files.read_bytes(tmp_path / "train.py").decode() == script()
