"""PPD210 (a trl >= 0.12 script on trl <= 0.11), PPD402 (the old PPOConfig's batch division) and
FileSetup.configs (PPOConfig calls no trainer call takes), with the real error texts measured in
trl 0.11.4 (.venv-trl011-site run by .venv-trl012's interpreter, see scripts/setup)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import libcst
import pytest

from eras_helpers import check, codes, fix_all
from ppodoctor.explain import match_errors
from ppodoctor.rules import find_rule
from ppodoctor.setup import model
from ppodoctor.setup.extract import extract
from ppodoctor.trl_api import table
from ppodoctor.trl_api.eras import Version
from probe_helpers import ROOT, trl012_python

FIXTURES = ROOT / "fixtures" / "eras"
V012_SCRIPT = (FIXTURES / "v012_script.py").read_text()
V013_SCRIPT = (FIXTURES / "v013_script.py").read_text()
OLD_SCRIPT = (FIXTURES / "old_era_script.py").read_text()
GATED = {"PPD201", "PPD202", "PPD205", "PPD208"}


# --- PPD210 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source", [V013_SCRIPT, V013_SCRIPT.replace("trl.experimental.ppo", "trl"), V012_SCRIPT])
@pytest.mark.parametrize("version", ["0.11.4", "0.9.6", "0.7.11"])
def test_new_era_script_on_old_pin_is_one_finding(source, version):
    found = check(source, version)
    assert [d.code for d in found] == ["PPD210"]  # no PPD201/202/205/208 cascade of renames
    assert found[0].fix is None and found[0].span.line == source[:source.index("PPOTrainer(")].count("\n") + 1


def test_ppd210_pin_comes_from_the_era_table():
    message = check(V013_SCRIPT, "0.11.4")[0].message
    # trl.experimental.ppo exists from 0.26, PPO is gone in 1.13
    assert "`trl>=0.26,<1.13` (or `trl==1.12.0`)" in message and "`args=`" in message
    assert "`trl.experimental.ppo`" in message
    # `from trl import PPOTrainer`: an ImportError from 0.29; 0.26-0.28 warn, so the clean pin is 0.25.1
    assert "`trl>=0.13,<0.29` (or `trl==0.25.1`)" in check(V013_SCRIPT.replace("trl.experimental.ppo", "trl"),
                                                             "0.11.4")[0].message
    # config=/policy=: 0.12, deprecated in 0.13-0.14, a TypeError from 0.15
    assert "`trl>=0.12,<0.15` (or `trl==0.12.2`)" in check(V012_SCRIPT, "0.11.4")[0].message
    # a TrainingArguments field that 1.12's PPOConfig redeclares but 0.13's inherits does not move the pin
    inherited = V013_SCRIPT.replace("trl.experimental.ppo", "trl").replace('PPOConfig(output_dir="out")',
                                                                          'PPOConfig(output_dir="out", logging_steps=1)')
    assert "logging_steps=1" in inherited
    assert "`trl>=0.13,<0.29`" in check(inherited, "0.11.4")[0].message


@pytest.mark.parametrize("source, version", [
    (OLD_SCRIPT, "0.11.4"),  # a real value-head-era script on its own era
    (V013_SCRIPT, "1.12.0"), (V012_SCRIPT, "0.12.2"),  # new-era scripts on new targets
    (V013_SCRIPT, "0.12.2"),  # new target: the per-keyword rules speak
])
def test_ppd210_silent(source, version):
    assert "PPD210" not in codes(source, version)


def test_ppd210_silent_for_version_aware_scripts():
    shim = V013_SCRIPT.replace("from trl.experimental.ppo import PPOConfig, PPOTrainer\n",
                               "try:\n    from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
                               "except ImportError:\n    from trl import PPOConfig, PPOTrainer\n")
    assert "PPD210" not in codes(shim, "0.11.4")
    branch = V013_SCRIPT.replace("from trl.experimental.ppo import PPOConfig, PPOTrainer\n",
                                 "import trl\nfrom packaging import version\n"
                                 "if version.parse(trl.__version__) >= version.parse('0.26'):\n"
                                 "    from trl.experimental.ppo import PPOConfig, PPOTrainer\n"
                                 "else:\n    from trl import PPOConfig, PPOTrainer\n")
    found = set(codes(branch, "0.11.4"))
    assert "PPD210" not in found and "PPD201" in found  # the keywords are still judged one by one


def test_ppd210_silent_for_a_trainer_call_in_a_version_branch():
    body = V013_SCRIPT.split("trainer = PPOTrainer(")[1]
    new_call = "    trainer = PPOTrainer(" + body.split("\ntrainer.train()")[0].replace("\n", "\n    ")
    source = (V013_SCRIPT.split("trainer = PPOTrainer(")[0].replace("trl.experimental.ppo", "trl")
              + "import trl\nfrom packaging import version\n"
              "if version.parse(trl.__version__) >= version.parse('0.13'):\n" + new_call + "\n"
              "else:\n    trainer = PPOTrainer(config=PPOConfig(), model=policy, tokenizer=tokenizer)\n")
    compile(source, "s.py", "exec")
    file_setup = extract(libcst.parse_module(source), "s.py")
    assert [g.compare for s in file_setup.setups for g in s.guards] == [">=", ">="]
    assert [g.branch for s in file_setup.setups for g in s.guards] == ["body", "else"]
    assert model.loads(model.dumps(file_setup)) == file_setup
    assert "PPD210" not in codes(source, "0.11.4")
    unguarded = source.replace("if version.parse(trl.__version__) >= version.parse('0.13'):", "if use_new_api:")
    assert "PPD210" in codes(unguarded, "0.11.4")  # an `if` on something else says nothing about eras


def test_ppd210_silent_on_a_mixed_script():
    # a value-head wrapper with new keywords: half of each era, each mismatch its own finding
    mixed = ("from trl import AutoModelForCausalLMWithValueHead, PPOConfig, PPOTrainer\n"
             "model = AutoModelForCausalLMWithValueHead.from_pretrained('gpt2')\n"
             "trainer = PPOTrainer(config=PPOConfig(), model=model, processing_class=tok)\n")
    found = codes(mixed, "0.11.4")
    assert "PPD210" not in found and "PPD201" in found


def test_ppd210_noqa_and_selection():
    source = V013_SCRIPT.replace("trainer = PPOTrainer(args=", "trainer = PPOTrainer(  # noqa: PPD210\n    args=")
    assert codes(source, "0.11.4") == []
    assert codes(V013_SCRIPT, "0.11.4", ("PPD201",)) == []  # gated, not merely unselected


# --- FileSetup.configs --------------------------------------------------------------------------------
CONFIG_MODULE = """\
from trl import PPOConfig


def make_config():
    return PPOConfig(batch_size=8, mini_batch_size=3)


DEFAULT = PPOConfig(ppo_epochs=4, log_with=None)
"""


def test_free_configs_in_the_setup_model():
    file_setup = extract(libcst.parse_module(CONFIG_MODULE), "config.py")
    assert file_setup.setups == ()
    assert [(o.kind, o.class_name, [k.name for k in o.keywords]) for o in file_setup.configs] == [
        ("constructor", "trl.PPOConfig", ["batch_size", "mini_batch_size"]),
        ("constructor", "trl.PPOConfig", ["ppo_epochs", "log_with"])]
    assert model.loads(model.dumps(file_setup)) == file_setup  # the probe reads the same record


def test_a_trainer_config_is_not_a_free_config():
    source = "from trl import PPOConfig, PPOTrainer\ncfg = PPOConfig(batch_size=8)\n" \
             "other = PPOConfig(batch_size=4)\ntrainer = PPOTrainer(config=cfg, model=m, tokenizer=t)\n"
    file_setup = extract(libcst.parse_module(source), "s.py")
    assert [o.span.line for o in file_setup.configs] == [3]
    local = "class PPOConfig:\n    pass\nPPOConfig(batch_size=8)\n"  # not trl's
    assert extract(libcst.parse_module(local), "s.py").configs == ()


def test_config_module_is_checked():
    assert codes(CONFIG_MODULE, "0.11.4") == ["PPD402"]  # line 6: 8 / 3
    # ppo_epochs, log_with (old fields; the renames apply there too) and the import path of 1.12
    assert codes(CONFIG_MODULE, "1.12.0") == ["PPD202", "PPD205", "PPD205"]
    fixed = fix_all(CONFIG_MODULE, "1.12.0", "PPD205")
    assert "PPOConfig(num_ppo_epochs=4, report_to='none')" in fixed


# --- PPD402 ------------------------------------------------------------------------------------------
def _config(fields: str) -> str:
    return f"from trl import PPOConfig\nconfig = PPOConfig({fields})\n"


# (fields, fires on 0.11.4): each case is also built in the real trl 0.11.4 below.
OLD_BATCH_CASES = [
    ("batch_size=8", True),  # the defaults divide by 128 (TRL issue #1442)
    ("batch_size=8, mini_batch_size=3", True),
    ("batch_size=64, mini_batch_size=16, gradient_accumulation_steps=3", True),
    ("batch_size=256, forward_batch_size=3", True),  # forward_batch_size overwrites mini_batch_size
    ("batch_size=8, mini_batch_size=4, gradient_accumulation_steps=2", False),
    ("batch_size=256", False),
    ("", False),  # 128 / (128 * 1)
    ("mini_batch_size=3, forward_batch_size=4, batch_size=8", False),
]


@pytest.mark.parametrize("fields, fires", OLD_BATCH_CASES)
def test_ppd402_cases(fields, fires):
    assert ("PPD402" in codes(_config(fields), "0.11.4")) == fires


@pytest.mark.parametrize("fields", ["batch_size=n", "batch_size=8, **extra", "batch_size=8, entropy_coef=0.1"])
def test_ppd402_silent_when_a_factor_is_unknown_or_a_typeerror_comes_first(fields):
    assert "PPD402" not in codes(_config(fields), "0.11.4")


def test_ppd402_only_in_the_value_head_era_and_where_defaults_were_measured():
    assert "PPD402" in codes(_config("batch_size=8"), "0.7.11")
    assert "PPD402" not in codes(_config("batch_size=8"), "0.12.2")  # a TrainingArguments config
    assert "PPD402" not in codes(_config("batch_size=8"), "0.6.0")  # older than every measured release
    # 0.7.1-0.7.10 defaulted to batch_size=256, mini_batch_size=1 (read from their wheels); the table
    # measures 0.7.11 (128/128) only, so it cannot vouch for them: PPOConfig(batch_size=1) runs on 0.7.1
    # (docs/corpus.tsv, sean-lamont/bait) and must not be accused
    assert "PPD402" not in codes(_config("batch_size=1"), "0.7.1")
    assert "PPD402" in codes(_config("batch_size=8"), "0.8.0")  # 0.7.11 and 0.8.6 agree around it
    for release in ("0.7.11", "0.8.6", "0.9.6", "0.10.1", "0.11.4"):  # read from each wheel's ppo_config.py
        defaults = table.ppo_config_defaults(Version.parse(release))
        assert (defaults["batch_size"], defaults["mini_batch_size"], defaults["gradient_accumulation_steps"],
                defaults["forward_batch_size"]) == (128, 128, 1, None)


def test_ppd402_in_a_trainer_call_and_its_message():
    source = ("from trl import PPOConfig, PPOTrainer\n"
              "trainer = PPOTrainer(config=PPOConfig(batch_size=16), model=m, tokenizer=t)\n")
    found = check(source, "0.11.4")
    assert [d.code for d in found] == ["PPD402"] and found[0].setup_index == 0
    assert "inexact division: 16 / 128 = 0.125" in found[0].message and "`mini_batch_size=16`" in found[0].message


# --- the real trl 0.11.4 -------------------------------------------------------------------------------
_MEASURE = """
import json, sys, warnings
warnings.simplefilter("ignore")
from trl import PPOConfig, PPOTrainer, __version__
out = {"version": __version__, "configs": []}
for fields in json.loads(sys.argv[1]):
    try:
        eval(f"PPOConfig({fields})")
        out["configs"].append("")
    except Exception as error:
        out["configs"].append(f"{type(error).__name__}: {error}")
try:
    PPOTrainer(config=PPOConfig(), processing_class=None, reward_model=None)
except TypeError as error:
    out["trainer"] = f"TypeError: {error}"
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def trl011():
    site = ROOT / ".venv-trl011-site"
    python = trl012_python()
    if python is None or not (site / "trl").is_dir():
        pytest.skip("no trl 0.11.4 (.venv-trl011-site with .venv-trl012's interpreter; scripts/setup makes it)")
    fields = [fields for fields, _fires in OLD_BATCH_CASES] + ["entropy_coef=0.1"]
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([python, "-c", _MEASURE, json.dumps(fields)], capture_output=True, text=True,
                            env=env, timeout=300, cwd=str(Path(__file__).parent))
    assert result.returncode == 0, result.stderr[-2000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    assert measured["version"] == "0.11.4"
    return dict(zip(fields, measured["configs"])), measured["trainer"]


def test_ppd402_matches_real_trl_0_11(trl011):
    errors, _trainer = trl011
    rule = find_rule("PPD402")
    for fields, fires in OLD_BATCH_CASES:
        error = errors[fields]
        assert bool(error) == fires, (fields, error)
        if fires:
            assert error.startswith("ValueError: `batch_size` must be a multiple of `mini_batch_size * "
                                    "gradient_accumulation_steps`, inexact division: ")
            assert rule.known_errors[0].search(error), error
            message = check(_config(fields), "0.11.4", ("PPD402",))[0].message
            assert error.split("inexact division: ")[1] in message  # the same figures as TRL's
    assert errors["batch_size=8"] == ("ValueError: `batch_size` must be a multiple of `mini_batch_size * "
                                      "gradient_accumulation_steps`, inexact division: 8 / 128 = 0.0625")


def test_ppd210_matches_real_trl_0_11(trl011):
    errors, trainer = trl011
    assert trainer == "TypeError: PPOTrainer.__init__() got an unexpected keyword argument 'processing_class'"
    matches = match_errors(trainer)  # `ppodoctor explain` names PPD201's entry, which PPD210 shares
    assert matches[0].known.key == "other-era-keyword" and "PPD210" in matches[0].known.codes
    assert errors["entropy_coef=0.1"] == "TypeError: PPOConfig.__init__() got an unexpected keyword argument " \
                                         "'entropy_coef'"
    assert find_rule("PPD211").known_errors[0].search(errors["entropy_coef=0.1"])
    assert "PPD211" in codes(_config("entropy_coef=0.1"), "0.11.4")

