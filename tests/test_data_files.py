"""Values in the project's own data files: a JSON or YAML config beside the script, read with
`json.load` / `yaml.safe_load` of an opened file (setup/datafiles.py). The script is read as if the
values were written in it: findings on them, none where they are right. A value the file writes is
changed there, by the user: its finding points at the file's line and its fix is advice only, and
`fix --write` leaves every file as it was."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from ppodoctor.api import check_file
from ppodoctor.config import Settings
from ppodoctor.pipeline.fix import fix_paths
from ppodoctor.probe import ProbeOptions, probe_files
from ppodoctor.trl_api.eras import Target, Version
from ppodoctor.types import Applicability

MODELS = Path(__file__).resolve().parent.parent / "fixtures" / "models"
TARGET = Target(Version.parse("1.12.0"), "--trl-version")

SCRIPT = """\
import json
import yaml
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
from trl.experimental.ppo import PPOConfig, PPOTrainer

{read}
tokenizer = AutoTokenizer.from_pretrained(cfg["tokenizer"])
policy = AutoModelForCausalLM.from_pretrained("policy")
ref = AutoModelForCausalLM.from_pretrained("policy")
rm = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
critic = AutoModelForSequenceClassification.from_pretrained("rm", num_labels=1)
trainer = PPOTrainer(args=PPOConfig(**cfg["ppo"]), processing_class=tokenizer, model=policy, ref_model=ref,
                     reward_model=rm, value_model=critic, train_dataset=None)
"""
JSON_READ = 'with open("{name}") as handle:\n    cfg = json.load(handle)\n'
YAML_READ = 'cfg = yaml.safe_load(open("{name}"))\n'
GOOD = {"tokenizer": "tok-pad", "ppo": {"output_dir": "out", "num_ppo_epochs": 2}}


def project(tmp_path: Path, data: dict, read: str = JSON_READ, name: str = "ppo.json", text: str = "") -> Path:
    for tokenizer in ("tok-pad", "tok-nopad"):
        shutil.copytree(MODELS / tokenizer, tmp_path / tokenizer)
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text or json.dumps(data, indent=2))
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(read=read.format(name=name)))
    return script


def findings(script: Path) -> list:
    return list(check_file(script, Settings(), TARGET).diagnostics)


def codes(script: Path) -> list[str]:
    return sorted(d.code for d in findings(script))


def test_a_correct_config_file_gives_no_finding(tmp_path):
    script = project(tmp_path, GOOD)
    assert codes(script) == []
    # named as reports name the script: beside it
    assert check_file(script, Settings(), TARGET).setup.data_files == (str(tmp_path / "ppo.json"),)


def test_the_tokenizer_the_file_names_is_read_and_its_missing_pad_token_is_an_error(tmp_path):
    (finding,) = findings(project(tmp_path, dict(GOOD, tokenizer="tok-nopad")))
    assert (finding.code, finding.severity.value) == ("PPD301", "error") and "tok-nopad" in finding.message
    assert finding.fix.applicability == Applicability.SAFE, "the pad token is added in the script"


@pytest.mark.parametrize("read, name", [(JSON_READ, "ppo.json"), (YAML_READ, "conf/ppo.yaml"),
                                        (JSON_READ, "conf/ppo.json")])
def test_a_config_field_the_file_writes_points_at_its_line_and_is_advice_only(tmp_path, read, name):
    data = {"tokenizer": "tok-pad", "ppo": {"output_dir": "out", "ppo_epochs": 2}}
    text = json.dumps(data, indent=2) if name.endswith(".json") else \
        "tokenizer: tok-pad\nppo:\n  output_dir: out\n  ppo_epochs: 2\n"
    script = project(tmp_path, data, read, name, text)
    (finding,) = findings(script)
    spread = next(number for number, row in enumerate(script.read_text().splitlines(), 1) if "**cfg" in row)
    assert finding.code == "PPD205" and finding.span.line == spread  # the script's `**cfg["ppo"]`
    (related,) = finding.related
    line = next(number for number, row in enumerate(text.splitlines(), 1) if "ppo_epochs" in row)
    assert (related.span.file, related.span.line) == (str(tmp_path / name), line)
    assert finding.fix.applicability == Applicability.DISPLAY_ONLY
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}
    fix_paths([script], Settings(), TARGET)
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before


@pytest.mark.parametrize("read", [
    'cfg = json.loads(Path("{name}").read_text())\n',
    'with open(os.path.join(os.path.dirname(__file__), "{name}")) as f:\n    cfg = json.load(f)\n',
    'cfg = yaml.safe_load((Path(__file__).resolve().parent / "{name}").open())\n',
    'cfg = json.loads(open("{name}").read())\n',
    'parser = argparse.ArgumentParser()\nparser.add_argument("--config", default=str(Path(__file__).parent / "{name}"))\n'
    'cfg = json.load(open(parser.parse_args().config))\n',
])
def test_the_file_is_read_however_its_path_and_text_are_made(tmp_path, read):
    script = project(tmp_path, dict(GOOD, tokenizer="tok-nopad"), "import argparse, os\nfrom pathlib import Path\n" + read)
    assert [(d.code, d.severity.value) for d in findings(script)] == [("PPD301", "error")]


def test_a_file_the_script_writes_otherwise_is_not_read_from_disk(tmp_path):
    read = 'Path("{name}").write_text(make_config())\ncfg = json.loads(Path("{name}").read_text())\n'
    script = project(tmp_path, dict(GOOD, tokenizer="tok-nopad"), "from pathlib import Path\n" + read)
    assert [(d.code, d.severity.value) for d in findings(script)] == [("PPD301", "warning")]


@pytest.mark.parametrize("read, name, text", [
    (JSON_READ, "missing.json", None),  # not there: the read is unknown, as at run time
    ('with open("../ppo.json") as handle:\n    cfg = json.load(handle)\n', "ppo.json", None),  # outside the folder
    (JSON_READ, "ppo.json", '{"tokenizer": "tok-nopad", "ppo": {"ppo_epochs": NaN}}'),  # not literals alone
    (JSON_READ, "ppo.json", "{not json"),
])
def test_a_file_that_cannot_be_read_leaves_the_values_unknown(tmp_path, read, name, text):
    data = dict(GOOD, tokenizer="tok-nopad")
    script = project(tmp_path, data, read, name, text if text is not None else json.dumps(data))
    if name == "missing.json":
        (tmp_path / name).unlink()
    # unknown: PPD301 only warns that the tokenizer may lack a pad token; no config finding is made up
    assert [(d.code, d.severity.value) for d in findings(script)] == [("PPD301", "warning")]


def test_what_the_script_writes_to_the_file_wins_over_what_is_on_disk(tmp_path):
    read = ('with open("{name}", "w") as handle:\n    json.dump({{"tokenizer": "tok-pad", "ppo": {{"ppo_epochs": 1}}}}, '
            'handle)\n' + JSON_READ)
    script = project(tmp_path, GOOD, read)
    assert codes(script) == ["PPD205"]  # the dict the script dumps, not the file's correct one
    assert textwrap.dedent(script.read_text()).count("json.dump(") == 1


def test_the_probe_builds_the_models_the_file_names(tmp_path):
    """One resolution for rules and probe: the paths the file writes reach the probe, which builds them."""
    script = tmp_path / "train.py"
    (tmp_path / "paths.json").write_text(json.dumps({"policy": str(MODELS / "llama-causal"),
                                                     "reward": str(MODELS / "llama-rm")}))
    script.write_text(textwrap.dedent(f"""\
        import json
        from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer
        from trl.experimental.ppo import PPOConfig, PPOTrainer

        paths = json.load(open("paths.json"))
        tok = AutoTokenizer.from_pretrained("{MODELS / 'tok-pad'}")
        policy = AutoModelForCausalLM.from_pretrained(paths["policy"])
        ref = AutoModelForCausalLM.from_pretrained(paths["policy"])
        rm = AutoModelForSequenceClassification.from_pretrained(paths["reward"], num_labels=1)
        critic = AutoModelForSequenceClassification.from_pretrained(paths["reward"], num_labels=1)
        trainer = PPOTrainer(args=PPOConfig(output_dir="out", use_cpu=True), processing_class=tok, model=policy,
                             ref_model=ref, reward_model=rm, value_model=critic, train_dataset=None)
        """))
    (result,) = probe_files([check_file(script, Settings(), TARGET).setup], ProbeOptions(cwd=str(tmp_path)))
    assert result.ok, result.reason
    facts = result.setup_facts(0)
    built = {role: facts.model(role) for role in ("policy", "reference", "reward", "value")}
    assert all(model.built for model in built.values()), {r: m.reason for r, m in built.items() if not m.built}
    assert built["policy"].source == str(MODELS / "llama-causal") and built["value"].source == str(MODELS / "llama-rm")
