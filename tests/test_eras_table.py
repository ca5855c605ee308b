"""table.json against real TRL: the installed release (1.12.0) and the 0.12 interpreter.

The import claims are checked in test_eras_imports.py (real imports, and the wheels from PyPI).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import subprocess
from pathlib import Path

import pytest

from ppodoctor.trl_api import eras, table
from ppodoctor.trl_api.eras import Version

ROOT = Path(__file__).resolve().parent.parent


def installed_trl() -> Version:
    import importlib.metadata

    return Version.parse(importlib.metadata.version("trl"))


def test_table_matches_the_installed_trl_signature():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from trl.experimental.ppo import PPOConfig, PPOTrainer
    version = installed_trl()
    parameters = list(inspect.signature(PPOTrainer.__init__).parameters.values())[1:]
    assert table.trainer_parameters(version) == tuple(p.name for p in parameters)
    required = tuple(p.name for p in parameters if p.default is inspect.Parameter.empty)
    assert table.required_parameters(version) == required  # value_model required since 0.18
    assert eras.NEW_ORDER == table.trainer_parameters(version)
    fields = {f.name for f in dataclasses.fields(PPOConfig)}
    assert table.config_fields(version) <= fields
    for old, new in table.config_renames().items():
        assert old not in fields and new in fields, (old, new)


def test_training_arguments_overlap_is_real():
    import transformers

    fields = {f.name for f in dataclasses.fields(transformers.TrainingArguments)}
    assert set(table.load()["training_arguments_overlap"]) <= fields


def _trl012_python():
    for candidate in (os.environ.get("PPODOCTOR_TRL012_PYTHON"), ROOT / ".venv-trl012/bin/python",
                      "/tmp/venv012/bin/python"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def test_table_matches_trl_012_in_its_own_interpreter():
    python = _trl012_python()
    if python is None:
        pytest.skip("no trl 0.12 interpreter (PPODOCTOR_TRL012_PYTHON, .venv-trl012 or /tmp/venv012)")
    code = ("import inspect, json, dataclasses, warnings\nwarnings.simplefilter('ignore')\n"
            "import trl\nfrom trl import PPOTrainer, PPOConfig\n"
            "p = list(inspect.signature(PPOTrainer.__init__).parameters.values())[1:]\n"
            "print(json.dumps({'version': trl.__version__, 'params': [x.name for x in p],\n"
            "  'required': [x.name for x in p if x.default is inspect.Parameter.empty],\n"
            "  'fields': [f.name for f in dataclasses.fields(PPOConfig)]}))\n")
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    real = json.loads(done.stdout.strip().splitlines()[-1])
    version = Version.parse(real["version"])
    assert table.trainer_parameters(version) == tuple(real["params"])
    assert table.required_parameters(version) == tuple(real["required"])  # value_model=None default on 0.12
    assert eras.V012_ORDER == tuple(real["params"])
    assert table.config_fields(version) <= set(real["fields"])


def test_entries_cover_every_era_boundary():
    # A patch release reads like its measured sibling, a later one like the newest before it.
    assert table.facts(Version("0.12.0")) is table.facts(Version("0.12.2"))
    assert table.trainer_parameters(Version("0.20.0")) == table.trainer_parameters(Version("0.18.0"))
    assert not table.has_ppo(Version("1.13.0")) and not table.has_ppo(Version("2.0.0"))
    assert table.has_ppo(Version("1.12.0"))
    assert table.required_parameters(Version("0.17.0")).count("value_model") == 0
    assert "value_model" in table.required_parameters(Version("0.18.0"))
    assert table.deprecated_keywords(Version("0.13.0")) == {"config": "args", "tokenizer": "processing_class",
                                                            "policy": "model", "ref_policy": "ref_model"}
    assert table.deprecated_keywords(Version("0.15.2")) == {}
    assert eras.OLD_ORDER == table.trainer_parameters(Version("0.11.4"))[: len(eras.OLD_ORDER)]


def test_missing_value_model_messages_follow_the_era():
    assert "'modules'" in eras.missing_value_model_error(eras.era_of(Version("0.12.2")))
    assert "base_model_prefix" in eras.missing_value_model_error(eras.era_of(Version("0.17.0")))
    assert "TypeError" in eras.missing_value_model_error(eras.era_of(Version("0.18.0")))
    assert eras.missing_value_model_error(eras.era_of(Version("1.13.0"))) is None



def test_the_old_config_moves_cover_exactly_the_old_fields_the_new_config_rejects():
    """old_config_fields.json (which PPD205 and `explain` read) against table.json and TrainingArguments:
    every <= 0.11 PPOConfig field the newest PPO release's PPOConfig does not take, and no other."""
    from ppodoctor.trl_api.config_fields import accepted_config_fields
    from ppodoctor.trl_api.config_moves import old_field_names
    from ppodoctor.trl_api.eras import Version

    old = set()
    for version in table.known_versions():
        if version < Version("0.12.0"):
            old.update(table.facts(version)["config_fields"])
    accepted = accepted_config_fields(Version("1.12.0"), Version("5.25.0"))
    assert accepted
    assert set(old_field_names()) == old - accepted


def test_group_positions_are_those_every_release_shares():
    """The setup model binds RLOOTrainer/GRPOTrainer positional arguments by eras.GROUP_ORDER, whatever the
    target: it must be the longest prefix on which every release of the table (the wheels' signatures)
    agrees, and no shorter (trl 1.16's quantization_config stands where earlier releases had peft_config)."""
    signatures = [tuple(p["name"] for p in table.successor(trainer, version)["params"])
                  for version in table.successor_versions() for trainer in ("RLOOTrainer", "GRPOTrainer")
                  if table.successor(trainer, version) is not None]
    assert len(signatures) >= 20
    shared = 0
    while all(len(s) > shared and s[shared] == signatures[0][shared] for s in signatures):
        shared += 1
    assert eras.GROUP_ORDER == signatures[0][:shared]
