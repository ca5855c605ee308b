"""PPD211 (a PPOConfig keyword no field of the target PPOConfig takes) and the data behind it:
TRL's fields (table.json) and TrainingArguments' per transformers release (training_arguments.json),
checked against the real PPOConfig of trl 1.12 (.venv, transformers 5.24) and 0.12.2 (.venv-trl012,
transformers 4.46.3)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from eras_helpers import check, codes, fix_all
from ppodoctor.explain import match_errors
from ppodoctor.trl_api.eras import Version
from probe_helpers import ROOT, trl012_python


def _config(fields: str) -> str:
    return f"from trl import PPOConfig\nconfig = PPOConfig({fields})\n"


# --- PPD211 ------------------------------------------------------------------------------------------
def _new_config(fields: str) -> str:
    return f"from trl.experimental.ppo import PPOConfig\nconfig = PPOConfig(output_dir='out', {fields})\n"


@pytest.mark.parametrize("source, version, expected", [
    (_new_config("learning_rat=1e-5"), "1.12.0", "learning_rat"),  # a typo
    (_new_config("entropy_coef=0.01"), "1.12.0", "entropy_coef"),  # another library's field
    (_new_config("evaluation_strategy='no'"), "1.12.0", "evaluation_strategy"),  # gone from transformers 4.53 on
    (_config("entropy_coef=0.01"), "0.12.2", "entropy_coef"),
    (_config("batch_size=8, mini_batch_size=8, entropy_coef=0.01"), "0.11.4", "entropy_coef"),
    (_config("**{'entropy_coef': 0.01, 'logging_steps': 2}"), "0.12.2", "entropy_coef"),  # visible dict keys
])
def test_ppd211_fires(source, version, expected):
    found = check(source, version, ("PPD211",))
    assert [d.subject for d in found] == [expected]
    assert f"unexpected keyword argument '{expected}'" in found[0].message


@pytest.mark.parametrize("source, version", [
    # TrainingArguments' fields, which PPOConfig inherits from 0.12 on (the corpus false alarm)
    (_config("logging_steps=1"), "0.12.2"),
    (_config("logging_steps=1, eval_strategy='no', lr_scheduler_type='cosine', adam_beta2=0.99, label_names=[]"),
     "0.12.2"),
    (_new_config("lr_scheduler_type='cosine', warmup_ratio=0.1, logging_dir='logs', seed=3"), "1.12.0"),
    (_new_config("evaluation_strategy='no'"), "0.13.0"),  # transformers 4.46-4.52 still have it
    (_new_config("learning_rat=1e-5"), "1.10.0"),  # a minor release the table did not measure
    (_new_config("learning_rat=1e-5"), "1.13.0"),  # no PPO: PPD203's
    (_config("**extra"), "0.12.2"),  # keys that cannot be seen
    (_new_config("ppo_epochs=4"), "1.12.0"),  # another era's field: PPD205's
])
def test_ppd211_silent(source, version):
    assert "PPD211" not in codes(source, version)


def test_ppd211_suggests_only_an_unambiguous_near_miss():
    typo = check(_new_config("learning_rat=1e-5"), "1.12.0", ("PPD211",))[0]
    assert "did you mean `learning_rate=`?" in typo.message
    assert typo.fix is not None and typo.fix.applicability == "display-only"  # advice, never written
    assert fix_all(_new_config("learning_rat=1e-5"), "1.12.0", "PPD211") == _new_config("learning_rat=1e-5")
    unrelated = check(_new_config("entropy_coef=0.01"), "1.12.0", ("PPD211",))[0]
    assert unrelated.fix is None and unrelated.message.endswith("remove it")


def test_ppd211_with_a_known_transformers():
    from ppodoctor import api
    from ppodoctor.config import Settings
    from ppodoctor.trl_api.eras import Target

    source = _new_config("warmup_ratio=0.1, logging_dir='logs'")
    five = Target.of("1.12.0", transformers="5.24.0", transformers_source="installed in .venv")
    found = api.check_source(source, "s.py", settings=Settings(select=("PPD211",)), target=five).diagnostics
    assert [d.subject for d in found] == ["warmup_ratio", "logging_dir"]  # transformers 5 dropped both
    four = Target.of("1.12.0", transformers="4.57.1", transformers_source="installed in .venv")
    assert api.check_source(source, "s.py", settings=Settings(select=("PPD211",)), target=four).diagnostics == ()
    # A minor release between measured ones, not installed here: its fields may differ from either
    # neighbour's, so nothing is said (and "Checked against" says why).
    between = Target.of("1.12.0", transformers="4.52.0", transformers_source="installed in .venv")
    assert api.check_source(source, "s.py", settings=Settings(), target=between).diagnostics == ()
    # Newer than every measured release and not installed here: checked with the newest measured
    # TrainingArguments (never silence; tests/test_installed_facts.py checks what "Checked against" says).
    newer = Target.of("1.12.0", transformers="5.30.0", transformers_source="installed in .venv")
    found = api.check_source(source, "s.py", settings=Settings(select=("PPD211",)), target=newer).diagnostics
    assert [d.subject for d in found] == ["warmup_ratio", "logging_dir"]


KEYWORDS = ["ppo_epochs", "log_with", "logging_steps", "output_dir", "num_ppo_epochs", "learning_rat", "entropy_coef",
            "evaluation_strategy", "model_name", "adap_kl_ctrl", "warmup_ratio", "forward_batch_size"]


@pytest.mark.parametrize("version", ["0.11.4", "0.12.2", "0.15.2", "1.12.0"])
def test_ppd205_and_ppd211_never_both_on_one_keyword(version):
    source = _config(", ".join(f"{name}=1" for name in KEYWORDS))
    found = [d for d in check(source, version) if d.code in ("PPD205", "PPD211")]
    subjects = [d.subject for d in found]
    assert len(subjects) == len(set(subjects)) and subjects  # each keyword at most once
    assert "learning_rat" in {d.subject for d in found if d.code == "PPD211"}


def test_ppd211_checks_a_config_module():
    module = "from trl import PPOConfig\n\n\ndef make():\n    return PPOConfig(output_dir='o', entropy_coef=0.1)\n"
    assert codes(module, "0.12.2") == ["PPD211"]


def test_training_arguments_data_matches_the_installed_transformers():
    """training_arguments.json (read from the wheels with ast) against the real dataclasses."""
    script = ("import dataclasses, json, transformers\nfrom transformers import TrainingArguments\n"
              "print(json.dumps([transformers.__version__, sorted(f.name for f in dataclasses.fields(TrainingArguments)"
              " if f.init)]))\n")
    data = json.loads((ROOT / "ppodoctor" / "trl_api" / "training_arguments.json").read_text())["versions"]
    for python in (ROOT / ".venv" / "bin" / "python", trl012_python()):
        if python is None or not Path(python).exists():
            continue
        done = subprocess.run([str(python), "-W", "ignore", "-c", script], capture_output=True, text=True, timeout=300)
        version, fields = json.loads(done.stdout.strip().splitlines()[-1])
        assert sorted(data[version]) == fields, version


_REAL_CONFIG = """
import json, sys, warnings
warnings.simplefilter("ignore")
try:
    from trl.experimental.ppo import PPOConfig
except ImportError:
    from trl import PPOConfig
out = {}
for fields in json.loads(sys.argv[1]):
    try:
        eval(f"PPOConfig(output_dir='out', use_cpu=True, bf16=False, {fields})")
        out[fields] = ""
    except Exception as error:
        out[fields] = f"{type(error).__name__}: {error}"
print(json.dumps(out))
"""
REAL_CASES = ["entropy_coef=0.01", "learning_rat=1e-5", "logging_steps=1", "eval_strategy='no'", "adam_beta2=0.99",
              "lr_scheduler_type='cosine'", "label_names=[]", "evaluation_strategy='no'", "warmup_ratio=0.1",
              "ppo_epochs=4"]


def _real(python: str) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRL_EXPERIMENTAL_SILENCE="1")
    done = subprocess.run([python, "-c", _REAL_CONFIG, json.dumps(REAL_CASES)], capture_output=True, text=True,
                          timeout=300, env=env, cwd=str(Path(__file__).parent))
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _installed_target(python: str):
    from ppodoctor.trl_api.target import installed_versions
    from ppodoctor.trl_api.eras import Target

    found = installed_versions(python)
    return Target.of(found["trl"], transformers=found["transformers"], transformers_source="installed")


@pytest.mark.parametrize("which", ["1.12", "0.12"])
def test_ppd205_ppd211_match_real_trl(which):
    from ppodoctor import api
    from ppodoctor.config import Settings

    python = str(ROOT / ".venv" / "bin" / "python") if which == "1.12" else trl012_python()
    if python is None or not Path(python).exists():
        pytest.skip(f"no trl {which} interpreter")
    errors = _real(python)
    target = _installed_target(python)
    module = "trl.experimental.ppo" if target.version >= Version.parse("0.26") else "trl"
    for fields, error in errors.items():
        source = f"from {module} import PPOConfig\nconfig = PPOConfig(output_dir='out', {fields})\n"
        found = {d.code for d in api.check_source(source, "s.py", settings=Settings(select=("PPD205", "PPD211")),
                                                  target=target).diagnostics}
        name = fields.split("=")[0]
        if not error:
            assert found == set(), (which, fields)
            continue
        assert error == f"TypeError: PPOConfig.__init__() got an unexpected keyword argument '{name}'", error
        assert len(found) == 1, (which, fields, found)  # exactly one of the two rules
        matches = match_errors(error)
        assert matches and matches[0].known.codes[0] == found.pop(), (fields, matches)
