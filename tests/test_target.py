"""Which TRL version a script meets: --trl-version, config, installed, pins, default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ppodoctor import api
from ppodoctor.config import Settings, load_settings
from ppodoctor.trl_api import target as target_module
from ppodoctor.trl_api.eras import Version
from ppodoctor.trl_api.target import installed_versions, resolve_target, version_for

ROOT = Path(__file__).resolve().parent.parent


def trl012_python():
    for candidate in (os.environ.get("PPODOCTOR_TRL012_PYTHON"), ROOT / ".venv-trl012/bin/python",
                      "/tmp/venv012/bin/python"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """An interpreter without trl or transformers, so that pins decide."""
    where = tmp_path_factory.mktemp("bare")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where / "venv")], check=True)
    return str(where / "venv" / "bin" / "python")


def test_cli_version_wins(tmp_path):
    settings = Settings(trl_version="0.14.0", trl_version_source="--trl-version")
    assert str(resolve_target(settings, tmp_path / "x.py").version) == "0.14.0"


def test_pyproject_trl_version(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.ppodoctor]\ntrl-version = "0.20.0"\n')
    target = resolve_target(load_settings(tmp_path), tmp_path / "x.py")
    assert str(target.version) == "0.20.0" and "pyproject.toml" in target.describe()


def test_installed_trl_of_this_interpreter():
    import importlib.metadata

    found = installed_versions(sys.executable)
    assert found["trl"] == importlib.metadata.version("trl")
    target = resolve_target(Settings(), None)
    assert str(target.version) == found["trl"] and "installed" in target.describe()


def test_installed_lookup_imports_no_trl_and_is_cached():
    code = ("import sys, time\nfrom ppodoctor.trl_api.target import installed_versions\n"
            "t = time.perf_counter(); installed_versions(sys.executable); first = time.perf_counter() - t\n"
            "t = time.perf_counter(); installed_versions(sys.executable); second = time.perf_counter() - t\n"
            "assert 'trl' not in sys.modules and 'transformers' not in sys.modules and 'torch' not in sys.modules\n"
            "assert second < first / 10, (first, second)\nprint(round(first * 1000))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) < 2000  # one interpreter start, not an import of trl


def test_python_option_reads_the_012_interpreter(tmp_path):
    python = trl012_python()
    if python is None:
        pytest.skip("no trl 0.12 interpreter (PPODOCTOR_TRL012_PYTHON, .venv-trl012 or /tmp/venv012)")
    target = resolve_target(Settings(python=python), tmp_path / "x.py")
    assert str(target.version) == "0.12.2"
    assert target.transformers is not None and target.transformers.major == 4  # 4.46.3 there


@pytest.mark.parametrize("spec, expected", [
    ("==0.12.2", "0.12.2"), (">=0.12,<0.13", "0.12.2"), ("~=0.14.0", "0.14.0"), ("==0.11.*", "0.11.4"),
    ("<0.30", "0.29.1"), (">=0.20,<0.21", "0.20.0"), ("~=0.15", "0.29.1"), ("==0.12.0", "0.12.0"),
])
def test_specifiers_pick_the_highest_known_release(spec, expected):
    assert str(version_for(spec)) == expected


@pytest.mark.parametrize("files, expected, where", [
    ({"requirements.txt": "torch\ntrl[peft]>=0.12,<0.13  # pinned\n"}, "0.12.2", "requirements.txt"),
    ({"requirements-train.txt": "trl==0.14.0 ; python_version >= '3.9'\n"}, "0.14.0", "requirements-train.txt"),
    ({"pyproject.toml": '[project]\nname = "x"\ndependencies = ["trl~=0.27.0"]\n'}, "0.27.2", "pyproject.toml"),
    ({"pyproject.toml": '[tool.poetry.dependencies]\ntrl = "^0.11"\n'}, "0.11.4", "pyproject.toml"),
    ({"requirements.txt": "trlx>=0.5\ntrl\n"}, "1.12.0", None),  # no pin: the default, said to be assumed
])
def test_pins_walking_up(tmp_path, bare_python, files, expected, where):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    script = tmp_path / "src" / "deep" / "train.py"
    script.parent.mkdir(parents=True)
    script.write_text("from trl import PPOTrainer\n")
    target_module.pinned_target.cache_clear()
    target = resolve_target(Settings(python=bare_python), script)
    assert str(target.version) == expected
    if where:
        assert where in target.describe()
    else:
        assert target.source == "default" and "assumed" in target.describe()


def test_pin_and_code_disagree(tmp_path, bare_python):
    """A script written for the 0.29+ API (trl.experimental.ppo) in a repo pinned to trl 0.12."""
    (tmp_path / "requirements.txt").write_text("trl==0.12.2\n")
    script = tmp_path / "train.py"
    script.write_text((ROOT / "fixtures" / "eras" / "v013_script.py").read_text())
    target_module.pinned_target.cache_clear()
    report = api.check_file(script, Settings(python=bare_python))
    assert str(report.target.version) == "0.12.2"
    assert {d.code for d in report.diagnostics} == {"PPD201", "PPD202"}


def test_cli_shows_target(tmp_path):
    script = tmp_path / "t.py"
    script.write_text("from trl.experimental.ppo import PPOTrainer\n")
    done = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--trl-version", "1.13.0", str(script)],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "PPD203" in done.stdout
    assert "Checked against trl 1.13.0 (from --trl-version)" in done.stdout


def test_cli_python_option_sets_the_target(tmp_path):
    python = trl012_python()
    if python is None:
        pytest.skip("no trl 0.12 interpreter (PPODOCTOR_TRL012_PYTHON, .venv-trl012 or /tmp/venv012)")
    script = tmp_path / "t.py"
    script.write_text((ROOT / "fixtures" / "eras" / "v013_script.py").read_text())
    done = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--python", python, str(script)],
                          capture_output=True, text=True)
    assert "Checked against trl 0.12.2 (from trl installed in --python" in done.stdout, done.stdout
    assert "PPD201" in done.stdout and "PPD202" in done.stdout
