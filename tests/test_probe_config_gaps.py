"""What only the probe can see: a scorer's label count from its saved config, the era findings against the
interpreter's own API; and the JSON `check --probe` reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ppodoctor import api
from ppodoctor.config import Settings
from ppodoctor.probe import ProbeOptions
from probe_helpers import ROOT, guide_script_012, new_script, trl012_python

SETTINGS = Settings(trl_version="1.12.0")
HERE = ProbeOptions(python=sys.executable)


def _probe(tmp_path: Path, text: str):
    path = tmp_path / "train.py"
    path.write_text(text)
    report = api.probe_report(api.check_paths([path], SETTINGS), HERE, SETTINGS)
    return [d for d in report.diagnostics if d.code == "PPD105"]


def _reward(tmp_path: Path, model: str, keywords: str):
    script = new_script(reward=model, reward_kwargs=keywords).replace(f'{model}", )', f'{model}")')
    return _probe(tmp_path, script)


def test_a_scorer_loaded_without_num_labels_takes_two_labels_from_its_config(tmp_path):
    [finding] = _reward(tmp_path, "llama-rm-2labels", "")
    assert finding.probe == "confirmed"
    assert finding.probe_detail == "reproduced: the reward model's `score` head has 2 outputs (num_labels from its config)"
    assert "is loaded without num_labels and its config gives the `score` head 2 outputs" in finding.message
    assert finding.span.line == 6 and finding.setup_index == 0


def test_num_labels_one_overrides_the_config(tmp_path):
    assert _reward(tmp_path, "llama-rm-2labels", "num_labels=1") == []


def test_a_single_label_config_is_fine_without_num_labels(tmp_path):
    assert _reward(tmp_path, "llama-rm", "") == []


def test_an_explicit_num_labels_2_is_reported_once_by_the_static_rule(tmp_path):
    [finding] = _reward(tmp_path, "llama-rm", "num_labels=2")
    assert finding.message.startswith("reward model has num_labels=2")
    assert finding.probe == "confirmed"


def test_check_probe_json_gives_each_finding_its_probe_detail(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(new_script(reward="llama-rm-2labels", reward_kwargs="").replace('2labels", )', '2labels")'))
    result = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--probe", "--output-format", "json",
                             "--trl-version", "1.12.0", str(path)], capture_output=True, text=True, cwd=ROOT)
    findings = json.loads(result.stdout)
    assert isinstance(findings, list) and result.returncode == 1
    by_code = {f["code"]: f for f in findings}
    assert by_code["PPD105"]["probe"] == "confirmed"
    assert by_code["PPD105"]["probe_detail"].startswith("reproduced: the reward model's `score` head has 2 outputs")
    assert all("probe_detail" in f and f["probe"] for f in findings)


def test_check_json_without_the_probe_has_null_probe_detail(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(new_script(reward_kwargs="num_labels=2"))
    result = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--output-format", "json",
                             "--trl-version", "1.12.0", str(path)], capture_output=True, text=True, cwd=ROOT)
    [finding] = [f for f in json.loads(result.stdout) if f["code"] == "PPD105"]
    assert finding["probe"] is None and finding["probe_detail"] is None


def _era_verdicts(tmp_path: Path, python: str) -> dict:
    path = tmp_path / "train.py"
    path.write_text(guide_script_012())
    report = api.probe_report(api.check_paths([path], SETTINGS), ProbeOptions(python=python), SETTINGS)
    return {(d.code, d.span.column): (d.probe, d.probe_detail) for d in report.diagnostics}


def test_check_probe_reads_era_findings_from_the_interpreter(tmp_path):
    verdicts = _era_verdicts(tmp_path, sys.executable)
    assert verdicts[("PPD201", 69)] == ("confirmed", "reproduced: trl.experimental.ppo.PPOTrainer.__init__ (trl 1.12.0) "
                                                     "rejects `policy=`")
    assert verdicts[("PPD202", 28)] == ("confirmed", "reproduced: `from trl import PPOTrainer` gives ImportError: "
                                                     "cannot import name 'PPOTrainer' from 'trl' in trl 1.12.0")


def test_the_012_interpreter_refutes_the_112_era_findings(tmp_path):
    python = trl012_python()
    if python is None:
        pytest.skip("no trl 0.12 interpreter (PPODOCTOR_TRL012_PYTHON, .venv-trl012, /tmp/venv012)")
    verdicts = _era_verdicts(tmp_path, python)
    assert verdicts[("PPD201", 69)] == ("refuted", "does not reproduce: trl.PPOTrainer.__init__ (trl 0.12.2) "
                                                   "accepts `policy=`")
    assert verdicts[("PPD202", 28)] == ("refuted", "does not reproduce: `from trl import PPOTrainer` imports cleanly "
                                                   "in trl 0.12.2")
