"""What is installed, read from it: a trl / transformers release the tables did not measure is read
from its installation's source with `ast` (never imported), and one neither measured nor installed is
checked with the newest measured data, said so in "Checked against".

The fakes below are installed releases no table knows: transformers 9.1.0, whose TrainingArguments
gains `rollout_shards` and loses `adam_beta2`, and trl 1.12.9 (inside the PPO era: eras go by
version), whose PPOConfig gains `rollout_temperature` and takes the old `init_kl_coef` again, whose
PPOTrainer gains `rollout_workers=` and `tokenizer=` and drops `peft_config=`, and whose
trl.experimental.ppo no longer exports the value-head wrappers. Both packages' `__init__.py` raise
(and leave a mark) when imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ppodoctor import api
from ppodoctor.config import Settings
from ppodoctor.trl_api import table
from ppodoctor.trl_api.coverage import describe
from ppodoctor.trl_api.eras import Target, Version

ROOT = Path(__file__).resolve().parent.parent
TRAINING_ARGUMENTS = json.loads((ROOT / "ppodoctor" / "trl_api" / "training_arguments.json").read_text())["versions"]
NEWEST_TRANSFORMERS = str(max(Version.parse(v) for v in TRAINING_ARGUMENTS))
NEWEST_TRL = str(max(table.known_versions()))
FAKE_TRL, FAKE_TRANSFORMERS = "1.12.9", "9.1.0"

_IMPORTED = """\
import os
open(os.path.join(os.path.dirname(__file__), "IMPORTED"), "w").close()
raise RuntimeError("{name} was imported: ppodoctor must only read it")
"""
_TRAINING_ARGS = '''\
from dataclasses import dataclass, field


@dataclass
class TrainingArguments:
    output_dir: str = None
    per_device_train_batch_size: int = 8
    learning_rate: float = 5e-5
    adam_beta1: float = 0.9
    warmup_steps: int = 0
    logging_steps: float = 500
    seed: int = 42
    report_to: str = "none"
    bf16: bool = False
    rollout_shards: int = 1
    _n_gpu: int = field(init=False, repr=False, default=-1)
'''
_PPO_CONFIG = '''\
from dataclasses import dataclass

from transformers import TrainingArguments


@dataclass
class PPOConfig(TrainingArguments):
    num_ppo_epochs: int = 4
    kl_coef: float = 0.05
    init_kl_coef: float = 0.2
    num_mini_batches: int = 1
    rollout_temperature: float = 0.7
'''
_PPO_TRAINER = '''\
class PPOTrainer:
    def __init__(self, args, processing_class, model, ref_model, reward_model, train_dataset, value_model,
                 data_collator=None, eval_dataset=None, rollout_workers=1, tokenizer=None):
        self.args = args
'''
_PPO_PACKAGE = ('from .ppo_config import PPOConfig\nfrom .ppo_trainer import PPOTrainer\n\n'
                '__all__ = ["PPOConfig", "PPOTrainer"]\n')

_CALL = ("from trl.experimental.ppo import PPOConfig, PPOTrainer\n\n"
         "config = PPOConfig(output_dir='out', {fields})\n"
         "trainer = PPOTrainer(args=config, processing_class=tok, model=policy, ref_model=ref, reward_model=rm,\n"
         "                     train_dataset=ds, value_model=critic, {keywords})\n")
# Everything the fakes added: fine there, and each an error on the measured 1.12.0.
NEW = _CALL.format(fields="rollout_temperature=0.5, rollout_shards=4, init_kl_coef=0.1",
                   keywords="rollout_workers=2, tokenizer=tok")
# What the fakes removed: an error there, fine on 1.12.0.
REMOVED = ("from trl.experimental.ppo import AutoModelForCausalLMWithValueHead\n"
           + _CALL.format(fields="adam_beta2=0.99", keywords="peft_config=None"))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _metadata(site: Path, name: str, version: str, requires: str = "") -> None:
    _write(site / f"{name}-{version}.dist-info" / "METADATA",
           f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires}\n")


def fake_site(where: Path, trl: bool = True, transformers_source: bool = True) -> Path:
    site = where / "site"
    _metadata(site, "transformers", FAKE_TRANSFORMERS)
    if transformers_source:
        _write(site / "transformers" / "__init__.py", _IMPORTED.format(name="transformers"))
        _write(site / "transformers" / "training_args.py", _TRAINING_ARGS)
    if trl:
        _metadata(site, "trl", FAKE_TRL, "Requires-Dist: transformers>=9.0")
        _write(site / "trl" / "__init__.py", _IMPORTED.format(name="trl"))
        _write(site / "trl" / "experimental" / "__init__.py", "")
        _write(site / "trl" / "experimental" / "ppo" / "__init__.py", _PPO_PACKAGE)
        _write(site / "trl" / "experimental" / "ppo" / "ppo_config.py", _PPO_CONFIG)
        _write(site / "trl" / "experimental" / "ppo" / "ppo_trainer.py", _PPO_TRAINER)
    return site


def _environment(site: Path = None) -> dict:
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    paths = ([str(site)] if site else []) + [str(ROOT)] + inherited
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def run_check(script: Path, *options: str, site: Path = None) -> tuple[list[str], str]:
    """The codes `ppodoctor check` reports (in order) and its "Checked against" line."""
    done = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--output-format", "concise", *options,
                           str(script)], capture_output=True, text=True, env=_environment(site), timeout=120)
    assert done.returncode in (0, 1), done.stderr
    found = [line.split(": ")[1].split()[0] for line in done.stdout.splitlines() if line.startswith(str(script))]
    checked = next(line for line in done.stdout.splitlines() if line.startswith("Checked against"))
    return found, checked


def _never_imported(site: Path) -> None:
    assert not (site / "trl" / "IMPORTED").exists() and not (site / "transformers" / "IMPORTED").exists()


def _script(tmp_path: Path, text: str, name: str = "train.py") -> Path:
    script = tmp_path / "scripts" / name
    _write(script, text)
    return script


def _wrapper(tmp_path: Path, site: Path) -> Path:
    """An interpreter to pass as --python: ours, with the fake site first on its path."""
    wrapper = tmp_path / "bin" / "python"
    _write(wrapper, f'#!/bin/sh\nPYTHONPATH="{site}${{PYTHONPATH:+:$PYTHONPATH}}" exec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


# --- the fakes are what they claim: no table knows their changes ---------------------------------------
def test_the_fakes_differ_from_every_table():
    assert all("rollout_shards" not in fields and "adam_beta2" in fields for fields in TRAINING_ARGUMENTS.values())
    assert "adam_beta2" not in table.every_config_field()  # so it is PPD211's, not PPD205's
    entry = table.facts(Version.parse("1.12.0"))
    assert "rollout_temperature" not in table.every_config_field() and "init_kl_coef" not in entry["config_fields"]
    params = {p["name"] for p in entry["trainer_params"]}
    assert "peft_config" in params and "tokenizer" not in params and "rollout_workers" not in params
    wrapper = "AutoModelForCausalLMWithValueHead"
    assert table.name_status("trl.experimental.ppo", wrapper, Version.parse(FAKE_TRL)) == "ok"


# --- installed in the interpreter running ppodoctor ----------------------------------------------------
def test_an_installed_release_no_table_knows_is_read_from_its_source(tmp_path):
    site = fake_site(tmp_path)
    found, checked = run_check(_script(tmp_path, NEW), site=site)
    assert found == [], found
    # What is installed is what is read: nothing more to say.
    assert checked == (f"Checked against trl {FAKE_TRL} (from trl installed in the interpreter running ppodoctor, "
                       f"{sys.executable}), transformers {FAKE_TRANSFORMERS} (installed in the interpreter running "
                       "ppodoctor).")
    removed, _checked = run_check(_script(tmp_path, REMOVED, "removed.py"), site=site)
    assert sorted(removed) == ["PPD201", "PPD202", "PPD211"], removed
    _never_imported(site)


def test_the_same_scripts_on_the_measured_release_for_contrast(tmp_path):
    found, _checked = run_check(_script(tmp_path, NEW), "--trl-version", "1.12.0")
    assert sorted(found) == ["PPD201", "PPD205", "PPD211", "PPD211"], found  # tokenizer=, init_kl_coef, the two new
    removed, _checked = run_check(_script(tmp_path, REMOVED, "removed.py"), "--trl-version", "1.12.0")
    assert removed == [], removed


def test_findings_name_what_the_installed_source_says(tmp_path):
    site = fake_site(tmp_path)
    script = _script(tmp_path, REMOVED)
    done = subprocess.run([sys.executable, "-m", "ppodoctor", "check", "--output-format", "concise", str(script)],
                          capture_output=True, text=True, env=_environment(site), timeout=120)
    assert f"PPOConfig has no field `adam_beta2` in trl {FAKE_TRL} with transformers {FAKE_TRANSFORMERS}" in done.stdout
    assert f"`peft_config=` is not a PPOTrainer parameter in trl {FAKE_TRL}" in done.stdout
    assert f"`from trl.experimental.ppo import AutoModelForCausalLMWithValueHead` is an ImportError in trl " \
           f"{FAKE_TRL}" in done.stdout
    _never_imported(site)


# --- installed in the interpreter named by --python -----------------------------------------------------
def test_python_option_reads_the_other_interpreters_installation(tmp_path):
    site = fake_site(tmp_path)
    wrapper = _wrapper(tmp_path, site)
    found, checked = run_check(_script(tmp_path, NEW), "--python", str(wrapper))
    assert found == [], found
    assert checked == (f"Checked against trl {FAKE_TRL} (from trl installed in --python, {wrapper}), "
                       f"transformers {FAKE_TRANSFORMERS} (installed in --python).")
    removed, _checked = run_check(_script(tmp_path, REMOVED, "removed.py"), "--python", str(wrapper))
    assert sorted(removed) == ["PPD201", "PPD202", "PPD211"], removed
    _never_imported(site)


def test_the_probe_says_where_the_packages_are(tmp_path):
    from ppodoctor.trl_api.target import installed_versions

    site = fake_site(tmp_path)
    found = installed_versions(str(_wrapper(tmp_path, site)))
    assert found == {"trl": FAKE_TRL, "transformers": FAKE_TRANSFORMERS, "trl_path": str(site),
                     "transformers_path": str(site)}
    _never_imported(site)


# --- neither measured nor installed: the newest measured data, said so ------------------------------------
def test_a_transformers_newer_than_every_table_without_its_source_is_checked_with_the_newest(tmp_path):
    site = fake_site(tmp_path, trl=False, transformers_source=False)  # metadata only: nothing to read
    script = _script(tmp_path, "from trl.experimental.ppo import PPOConfig\n"
                               "config = PPOConfig(output_dir='out', learning_rat=1e-5, adam_beta2=0.99)\n")
    found, checked = run_check(script, site=site)
    assert found == ["PPD211"], found  # the typo; adam_beta2 is in the newest measured TrainingArguments
    assert f"transformers {FAKE_TRANSFORMERS} (installed in the interpreter running ppodoctor; not measured: " \
           f"checked with {NEWEST_TRANSFORMERS}'s TrainingArguments, the newest measured)" in checked


def test_a_target_transformers_newer_than_every_table_is_never_silent():
    source = _CALL.format(fields="learning_rat=1e-5, warmup_steps=3", keywords="data_collator=None")
    target = Target.of("1.12.0", transformers="9.3.0", transformers_source="given")
    report = api.check_source(source, "s.py", settings=Settings(select=("PPD211",)), target=target)
    assert [d.subject for d in report.diagnostics] == ["learning_rat"]
    assert f"not measured: checked with {NEWEST_TRANSFORMERS}'s TrainingArguments, the newest measured" \
           in describe(target)


def test_a_transformers_between_measured_minors_is_said_to_be_unknown():
    target = Target.of("1.12.0", transformers="4.52.0", transformers_source="given")
    assert "its TrainingArguments fields are not known" in describe(target)
    assert describe(Target.of("1.12.0", transformers=NEWEST_TRANSFORMERS, transformers_source="given")) \
        == f"trl 1.12.0 (from --trl-version), transformers {NEWEST_TRANSFORMERS} (given)"


def test_a_trl_newer_than_every_table_says_which_data(tmp_path):
    script = _script(tmp_path, "from trl.experimental.ppo import PPOConfig\n")
    newer = f"{Version.parse(NEWEST_TRL).major}.{Version.parse(NEWEST_TRL).minor + 4}.0"
    found, checked = run_check(script, "--trl-version", newer)
    assert found == ["PPD203"]
    assert f"Checked against trl {newer} (from --trl-version; not measured: checked with trl {NEWEST_TRL}'s data, " \
           "the newest measured)" in checked
    _found, measured = run_check(script, "--trl-version", NEWEST_TRL)
    assert f"trl {NEWEST_TRL} (from --trl-version)" in measured


# --- one reader: the installed release reads as its wheel did ---------------------------------------------
def _installed(name: str) -> tuple[str, str]:
    from ppodoctor.trl_api.installed import installations

    version, root = installations((name,))[name]
    if not version or not root:
        pytest.skip(f"no {name} installed here")
    return version, root


def test_installed_trl_reads_as_the_table_says():
    """The venv's trl, read in place, gives table.json's entry and import facts for its release."""
    from ppodoctor.trl_api.module_names import Release
    from ppodoctor.trl_api.source_facts import describe_release
    from ppodoctor.trl_api.source_tree import DirectoryTree

    version, root = _installed("trl")
    if version not in table.load()["versions"]:
        pytest.skip(f"trl {version} is not in table.json")
    release = Release(DirectoryTree(root, "trl", version))
    assert describe_release(release) == table.load()["versions"][version]
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import trl_import_table
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    view = table.imports().view(version)
    assert trl_import_table.describe(release).view() == view
    # The one-name path `check` takes for an installed release answers as the table does.
    fresh = Release(DirectoryTree(root, "trl", version))
    measured = Version.parse(version)
    for module, names in view["names"].items():
        for name in names:
            assert fresh.status(module, name) == table.name_status(module, name, measured), (module, name)


def test_installed_transformers_reads_as_its_dataclass_says():
    """TrainingArguments read from the venv's transformers: training_arguments.json's entry where it has
    the release, and the real dataclass's fields (imported in a subprocess) in any case."""
    from ppodoctor.trl_api import installed_facts

    version, root = _installed("transformers")
    fields = installed_facts.training_arguments(Version.parse(version), root)
    if version in TRAINING_ARGUMENTS:
        assert fields == frozenset(TRAINING_ARGUMENTS[version])
    script = ("import dataclasses, json, transformers\nfrom transformers import TrainingArguments\n"
              "print(json.dumps([transformers.__version__, sorted(f.name for f in dataclasses.fields(TrainingArguments)"
              " if f.init)]))\n")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True, timeout=300)
    real_version, real = json.loads(done.stdout.strip().splitlines()[-1])
    assert real_version == version and sorted(fields) == real


# --- where the package is -------------------------------------------------------------------------------
def test_an_editable_install_is_found_through_direct_url(tmp_path):
    from ppodoctor.trl_api import installed

    site, project = tmp_path / "site", tmp_path / "checkout"
    _metadata(site, "trl", "1.13.0.dev0")
    _write(site / "trl-1.13.0.dev0.dist-info" / "direct_url.json",
           json.dumps({"url": project.as_uri(), "dir_info": {"editable": True}}))
    _write(project / "src" / "trl" / "__init__.py", "")
    assert installed.installations(("trl",), [str(site)]) == {"trl": ("1.13.0.dev0", str(project / "src"))}
    _metadata(site, "other", "1.0")
    assert installed.installations(("other",), [str(site)]) == {"other": ("1.0", "")}


def test_reading_stays_lazy_and_imports_nothing(tmp_path):
    """A check with nothing to ask of the installation reads none of it."""
    site = fake_site(tmp_path)
    code = textwrap.dedent("""\
        import sys
        from ppodoctor import api
        from ppodoctor.trl_api import installed_facts
        report = api.check_source("import os\\n", "u.py")
        assert str(report.target.version) == "1.12.9" and report.target.trl_path, report.target
        assert not installed_facts._entries and not installed_facts._training_arguments
        report = api.check_source(open(sys.argv[1]).read(), "t.py")
        assert installed_facts._entries and installed_facts._training_arguments
        assert "trl" not in sys.modules and "transformers" not in sys.modules
        print(sorted(d.code for d in report.diagnostics))
        """)
    done = subprocess.run([sys.executable, "-c", code, str(_script(tmp_path, REMOVED))], capture_output=True,
                          text=True, env=_environment(site), timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['PPD201', 'PPD202', 'PPD211']"
    _never_imported(site)


def test_what_checked_against_says_of_an_installed_trl_newer_than_every_table(tmp_path):
    newer = f"{Version.parse(NEWEST_TRL).major}.{Version.parse(NEWEST_TRL).minor + 4}.0"
    installed = Target(Version.parse(newer), "trl installed in --python, python", trl_path=str(tmp_path))
    assert describe(installed) == f"trl {newer} (from trl installed in --python, python; not measured: its facts " \
                                   "are read from its installed source)"
    assert describe(Target(Version.parse(FAKE_TRL), "trl installed in --python, python", trl_path=str(tmp_path))) \
        == f"trl {FAKE_TRL} (from trl installed in --python, python)"


def test_a_transformers_the_running_interpreter_has_is_read_from_it():
    """A target that names the running interpreter's transformers without saying where it is."""
    version, _root = _installed("transformers")
    target = Target.of("1.12.0", transformers=version, transformers_source="installed")
    if version in TRAINING_ARGUMENTS:
        assert describe(target) == f"trl 1.12.0 (from --trl-version), transformers {version} (installed)"
    else:
        assert describe(target).endswith("(installed; not measured: TrainingArguments read from the installation "
                                          "in the interpreter running ppodoctor)")
